"""The control center's photometry chain: calibration per site, drift, light-curve alerts.

Frames are synthetic ``FramePhotometryMeasured`` events (stars with known catalogue
magnitudes and colours, a site zero point that may drift, clouds, noise) recorded
in a real event log and fed to the reactor the way a night feeds it.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog, stream_id
from control_center.events.night import NightEnded
from control_center.events.photometry import (
    CalibrationDriftDetected,
    FramePhotometryMeasured,
    LightCurveAlert,
    SiteCalibrationFitted,
)
from control_center.photometry.calibrate import (
    calibrate_target,
    fit_linear,
    matches_table,
)
from control_center.photometry.reactor import PhotometryReactor, record_reactions
from control_center.projections.lightcurves import FrameRecord, LightCurves

START = datetime(2026, 3, 21, 21, 0, tzinfo=UTC)
MJD0 = 61120.875
NIGHT = uuid.UUID(int=7)


def star_frame(rng, *, zp: float, colour_term: float = 0.05, extinction: float = 0.1,
               airmass: float = 1.2, n: int = 60, noise: float = 0.01,
               target_mag: float | None = 15.0, target_err: float = 0.01,
               cloud: float = 0.0) -> dict:
    """A frame's photometry dict: instrumental = catalogue - zp - ct (c - 0.65) + k X + cloud."""
    cat = rng.uniform(12.0, 16.0, n)
    colour = rng.uniform(0.2, 1.4, n)
    x, y = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    inst = cat - zp - colour_term * (colour - 0.65) + extinction * airmass + cloud
    inst = inst + rng.normal(0.0, noise, n)
    target = {"status": "not-detected", "ra": 150.0, "dec": 2.0, "x": 0.0, "y": 0.0,
              "colour": 0.65, "instrumental_mag": None, "instrumental_err": None,
              "limit_mag": 17.0 - zp + extinction * airmass + cloud}
    if target_mag is not None:
        target.update(status="ok", instrumental_mag=float(
            target_mag - zp + extinction * airmass + cloud + rng.normal(0.0, target_err)),
            instrumental_err=target_err)
    return {"status": "ok", "target": target, "n_matched": n,
            "stars": {"x": x.tolist(), "y": y.tolist(), "instrumental_mag": inst.tolist(),
                      "instrumental_err": [noise] * n, "catalogue_mag": cat.tolist(),
                      "catalogue_colour": colour.tolist(), "flag": [0] * n}}


@pytest.fixture
def log(tmp_path: Path):
    with EventLog.open(tmp_path / "phot.db", clock=SimulatedClock(START)) as opened:
        yield opened


class Night:
    """Records frames in the log and runs the reactor on them, as a night does."""

    def __init__(self, log) -> None:
        self.log, self.reactor, self.recorded, self.n = log, PhotometryReactor(), [], 0
        self.night = NIGHT

    def frame(self, site: str, target: str, minutes: float, phot: dict, airmass: float = 1.2,
              band: str = "r", telescope: str | None = None) -> None:
        self.n += 1
        when = START + timedelta(minutes=minutes)
        fields = {"observation_id": f"obs-{self.n}", "request_id": f"req-{target}",
                  "target": target, "site": site, "telescope": telescope or f"{site}-1m",
                  "filter": band,
                  "time_mjd": MJD0 + minutes / 1440.0, "airmass": airmass, "exptime": 60.0,
                  "fwhm_arcsec": 1.0, "status": phot["status"], "measurement": phot["target"],
                  "stars": phot["stars"], "n_matched": phot["n_matched"], "reasons": [],
                  "source": "frame"}
        with self.log.batch(actor=f"site:{site}", sim_time=when,
                            correlation_id=self.night) as b:
            event = b.add(FramePhotometryMeasured, stream=stream_id("observation", f"o{self.n}"),
                          **fields)
        self.recorded += record_reactions(self.log, self.reactor, [event], sim_time=when,
                                          correlation_id=self.night)

    def end(self) -> None:
        when = START + timedelta(hours=12)
        with self.log.batch(actor="control-center", sim_time=when,
                            correlation_id=self.night) as b:
            event = b.add(NightEnded, stream=self.night, reason="test")
        self.recorded += record_reactions(self.log, self.reactor, [event], sim_time=when,
                                          correlation_id=self.night)

    def of(self, cls) -> list:
        return [e for e in self.recorded if isinstance(e, cls)]

    def curves(self) -> LightCurves:
        curves = LightCurves()
        for r in self.log.read():
            curves.apply(r)
        return curves


