"""Edge-pipeline latency for one frame on one core, by stage.

Usage::

    .venv/bin/python benchmarks/bench_edge.py [--size 2048] [--runs 7] [--json]

Renders two simulator frames of the same field (``site_node.edge.synthetic.
simulated_frame``: la-palma 1 m, r band, 60 s, clear sky, 1.2" and 1.4"
seeing, the second with three transients), lets the first become the field's
reference, then times :meth:`EdgePipeline.analyze` on the second, from the
in-memory ``HDUList`` to the result, ``--runs`` times. Each run differences the
frame against the reference, so every stage runs. Threads are pinned to one
(``OMP_NUM_THREADS`` etc. set before numpy loads, onnxruntime intra-op 1;
sep is single-threaded). Prints the median of each stage (load, sources,
quality, zero_point, anomaly, transients) and of the total. Goal: total <= 0.5 s
for a 2048x2048 frame (issue 3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# one core: set before numpy, scipy and onnxruntime load (they are imported in main)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

GOAL_S = 0.5
STAGES = ("load", "sources", "quality", "zero_point", "anomaly", "transients", "total")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=2048, help="frame side in pixels (default 2048)")
    p.add_argument("--runs", type=int, default=7, help="timed runs (default 7)")
    p.add_argument("--json", action="store_true", help="print the medians as JSON")
    args = p.parse_args(argv)

    from site_node.edge.pipeline import EdgePipeline
    from site_node.edge.synthetic import simulated_frame

    shape = (args.size, args.size)
    reference = simulated_frame(seed=1, seeing_arcsec=1.2, shape=shape)
    frame = simulated_frame(seed=2, seeing_arcsec=1.4, shape=shape, transients=3)
    pipeline = EdgePipeline(threads=1)
    first = pipeline.analyze(reference)
    if first.reference != "stored":
        print(f"reference not stored: {first.warnings}", file=sys.stderr)
        return 1
    pipeline.analyze(frame)  # warm caches (catalogue, onnxruntime)
    runs = []
    wall = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = pipeline.analyze(frame)
        wall.append(time.perf_counter() - t0)
        runs.append(result.timings_ms)
    medians = {s: statistics.median(r[s] for r in runs) for s in STAGES}
    medians["wall"] = 1000 * statistics.median(wall)
    info = {"size": args.size, "runs": args.runs, "median_ms": medians,
            "model": result.anomaly_model, "n_sources": result.n_sources,
            "transients": len(result.transients), "goal_ms": 1000 * GOAL_S,
            "meets_goal": medians["total"] <= 1000 * GOAL_S}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"edge pipeline, {args.size}x{args.size} frame, 1 core, median of {args.runs} runs "
          f"({result.n_sources} sources, {len(result.transients)} transients, "
          f"model {result.anomaly_model})")
    print("| stage | median ms |")
    print("|---|---|")
    for stage in STAGES:
        print(f"| {stage} | {medians[stage]:.1f} |")
    verdict = "meets" if info["meets_goal"] else "misses"
    print(f"total {medians['total']:.0f} ms: {verdict} the goal of {1000 * GOAL_S:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
