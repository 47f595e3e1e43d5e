"""Evaluate the photometry chain against the simulator's truth.

Renders frames of several sites (``simulator.frames.render_frame``: each site's
zero-point drift, dust, colour tint, flat field and noise) with a target of
known magnitude injected at the pointing, runs the node's photometry
(:func:`site_node.edge.photometry.measure_photometry`), records the events in a
real event log and runs the control center's chain on them
(:class:`~control_center.photometry.reactor.PhotometryReactor`: calibration per
site, band and night, drift, light-curve alerts), then compares with the truth:

- white noise: a constant target seen by every site at every epoch: each site's
  RMS about the truth, the fused RMS (GLS and learned) against the goal
  ``best single-site RMS / sqrt(n_sites) x 1.1``, and the pulls'
  standard deviation (1 when the uncertainties are honest);
- cross-site offsets: each site's mean calibrated magnitude minus the truth over
  every constant target, and the largest difference between two sites (goal
  <= 5 mmag);
- transients: fields where a source appears mid-night (completeness of
  ``new-transient`` alerts), fields with a variable (completeness of
  ``variability`` alerts) and constant fields (false alarms).

Run: ``python -m control_center.photometry.evaluate [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Scenario", "evaluate", "main"]

START = datetime(2026, 3, 21, 21, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    """What to simulate (the defaults are the benchmark; :meth:`quick` is toy-size)."""

    sites: tuple[str, ...] = ("cerro-pachon", "la-palma", "hanle")
    band: str = "r"
    epochs: int = 16
    cadence_min: float = 40.0
    exposure_s: float = 60.0
    shape: tuple[int, int] = (1024, 1024)
    white_mag: float = 16.0
    n_appear: int = 2
    n_variable: int = 2
    n_constant: int = 3
    appear_epoch: int = 8
    appear_mag: float = 16.5
    variable_mag: float = 16.5
    variable_amplitude: float = 0.25
    variable_period_days: float = 0.15
    seed: int = 0

    @classmethod
    def quick(cls) -> Scenario:
        return cls(sites=("cerro-pachon", "la-palma"), epochs=4, n_appear=1, n_variable=0,
                   n_constant=1, appear_epoch=2, shape=(512, 512))


@dataclass
class _Field:
    name: str
    ra: float
    dec: float
    kind: str   # white, appear, variable, constant

    def mag(self, s: Scenario, epoch: int, t_days: float) -> float | None:
        if self.kind == "white":
            return s.white_mag
        if self.kind == "constant":
            return s.variable_mag
        if self.kind == "appear":
            return s.appear_mag if epoch >= s.appear_epoch else None
        return s.variable_mag + s.variable_amplitude * math.sin(
            2.0 * math.pi * t_days / s.variable_period_days)


@dataclass
class _Truth:
    target: str
    site: str
    time_mjd: float
    mag: float | None


@dataclass
class Result:
    """Measured figures (see :func:`evaluate`)."""

    figures: dict[str, Any] = field(default_factory=dict)


def _fields(s: Scenario) -> list[_Field]:
    rng = np.random.default_rng(s.seed)
    out = [_Field("WHITE-1", 150.10, 2.20, "white")]
    kinds = ["appear"] * s.n_appear + ["variable"] * s.n_variable + ["constant"] * s.n_constant
    for k, kind in enumerate(kinds):
        out.append(_Field(f"{kind.upper()}-{k + 1}", float(150.1 + rng.uniform(-8, 8)),
                          float(2.2 + rng.uniform(-8, 8)), kind))
    return out


def _render(site: Any, scope: Any, f: _Field, s: Scenario, epoch: int, when: datetime,
            seed: int) -> tuple[Any, float | None]:
    from control_center.plugin_api.types import Conditions
    from simulator.frames import Transient, render_frame

    rng = np.random.default_rng(seed)
    sky = Conditions(cloud_cover=float(rng.uniform(0.0, 0.1)), humidity=0.3, wind_m_s=5.0,
                     seeing_arcsec=float(rng.uniform(0.8, 1.4)), sky_v_mag_arcsec2=21.6,
                     open=True)
    t_days = (when - START).total_seconds() / 86400.0
    mag = f.mag(s, epoch, t_days)
    transients = [Transient(f.ra, f.dec, mag)] if mag is not None else []
    hdul = render_frame(site, scope, ra_deg=f.ra, dec_deg=f.dec, filter=s.band,
                        exposure_s=s.exposure_s, start=when, conditions=sky,
                        altitude_deg=float(rng.uniform(40.0, 80.0)), sky_mag_arcsec2=20.8,
                        seed=seed, shape=s.shape, transients=transients,
                        hours_since_dusk=1.0 + (when - START).total_seconds() / 3600.0,
                        hours_since_dew_onset=0.0, object_name=f.name)
    return hdul, mag


def _measure(hdul: Any) -> tuple[dict, float | None]:
    from site_node.edge.frame import load_frame
    from site_node.edge.photometry import measure_photometry
    from site_node.edge.quality import measure_quality
    from site_node.edge.sources import extract_sources

    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    return measure_photometry(frame, ext, fwhm_px=quality.fwhm_px).to_dict(), \
        quality.fwhm_arcsec


def evaluate(s: Scenario, db: Path, *, progress: bool = False) -> dict[str, Any]:
    """Run the scenario into the log at ``db`` and return the figures."""
    from control_center.eventlog import EventLog
    from control_center.eventlog.envelope import stream_id
    from control_center.events.night import NightEnded
    from control_center.events.photometry import (
        CalibrationDriftDetected,
        FramePhotometryMeasured,
        LightCurveAlert,
    )
    from control_center.network import load_network
    from control_center.photometry.ingest import photometry_fields
    from control_center.photometry.reactor import PhotometryReactor, record_reactions
    from control_center.projections.lightcurves import LightCurves

    network = load_network()
    scopes = {}
    for name in s.sites:
        site = network.site(name)
        scopes[name] = (site, next(t for t in site.telescopes if s.band in t.filters))
    fields = _fields(s)
    night = uuid.uuid5(uuid.NAMESPACE_URL, f"openastro-eval:{s.seed}")
    reactor = PhotometryReactor()
    truths: dict[str, _Truth] = {}
    recorded: list[Any] = []
    t0 = time.perf_counter()
    n_frames = 0
    with EventLog.open(db, durable=False) as log:
        for epoch in range(s.epochs):
            for k, name in enumerate(s.sites):
                site, scope = scopes[name]
                when = START + timedelta(minutes=epoch * s.cadence_min + 2.0 * k)
                for j, f in enumerate(fields):
                    seed = s.seed * 1_000_003 + epoch * 10_007 + k * 101 + j
                    hdul, mag = _render(site, scope, f, s, epoch,
                                        when + timedelta(seconds=90 * j), seed)
                    phot, fwhm = _measure(hdul)
                    oid = f"{name}-{f.name}-{epoch}"
                    fields_ = photometry_fields(
                        phot, observation_id=oid, request_id=f"eval:{f.name}", target=f.name,
                        site=name, telescope=scope.name, filter=s.band, fwhm_arcsec=fwhm,
                        source="frame")
                    truths[oid] = _Truth(f.name, name, fields_["time_mjd"], mag)
                    with log.batch(actor=f"site:{name}", sim_time=when,
                                   correlation_id=night) as batch:
                        event = batch.add(FramePhotometryMeasured,
                                          stream=stream_id("observation", oid), **fields_)
                    recorded += record_reactions(log, reactor, [event], sim_time=when,
                                                 correlation_id=night)
                    n_frames += 1
            if progress:
                print(f"epoch {epoch + 1}/{s.epochs}: {n_frames} frames, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        end = START + timedelta(hours=12)
        with log.batch(actor="control-center", sim_time=end, correlation_id=night) as batch:
            ended = batch.add(NightEnded, stream=night, reason="evaluation")
        recorded += record_reactions(log, reactor, [ended], sim_time=end, correlation_id=night)
        curves = LightCurves()
        for r in log.read():
            curves.apply(r)
    figures: dict[str, Any] = {"frames": n_frames, "sites": list(s.sites),
                               "seconds": round(time.perf_counter() - t0, 1)}
    figures.update(_white(curves, truths, s))
    figures.update(_offsets(curves, truths, fields))
    alerts = [e for e in recorded if isinstance(e, LightCurveAlert)]
    figures.update(_transients(alerts, fields))
    drifts = [e for e in recorded if isinstance(e, CalibrationDriftDetected)]
    figures["drift_events"] = [
        {"site": d.site, "kind": d.kind, "drift_mag": d.drift_mag,
         "significance": d.significance} for d in drifts]
    figures["calibrations"] = {
        f"{camera}/{band}": {"converged": c.get("converged"), "n_stars": c.get("n_stars"),
                           "residual_rms_mmag": _mmag(c.get("residual_rms")),
                           "colour_term": c.get("colour_term"),
                           "extinction": c.get("extinction"),
                           "drift_per_day": c.get("drift_per_day")}
        for (camera, band, _), c in curves.calibrations.items()}
    return figures


def _mmag(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else round(
        1000.0 * float(value), 2)


def _white(curves: Any, truths: dict[str, _Truth], s: Scenario) -> dict[str, Any]:
    points = [p for p in curves.points("WHITE-1") if p.mag is not None]
    per_site: dict[str, dict[str, float]] = {}
    for name in s.sites:
        mine = [p for p in points if p.site == name]
        if not mine:
            continue
        r = np.array([p.mag - truths[p.observation_id].mag for p in mine])
        e = np.array([p.err for p in mine])
        per_site[name] = {"n": len(mine), "rms_mmag": _mmag(np.sqrt(np.mean(r**2))),
                          "scatter_mmag": _mmag(np.std(r)),
                          "mean_offset_mmag": _mmag(np.mean(r)),
                          "median_err_mmag": _mmag(np.median(e)),
                          "pull_std": round(float(np.std(r / e)), 3)}
    out: dict[str, Any] = {"white_single_site": per_site}
    if not per_site:
        return out
    best = min(v["rms_mmag"] for v in per_site.values())
    goal = best / math.sqrt(len(per_site)) * 1.1
    out["white_goal_mmag"] = round(goal, 2)
    scatter_goal = min(v["scatter_mmag"] for v in per_site.values()) / math.sqrt(
        len(per_site)) * 1.1
    out["white_goal_scatter_mmag"] = round(scatter_goal, 2)
    out["white_ideal_gls_mmag"] = round(1.0 / math.sqrt(sum(
        1.0 / v["scatter_mmag"] ** 2 for v in per_site.values())), 2)
    for method in ("gls", "learned"):
        fused = curves.fused("WHITE-1", method=method)
        full = [f for f in fused if f.n == len(per_site)]
        r = np.array([f.mag - s.white_mag for f in full])
        e = np.array([f.err for f in full])
        if r.size:
            out[f"white_fused_{method}"] = {
                "n": int(r.size), "rms_mmag": _mmag(np.sqrt(np.mean(r**2))),
                "scatter_mmag": _mmag(np.std(r)), "pull_std": round(float(np.std(r / e)), 3),
                "meets_goal": bool(_mmag(np.sqrt(np.mean(r**2))) <= goal),
                "meets_scatter_goal": bool(_mmag(np.std(r)) <= scatter_goal)}
    return out


def _offsets(curves: Any, truths: dict[str, _Truth], fields: list[_Field]) -> dict[str, Any]:
    constant = [f.name for f in fields if f.kind in ("white", "constant")]
    by_site: dict[str, list[float]] = {}
    for name in constant:
        for p in curves.points(name):
            if p.mag is not None:
                by_site.setdefault(p.site, []).append(p.mag - truths[p.observation_id].mag)
    means = {k: float(np.mean(v)) for k, v in by_site.items()}
    errs = {k: float(np.std(v) / math.sqrt(len(v))) for k, v in by_site.items()}
    pairs = {}
    names = sorted(means)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pairs[f"{a} - {b}"] = {"offset_mmag": _mmag(means[a] - means[b]),
                                   "sigma_mmag": _mmag(math.hypot(errs[a], errs[b]))}
    worst = max((abs(v["offset_mmag"]) for v in pairs.values()), default=None)
    return {"site_offsets_vs_truth_mmag": {k: _mmag(v) for k, v in means.items()},
            "cross_site_offsets": pairs, "max_cross_site_offset_mmag": worst,
            "offset_goal_met": worst is not None and worst <= 5.0}


def _transients(alerts: list[Any], fields: list[_Field]) -> dict[str, Any]:
    kinds = {f.name: f.kind for f in fields}
    alerted: dict[str, set[str]] = {}
    for a in alerts:
        alerted.setdefault(a.target, set()).add(a.kind)

    def rate(kind: str, alert: str) -> dict[str, Any]:
        names = [n for n, k in kinds.items() if k == kind]
        hit = [n for n in names if alert in alerted.get(n, set())]
        return {"found": len(hit), "of": len(names)}

    false = [n for n, k in kinds.items() if k in ("constant", "white") and alerted.get(n)]
    return {"new_transients": rate("appear", "new-transient"),
            "variables": rate("variable", "variability"),
            "false_alarms": {"fields": len(false),
                             "of": sum(k in ("constant", "white") for k in kinds.values()),
                             "alerts": sum(len(alerted.get(n, ())) for n in false)},
            "alerts": [{"target": a.target, "kind": a.kind, "significance": a.significance,
                        "reason": a.reason} for a in alerts]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m control_center.photometry.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="toy-size scenario (seconds)")
    parser.add_argument("--epochs", type=int, help="epochs of the night")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--db", help="keep the log here (default: a temporary file)")
    args = parser.parse_args(argv)
    s = Scenario.quick() if args.quick else Scenario()
    from dataclasses import replace

    s = replace(s, seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "eval.db"
        figures = evaluate(s, db, progress=not args.json)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(_table(figures))
    return 0


def _table(f: dict[str, Any]) -> str:
    lines = [f"{f['frames']} frames from {', '.join(f['sites'])} in {f['seconds']} s", "",
             "white-noise target (RMS about the truth, mmag):"]
    for site, v in f.get("white_single_site", {}).items():
        lines.append(f"  {site:<16} rms {v['rms_mmag']:7.2f}  offset {v['mean_offset_mmag']:+7.2f}"
                     f"  median err {v['median_err_mmag']:6.2f}  pull std {v['pull_std']:.2f}")
    for method in ("gls", "learned"):
        v = f.get(f"white_fused_{method}")
        if v:
            lines.append(f"  fused ({method:<7})  rms {v['rms_mmag']:7.2f}  pull std "
                         f"{v['pull_std']:.2f}  goal <= {f['white_goal_mmag']:.2f}: "
                         f"{'met' if v['meets_goal'] else 'NOT met'}; scatter "
                         f"{v['scatter_mmag']:.2f}, goal <= {f['white_goal_scatter_mmag']:.2f}: "
                         f"{'met' if v['meets_scatter_goal'] else 'NOT met'}")
    if "white_ideal_gls_mmag" in f:
        lines.append(f"  ideal GLS of the single-site scatters: {f['white_ideal_gls_mmag']:.2f}")
    lines += ["", "cross-site offsets after calibration (mmag):"]
    for pair, v in f.get("cross_site_offsets", {}).items():
        lines.append(f"  {pair:<32} {v['offset_mmag']:+7.2f} +- {v['sigma_mmag']:.2f}")
    lines.append(f"  largest {f.get('max_cross_site_offset_mmag')} (goal <= 5: "
                 f"{'met' if f.get('offset_goal_met') else 'NOT met'})")
    nt, var, fa = f["new_transients"], f["variables"], f["false_alarms"]
    lines += ["", (f"new transients found {nt['found']}/{nt['of']}, variables found "
              f"{var['found']}/{var['of']}, false alarms {fa['fields']}/{fa['of']} constant "
              f"fields ({fa['alerts']} alerts)"),
              f"drift events: {len(f['drift_events'])}"]
    for d in f["drift_events"]:
        lines.append(f"  {d['site']} {d['kind']} {d['drift_mag']:+.3f} mag "
                     f"({d['significance']:.1f} sigma)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
