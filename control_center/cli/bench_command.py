"""``openastro bench schedule``: the same simulated nights under each policy, and the
hindsight bound (see ``docs/schedule-benchmark.md``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from control_center.schedule_bench.nights import DEFAULT_START


def add_bench_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("bench", help="benchmarks of the control center",
                            description="Benchmarks of the control center.")
    kinds = p.add_subparsers(dest="bench", metavar="BENCHMARK")
    s = kinds.add_parser(
        "schedule", help="compare policies on the same simulated nights",
        description="Run the same simulated nights (weather, alerts and programmes drawn "
                    "from the seed) in process under each policy plugin, and print per "
                    "policy the science value, dark time used, alerts followed up and "
                    "their latency, fairness between programmes, and the ratios to greedy "
                    "and to the hindsight bound (an offline MILP that knows the weather).")
    s.add_argument("--network", metavar="FILE.toml",
                   help="network description (default: the shipped three-site network)")
    s.add_argument("--nights", type=int, default=3, help="nights to run (default 3)")
    s.add_argument("--seed", type=int, default=1,
                   help="seed of the first night; night i uses seed+i (default 1)")
    s.add_argument("--hours", type=float, default=10.0,
                   help="length of each night in hours (default 10)")
    s.add_argument("--start", default=DEFAULT_START.isoformat(),
                   help=f"UTC start of the first night; the next start a day later each "
                        f"(default {DEFAULT_START.isoformat()})")
    s.add_argument("--policies", metavar="A,B,...",
                   help="policy plugins to compare (default: every installed policy)")
    s.add_argument("--no-hindsight", action="store_true",
                   help="skip the hindsight bound (the MILP)")
    s.add_argument("--slot-minutes", type=float, default=15.0,
                   help="slot length of the hindsight MILP (default 15)")
    s.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS",
                   help="time limit of each night's MILP before its LP relaxation is used "
                        "(default 60)")
    s.add_argument("--jobs", type=int, default=1,
                   help="nights run at once, one process each (default 1; the table does "
                        "not depend on it)")
    s.add_argument("--json", action="store_true", help="print the table as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    s.set_defaults(func=run_bench_schedule)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return 2


def run_bench_schedule(args: argparse.Namespace) -> int:
    from control_center.network import NetworkFileError, load_network
    from control_center.schedule_bench import (
        BenchError,
        format_table,
        installed_policies,
        run_benchmark,
        summarise,
    )

    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        return _fail(f"--start {args.start!r} is not an ISO date-time")
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    if args.nights < 1:
        return _fail(f"--nights must be at least 1, got {args.nights}")
    if not 0 < args.hours <= 24:
        return _fail(f"--hours must be in (0, 24], got {args.hours}")
    if not args.slot_minutes > 0:
        return _fail(f"--slot-minutes must be positive, got {args.slot_minutes}")
    if args.jobs < 1:
        return _fail(f"--jobs must be at least 1, got {args.jobs}")
    if not args.time_limit > 0:
        return _fail(f"--time-limit must be positive, got {args.time_limit}")
    try:
        network = load_network(args.network)
    except NetworkFileError as exc:
        return _fail(str(exc))
    if args.policies is None:
        policies = installed_policies()
    else:
        policies = [p.strip() for p in args.policies.split(",") if p.strip()]
        if not policies:
            return _fail(f"--policies {args.policies!r} names no policy")
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        result = run_benchmark(network, seed=args.seed, nights=args.nights, hours=args.hours,
                               policies=policies, start=start,
                               hindsight=not args.no_hindsight,
                               slot_s=60.0 * args.slot_minutes, time_limit_s=args.time_limit,
                               jobs=args.jobs, progress=progress)
    except BenchError as exc:
        return _fail(str(exc))
    summary = summarise(result)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_table(summary))
    return 0
