"""``openastro lightcurve TARGET``: a target's light curve fused across sites, from the log.

Folds the log's photometry events (:class:`~control_center.projections.lightcurves.
LightCurves`) and prints the fused light curve as an ECSV table: ``time_mjd``,
``filter``, ``mag``, ``mag_err``, ``n`` (measurements fused), ``sites``
(contributing, ``+``-separated), ``chi2``. ``--out FILE.ecsv`` writes it (with
the per-frame points, flagged ones included, as a second table
``FILE-points.ecsv``); ``--plot`` draws it in the terminal (plotext).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from control_center.eventlog import DEFAULT_DB

__all__ = ["add_lightcurve_parser", "fused_table", "points_table", "run_lightcurve"]


def add_lightcurve_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``lightcurve`` to the ``openastro`` sub-commands."""
    p = commands.add_parser(
        "lightcurve", help="a target's light curve, calibrated per site and fused across sites",
        description="Print a target's light curve from the log: each site's frames calibrated "
                    "with the site's calibration of the night, fused across sites per time bin "
                    "(inverse-variance GLS, or the learned fusion), as an ECSV table.")
    p.add_argument("target", help="target name (as in the programme, e.g. VAR-0012)")
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log: SQLite file or SQLAlchemy URL (default {DEFAULT_DB})")
    p.add_argument("--out", metavar="FILE.ecsv", help="write the table there (and the "
                   "per-frame points to FILE-points.ecsv)")
    p.add_argument("--plot", action="store_true", help="draw the light curve in the terminal")
    p.add_argument("--method", choices=("gls", "learned"), default="gls",
                   help="fusion across sites (default gls: inverse-variance)")
    p.add_argument("--filter", metavar="BAND", help="only this band")
    p.add_argument("--bin-minutes", type=float, default=30.0, metavar="MIN",
                   help="measurements within this span are fused into one point (default 30)")
    p.add_argument("--points", action="store_true",
                   help="print the per-frame calibrated points instead (flagged ones too)")
    p.set_defaults(func=run_lightcurve)


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return 2


def fused_table(fused: list[Any]) -> Any:
    """The fused points as an astropy Table (ECSV-ready, units and description)."""
    import astropy.units as u
    from astropy.table import Table

    t = Table()
    t["time_mjd"] = [f.time_mjd for f in fused] * u.day
    t["filter"] = [f.band for f in fused]
    t["mag"] = [f.mag for f in fused] * u.mag
    t["mag_err"] = [f.err for f in fused] * u.mag
    t["n"] = [f.n for f in fused]
    t["sites"] = ["+".join(f.sites) for f in fused]
    t["chi2"] = [f.chi2 for f in fused]
    t["time_mjd"].info.format = ".6f"
    t["mag"].info.format = ".4f"
    t["mag_err"].info.format = ".4f"
    return t


def points_table(points: list[Any]) -> Any:
    """The per-frame calibrated points (flagged ones with an empty magnitude)."""
    import numpy as np
    from astropy.table import MaskedColumn, Table

    def col(name: str, values: list) -> MaskedColumn:
        mask = [v is None for v in values]
        return MaskedColumn([np.nan if v is None else v for v in values], name=name,
                            mask=mask)

    t = Table()
    t["time_mjd"] = [p.time_mjd for p in points]
    t["filter"] = [p.band for p in points]
    t["site"] = [p.site for p in points]
    t["telescope"] = [p.telescope for p in points]
    t["observation_id"] = [p.observation_id for p in points]
    t["mag"] = col("mag", [p.mag for p in points])
    t["mag_err"] = col("mag_err", [p.err for p in points])
    t["limit_mag"] = col("limit_mag", [p.limit_mag for p in points])
    t["airmass"] = col("airmass", [p.airmass for p in points])
    t["flag"] = [p.flag for p in points]
    return t


def _ecsv(table: Any) -> str:
    import io

    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv")
    return buffer.getvalue()


def run_lightcurve(args: argparse.Namespace) -> int:
    from control_center.eventlog import EventLog, LogError
    from control_center.events.photometry import FramePhotometryMeasured, SiteCalibrationFitted
    from control_center.projections.lightcurves import LightCurves

    if not 0.0 < args.bin_minutes <= 1440.0:
        return _fail(f"--bin-minutes must be in (0, 1440], got {args.bin_minutes:g}")
    try:
        log = EventLog.open(args.db, create=False)
    except LogError as exc:
        return _fail(str(exc))
    curves = LightCurves()
    with log:
        try:
            for recorded in log.read(types=[FramePhotometryMeasured, SiteCalibrationFitted]):
                curves.apply(recorded)
        except LogError as exc:
            return _fail(str(exc))
    target = curves.find_target(args.target)
    if target is None:
        if not curves.frames:
            return _fail(f"no photometry in {args.db}: light curves need frames measured by "
                         "site nodes (an 'openastro demo --in-process' night has no frames)")
        known = ", ".join(list(curves.targets())[:8])
        return _fail(f"no photometry of {args.target!r} in {args.db} (targets with frames: "
                     f"{known}{', ...' if len(curves.frames) > 8 else ''})")
    points = curves.points(target, args.filter)
    if args.points:
        print(_ecsv(points_table(points)), end="")
        return 0
    fused = curves.fused(target, method=args.method, band=args.filter,
                         bin_days=args.bin_minutes / 1440.0)
    table = fused_table(fused)
    table.meta.update({"target": target, "method": args.method, "log": str(args.db),
                       "bin_minutes": args.bin_minutes, "frames": len(points),
                       "frames_calibrated": sum(p.mag is not None for p in points)})
    flagged = _flag_counts(points)
    if flagged:
        table.meta["frames_flagged"] = flagged
    if args.out:
        out = Path(args.out)
        try:
            out.write_text(_ecsv(table))
            out.with_name(out.stem + "-points" + (out.suffix or ".ecsv")).write_text(
                _ecsv(points_table(points)))
        except OSError as exc:
            return _fail(f"cannot write {out}: {exc.strerror or exc}")
    print(_ecsv(table), end="")
    if not fused:
        print(f"# no calibrated point of {target}: {len(points)} frames, all flagged "
              f"({_describe(flagged)})", file=sys.stderr)
    if args.plot and fused:
        print(plot(fused, target, colour=sys.stdout.isatty()))
    return 0


def _flag_counts(points: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in points:
        if p.mag is None or p.flag != "ok":
            out[p.flag] = out.get(p.flag, 0) + 1
    return out


def _describe(flags: dict[str, int]) -> str:
    return "; ".join(f"{n} {k}" for k, n in sorted(flags.items(), key=lambda kv: -kv[1])) \
        or "none"


def plot(fused: list[Any], target: str, *, width: int = 100, height: int = 24,
         colour: bool = True) -> str:
    """The fused light curve as a terminal plot (magnitudes increase downwards)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for band in sorted({f.band for f in fused}):
        pts = [f for f in fused if f.band == band]
        t0 = math.floor(min(f.time_mjd for f in fused))
        xs = [round((f.time_mjd - t0) * 24.0, 4) for f in pts]
        ys = [-f.mag for f in pts]
        plt.error(xs, ys, yerr=[f.err for f in pts], label=band)
        plt.scatter(xs, ys, marker="dot")
        plt.xlabel(f"hours since MJD {t0}")
    plt.ylabel("-mag")
    plt.title(f"{target}: fused light curve")
    text = plt.build()
    return text if colour else plt.uncolorize(text)