def test_linear_fit_recovers_zero_point_colour_term_and_drift():
    rng = np.random.default_rng(1)
    frames = []
    for k in range(8):
        airmass = 1.0 + 0.15 * k
        phot = star_frame(rng, zp=23.0 - 0.04 * k / 7, airmass=airmass, noise=0.005)
        frames.append(FrameRecord("o", "r", "T", "s", "t", "r", "n", MJD0 + k * 0.03, airmass,
                                  60.0, 1.0, "ok", phot["target"], phot["stars"]))
    cal = fit_linear(matches_table(frames), site="s", band="r")
    assert cal.converged
    assert cal.colour_term == pytest.approx(0.05, abs=0.005)
    assert cal.extinction == pytest.approx(0.10, abs=0.02)
    # the zero point fell by 0.04 mag over 0.21 d
    assert cal.drift_per_day * 0.21 == pytest.approx(-0.04, abs=0.01)
    mag, err = cal.apply([-8.0], [0.01], [0.65], [1.0], [0.0], [0.0], [MJD0])
    assert mag[0] == pytest.approx(-8.0 + 23.0 - 0.1, abs=0.02)
    assert err[0] > 0.01


def test_too_few_stars_is_not_converged_and_frames_stay_uncalibrated():
    rng = np.random.default_rng(2)
    phot = star_frame(rng, zp=23.0, n=5)
    record = FrameRecord("o", "r", "T", "s", "t", "r", "n", MJD0, 1.2, 60.0, 1.0, "ok",
                         phot["target"], phot["stars"])
    cal = fit_linear(matches_table([record]), site="s", band="r")
    assert not cal.converged and "only 5 usable stars" in cal.reason
    point = calibrate_target(cal, record)
    assert point.mag is None and point.flag.startswith("calibration not converged")


def test_calibrated_target_magnitudes_are_right_across_sites_with_honest_errors(log):
    rng = np.random.default_rng(3)
    night = Night(log)
    for k in range(12):
        for j, (site, zp) in enumerate((("north", 23.0), ("south", 22.4))):
            cloud = 0.3 if (k == 5 and site == "south") else 0.0   # a cloud: frame offset
            night.frame(site, "VAR-1", 20 * k + j, star_frame(rng, zp=zp, cloud=cloud,
                                                              target_mag=15.0))
    night.end()
    fits = night.of(SiteCalibrationFitted)
    assert {e.site for e in fits} == {"north", "south"} and all(e.converged for e in fits)
    points = night.curves().points("VAR-1")
    assert len(points) == 24 and all(p.mag is not None for p in points)
    mags = np.array([p.mag for p in points])
    errs = np.array([p.err for p in points])
    assert abs(np.mean(mags) - 15.0) < 0.01                   # no offset after calibration
    by_site = {s: np.mean([p.mag for p in points if p.site == s]) for s in ("north", "south")}
    assert abs(by_site["north"] - by_site["south"]) < 0.01    # cross-site offset
    pulls = (mags - 15.0) / errs
    assert 0.6 < np.std(pulls) < 1.5                          # honest uncertainties
    assert not night.of(LightCurveAlert)                      # a constant star


def test_fused_light_curve_beats_single_sites(log):
    rng = np.random.default_rng(4)
    night = Night(log)
    sites = ("a", "b", "c")
    for k in range(16):
        for j, site in enumerate(sites):
            night.frame(site, "STAR", 40 * k + j, star_frame(rng, zp=23.0, target_err=0.02,
                                                             noise=0.005, n=80))
    night.end()
    curves = night.curves()
    single = [np.std([p.mag for p in curves.points("STAR") if p.site == s]) for s in sites]
    fused = curves.fused("STAR")
    assert len(fused) == 16 and all(f.n == 3 and f.sites == sites for f in fused)
    fused_rms = math.sqrt(np.mean([(f.mag - 15.0) ** 2 for f in fused]))
    assert fused_rms <= min(single) / math.sqrt(3) * 1.35
    learned = curves.fused("STAR", method="learned")
    assert len(learned) == 16 and all(np.isfinite(f.mag) for f in learned)


