"""The console's light-curve fold: bounded, cheap per event, copied for the replay, and
fused like ``openastro lightcurve``."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from test_photometry_chain import START, Night, star_frame

from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog
from control_center.events.photometry import CalibrationDriftDetected
from control_center.ui.model import lightcurves_fold
from control_center.ui.model.lightcurves_fold import target_curve
from control_center.ui.model.state import ConsoleState


def opened(path):
    return EventLog.open(path, clock=SimulatedClock(START))


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> tuple[list, Night]:
    """Two sites measure T1 (varying) and T2, 8 rounds; one frame without WCS."""
    rng = np.random.default_rng(21)
    log = opened(tmp_path_factory.mktemp("ui-lc") / "night.db")
    night = Night(log)
    for k in range(8):
        for j, site in enumerate(("north", "south")):
            night.frame(site, "T1", 40 * k + j, star_frame(
                rng, zp=23.0 - 0.4 * j, target_mag=15.0 + 0.2 * math.sin(k)))
            night.frame(site, "T2", 40 * k + j + 2, star_frame(rng, zp=23.0 - 0.4 * j,
                                                               target_mag=14.0))
    night.frame("north", "T1", 400, {"status": "no-wcs", "target": {}, "stars": {},
                                     "n_matched": 0})
    night.end()
    yield list(log.read()), night
    log.close()


def folded(records: list) -> ConsoleState:
    state = ConsoleState()
    state.fold(records)
    return state


def test_rows_count_frames_calibrated_points_sites_and_the_last_magnitude(records) -> None:
    recs, _ = records
    section = folded(recs).snapshot().lightcurves
    rows = {r.target: r for r in section.rows}
    assert set(rows) == {"T1", "T2"}
    t1 = rows["T1"]
    assert (t1.frames, t1.calibrated, t1.sites, t1.bands) == (17, 16, ("north", "south"), ("r",))
    truth = 15.0 + 0.2 * math.sin(7)
    assert t1.last_band == "r" and abs(t1.last_mag - truth) < 0.05 and 0 < t1.last_err < 0.05


def test_the_curve_is_the_one_openastro_lightcurve_prints(records) -> None:
    recs, night = records
    curve = target_curve(folded(recs).snapshot().lightcurves, "T1")
    expected = night.curves().fused("T1")
    assert [(f.time_mjd, f.band, f.mag, f.err, f.sites) for f in curve.fused] == \
        [(f.time_mjd, f.band, f.mag, f.err, f.sites) for f in expected]
    assert curve.summary.flagged == (("frame: no-wcs", 1),)
    assert (curve.summary.frames, curve.summary.calibrated) == (17, 16)
    band, n, _, rms = curve.summary.scatter[0]
    assert (band, n) == ("r", 8) and 0.05 < rms < 0.3      # the 0.2 mag sine, not noise
    assert "flagged: 1 frame: no-wcs" in curve.summary.text()


def test_memory_is_bounded_by_the_caps(records, monkeypatch) -> None:
    recs, _ = records
    monkeypatch.setattr(lightcurves_fold, "MAX_FRAMES_PER_TARGET", 5)
    section = folded(recs).snapshot().lightcurves
    assert [(r.target, r.frames) for r in section.rows] == [("T1", 5), ("T2", 5)]
    assert section.frames["T1"][-1].status == "no-wcs"      # the newest are kept
    assert section.dropped_frames == (17 - 5) + (16 - 5)
    monkeypatch.setattr(lightcurves_fold, "MAX_TARGETS", 1)  # T1 and T2 take turns
    section = folded(recs).snapshot().lightcurves
    assert [(r.target, r.frames) for r in section.rows] == [("T1", 1)]
    assert section.dropped_frames == 33 - 1
    monkeypatch.setattr(lightcurves_fold, "MAX_TARGETS", 100)
    monkeypatch.setattr(lightcurves_fold, "MAX_FRAMES_PER_TARGET", 300)
    monkeypatch.setattr(lightcurves_fold, "MAX_FRAMES", 12)   # all targets together
    section = folded(recs).snapshot().lightcurves
    assert sum(r.frames for r in section.rows) <= 12 and len(section.rows) == 2
    assert section.dropped_frames == 33 - sum(r.frames for r in section.rows)


def test_frames_are_kept_compactly(records) -> None:
    recs, _ = records
    frame = folded(recs).snapshot().lightcurves.frames["T1"][0]
    assert frame.stars["catalogue_mag"].dtype == np.float32
    assert set(frame.stars) == {"x", "y", "instrumental_mag", "instrumental_err",
                                "catalogue_mag", "catalogue_colour", "flag"}


def test_folding_calibrates_nothing_and_a_snapshot_only_what_changed(records, monkeypatch
                                                                     ) -> None:
    recs, _ = records
    from control_center.photometry import calibrate

    calls = []
    real = calibrate.calibrate_target
    monkeypatch.setattr(calibrate, "calibrate_target",
                        lambda *a, **k: calls.append(a[1].target) or real(*a, **k))
    t1_frames = [r for r in recs if getattr(r.event, "target", "") == "T1"][-3:]
    state = ConsoleState()
    state.fold([r for r in recs if r not in t1_frames])
    assert calls == []                                     # the fold path stays cheap
    state.snapshot()
    assert sorted(calls) == ["T1", "T2"]                   # one last magnitude per target
    calls.clear()
    state.snapshot()
    assert calls == []                                     # nothing changed: cached
    state.fold(t1_frames)
    state.snapshot()
    assert calls == ["T1"]                                 # only the target that changed


def test_the_replays_copies_share_frames_and_restore_the_state(records) -> None:
    recs, _ = records
    state = ConsoleState()
    state.fold(recs[:20])
    before = state.snapshot().lightcurves
    saved = copy.deepcopy(state)                          # what the replay caches
    assert saved.lightcurves._targets["T1"].frames[0] is state.lightcurves._targets[
        "T1"].frames[0]
    state.fold(recs[20:])
    assert saved.snapshot().lightcurves.rows == before.rows
    assert state.snapshot().lightcurves.rows != before.rows


def test_drift_and_light_curve_alerts_become_alert_rows(tmp_path) -> None:
    rng = np.random.default_rng(5)
    log = opened(tmp_path / "drift.db")
    night = Night(log)
    for k in range(12):                   # 0.08 mag over 5.5 h at one site, none at the other
        night.frame("drifty", "T1", 30 * k, star_frame(rng, zp=23.0 - 0.08 * k / 11,
                                                       target_mag=15.0 + 0.3 * math.sin(k)))
        night.frame("steady", "T1", 30 * k + 1, star_frame(rng, zp=23.0,
                                                           target_mag=15.0 + 0.3 * math.sin(k)))
    drift = night.of(CalibrationDriftDetected)[0]
    state = folded(list(log.read()))
    alerts = {a.key: a for a in state.snapshot().alerts}
    row = alerts[f"drift:drifty/drifty-1m:r:{drift.night}:within-night"]
    assert (row.status, row.kind, row.site, row.telescope) == ("drift", "drift", "drifty",
                                                               "drifty-1m")
    assert drift.reason in row.note and f"{drift.drift_mag:+.3f} mag" in row.note
    assert not row.is_anomaly
    variable = alerts["lightcurve:T1:r:variability"]
    assert variable.status == "light-curve" and variable.kind == "variable"
    assert "drifty+steady" in variable.note
    section = state.snapshot().lightcurves
    assert "within-night drift" in section.drifts["drifty"]
    assert section.rows[0].alerts >= 1 and "variability" in section.alerts["T1"][-1]
    log.close()
