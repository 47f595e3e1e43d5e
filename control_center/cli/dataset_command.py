"""``openastro dataset frames``: simulator frames as FITS files with a manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_dataset_parser", "run_dataset"]


def _csv(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()]


def add_dataset_parser(commands: Any) -> None:
    p = commands.add_parser("dataset", help="export training/test data (simulator frames)",
                            description="Export data for anyone to train or test models on.")
    kinds = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    q = kinds.add_parser(
        "frames", help="simulated frames as FITS, normal or with labelled anomalies",
        description="Render simulated frames of the network's sites with the simulator and "
                    "write them as FITS files with a manifest.csv (file, site, telescope, "
                    "filter, time, kind, label, seed). Deterministic from --seed.")
    q.add_argument("--network", metavar="FILE", help="network file (default: the shipped one)")
    q.add_argument("--site", action="append", metavar="NAME",
                   help="only this site (repeatable; default: every site)")
    q.add_argument("--n", type=int, required=True, help="number of frames")
    q.add_argument("--seed", type=int, required=True, help="seed of everything")
    q.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    q.add_argument("--anomalies", type=float, default=0.0, metavar="FRACTION",
                   help="share of frames with one injected, labelled anomaly (default 0)")
    q.add_argument("--kinds", type=_csv, default=[], metavar="K1,K2",
                   help="anomaly kinds to inject (default: all of simulator.artefacts)")
    q.add_argument("--size", type=int, default=256, metavar="PX",
                   help="frame size in pixels (default 256)")
    p.set_defaults(func=run_dataset)


def run_dataset(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from control_center.network import NetworkFileError, load_network
    from models.datasets.sim_frames import FrameExportError, export_frames

    try:
        network = load_network(args.network)
        with Progress(transient=True) as bar:
            task = bar.add_task("rendering frames", total=max(args.n, 0))
            rows = export_frames(args.out, n=args.n, seed=args.seed, network=network,
                                 sites=args.site, anomaly_fraction=args.anomalies,
                                 kinds=args.kinds, size=args.size,
                                 progress=lambda done: bar.update(task, completed=done))
    except (NetworkFileError, FrameExportError) as exc:
        print(f"openastro: {exc}", file=sys.stderr)
        return 2
    bad = sum(r["label"] == "anomalous" for r in rows)
    print(f"{len(rows)} frames ({bad} with an anomaly) in {args.out}; manifest "
          f"{args.out / 'manifest.csv'}")
    return 0