def test_drift_within_the_night_is_detected_and_recorded(log):
    rng = np.random.default_rng(5)
    night = Night(log)
    for k in range(12):                   # 0.08 mag over 5.5 h at one site, none at the other
        night.frame("drifty", "T1", 30 * k, star_frame(rng, zp=23.0 - 0.08 * k / 11))
        night.frame("steady", "T1", 30 * k + 1, star_frame(rng, zp=23.0))
    drifts = night.of(CalibrationDriftDetected)
    assert [d.site for d in drifts] == ["drifty"]
    assert drifts[0].kind == "within-night" and drifts[0].drift_mag < -0.04
    assert drifts[0].telescope == "drifty-1m" and drifts[0].significance >= 5


def test_variable_and_new_source_raise_alerts_constant_does_not(log):
    rng = np.random.default_rng(6)
    night = Night(log)
    for k in range(12):
        t = 25 * k
        night.frame("a", "VAR", t, star_frame(rng, zp=23.0, target_mag=15.0 + 0.3 * math.sin(k)))
        night.frame("a", "NEW", t + 1, star_frame(rng, zp=23.0,
                                                  target_mag=None if k < 6 else 15.5))
        night.frame("a", "CONST", t + 2, star_frame(rng, zp=23.0, target_mag=15.2))
    alerts = {(e.target, e.kind) for e in night.of(LightCurveAlert)}
    assert ("VAR", "variability") in alerts
    assert ("NEW", "new-transient") in alerts
    assert not any(t == "CONST" for t, _ in alerts)
    new = next(e for e in night.of(LightCurveAlert) if e.target == "NEW")
    assert new.ra_deg == 150.0 and "earlier frames saw nothing" in new.reason


def test_bad_frames_are_flagged_with_their_reason_never_used(log):
    rng = np.random.default_rng(7)
    night = Night(log)
    for k in range(4):
        night.frame("a", "T", 10 * k, star_frame(rng, zp=23.0))
    nowcs = {"status": "no-wcs", "target": {}, "stars": {}, "n_matched": 0}
    night.frame("a", "T", 50, nowcs)
    outside = star_frame(rng, zp=23.0)
    outside["target"] = {"status": "outside-frame", "ra": 10.0, "dec": 2.0}
    night.frame("a", "T", 60, outside)
    flags = [p.flag for p in night.curves().points("T")]
    assert flags.count("ok") == 4
    assert "frame: no-wcs" in flags and "target: outside-frame" in flags
    assert len(night.curves().fused("T")) >= 1


def test_each_telescope_of_a_site_has_its_own_calibration(log):
    rng = np.random.default_rng(8)
    night = Night(log)
    for k in range(8):     # a 1 m and a 0.4 m telescope: zero points 2 mag apart
        night.frame("site", "T", 20 * k, star_frame(rng, zp=23.0), telescope="big")
        night.frame("site", "T", 20 * k + 1, star_frame(rng, zp=21.0), telescope="small")
    night.end()
    fits = night.of(SiteCalibrationFitted)
    assert {e.telescope for e in fits} == {"big", "small"} and all(e.converged for e in fits)
    mags = [p.mag for p in night.curves().points("T")]
    assert len(mags) == 16 and max(abs(m - 15.0) for m in mags) < 0.05


def test_a_zero_point_jump_between_nights_is_a_drift(log):
    rng = np.random.default_rng(9)
    night = Night(log)
    for k in range(6):
        night.frame("a", "T", 20 * k, star_frame(rng, zp=23.0))
    night.end()
    night.night = uuid.UUID(int=8)          # the next night: 0.1 mag less sensitive
    for k in range(6):
        night.frame("a", "T", 1440 + 20 * k, star_frame(rng, zp=22.9))
    drifts = [d for d in night.of(CalibrationDriftDetected) if d.kind == "between-nights"]
    assert len(drifts) == 1 and drifts[0].drift_mag == pytest.approx(-0.1, abs=0.02)
