"""Wall time of the headless demo: a 10-hour night of the shipped 3-site network.

Usage: ``.venv/bin/python benchmarks/bench_demo.py [--runs 3] [--hours 10]
[--in-process | --frame-size N]``. Each run is a fresh process on a fresh
SQLite log (as a user would run it): with ``--in-process`` the sites are
simulated inside the control center (the decision loop and the log alone);
otherwise one site-node process per site renders and analyses every frame.
Prints the median and every run, and the observations per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(hours: float, seed: int, db: Path, extra: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "control_center.cli.main", "demo", "--headless",
                          "--json", "--hours", str(hours), "--seed", str(seed), "--db", str(db),
                          *extra], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--frame-size", type=int, default=None)
    args = parser.parse_args()
    extra = ["--in-process"] if args.in_process else []
    if args.frame_size:
        extra += ["--frame-size", str(args.frame_size)]
    walls, report = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            wall, report = one_run(args.hours, args.seed, Path(tmp) / f"run{i}.db", extra)
            walls.append(wall)
    observations = sum(s["completed"] + s["failed"] for s in report["sites"].values())
    median = statistics.median(walls)
    mode = "in-process sites" if args.in_process else "site-node processes"
    print(f"headless demo ({mode}), {args.hours:g} h, {len(report['sites'])} sites: "
          f"median {median:.1f} s "
          f"wall over {args.runs} runs ({', '.join(f'{w:.1f}' for w in walls)}); "
          f"{observations} observations, {report['events']} events, "
          f"{observations / median:.0f} observations/s")


if __name__ == "__main__":
    main()
