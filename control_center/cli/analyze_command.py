"""``openastro analyze``: the site node's edge pipeline, offline, on FITS files.

Prints one result per frame (a compact line, or one JSON object per line with
``--json``). The first good frame of each field becomes its reference, so a
later frame of the same field in the same run (or with ``--reference DIR``,
in an earlier run) is searched for transients. Exit status 0 when every file
was analysed, 1 when any could not be (one line on stderr per such file,
naming it), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_analyze_parser", "format_line", "run_analyze"]


def add_analyze_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "analyze", help="run the edge pipeline on FITS frames",
        description="Analyse FITS frames as a site node does: sky, sources, FWHM and "
                    "ellipticity, zero point, anomaly score and verdict, transient candidates.")
    p.add_argument("files", nargs="+", metavar="FILE.fits", help="frames to analyse")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument("--models", type=Path, metavar="DIR",
                   help="directory of the anomaly model (default: the shipped model)")
    p.add_argument("--reference", type=Path, metavar="DIR",
                   help="keep field references here (default: in memory for this run)")
    p.set_defaults(func=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    from site_node.edge.pipeline import EdgePipeline, FrameError
    from site_node.edge.transients import ReferenceStore

    if args.models is not None and not args.models.is_dir():
        print(f"openastro: error: --models {args.models}: not a directory", file=sys.stderr)
        return 2
    try:
        references = ReferenceStore(args.reference)
    except OSError as exc:
        print(f"openastro: error: --reference {args.reference}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    pipeline = EdgePipeline(args.models, references)
    failed = 0
    for name in args.files:
        try:
            result = pipeline.analyze(Path(name), name=name)
        except FrameError as exc:
            failed += 1
            print(f"openastro analyze: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
            failed += 1
            print(f"openastro analyze: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(result.to_dict(), sort_keys=True))
        else:
            print(format_line(result.to_dict()))
        sys.stdout.flush()
    return 1 if failed else 0


def format_line(r: dict[str, Any]) -> str:
    """One compact line for a frame's result."""

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    zp = "-" if r["zero_point"] is None else (
        f"{r['zero_point']:.3f}+-{r['zero_point_err']:.3f} ({r['n_zp_stars']} stars)")
    score = num(r["anomaly_score"], ".3g")
    parts = [
        f"{r['frame']}:",
        f"sky {num(r['sky_level'], '.1f')}+-{num(r['sky_noise'], '.1f')} ADU",
        f"sources {r['n_sources']}",
        f"fwhm {num(r['fwhm_arcsec'], '.2f')}\"",
        f"ellip {num(r['ellipticity'], '.2f')}",
        f"zp {zp}",
        f"anomaly {score} {r['anomaly_verdict']}"
        + (f" [{r['anomaly_model']}]" if r["anomaly_model"] else ""),
        f"transients {len(r['transients'])} ({r['reference']})",
    ]
    line = "  ".join(parts)
    for t in r["transients"]:
        mag = "-" if t["mag"] is None else f"{t['mag']:.2f}"
        line += (f"\n    transient ra {t['ra']:.5f} dec {t['dec']:+.5f} x {t['x']:.1f} "
                 f"y {t['y']:.1f} snr {t['snr']:.1f} mag {mag}")
    for w in r["warnings"]:
        line += f"\n    warning: {w}"
    return line
