"""The observer's console: UI lag under bursts, and memory over a long night.

Usage::

    .venv/bin/python benchmarks/bench_ui.py [--bursts 5] [--events 10000] [--view 1]
        [--hours 16] [--skip-lag] [--skip-memory] [--dir /tmp]

*Lag* (``tests/ui/lag.py``): a console (Textual, headless Pilot, 120x40) follows
a small night; another process commits ``--events`` events (decisions with 100
candidates each, 6 events per decision) in one transaction; ``lag`` is the time
from that commit to the console having drawn the newest position (status line,
Log view), ``all views`` to every view having folded the burst and the process
being idle again. Times are ``time.monotonic`` (system-wide) on both sides.
p50 / p95 over ``--bursts`` bursts (a fresh log each). The machine's load
average is printed: on a shared 2-core machine the figures scale with it.

*Data layer CPU*: the process time :class:`LogFollower` and the snapshots take
for the same burst, in this process: to show its newest events (one poll),
and to fold it into every view. It does not depend on the machine's load.

*Memory*: a night of ``--hours`` simulated hours is written (3 sites, a
decision per telescope every 2 minutes with 20 candidates, its observation
completed with a frame measured, conditions every 12 s per site: far denser
than a real night), then folded by the console's :class:`LogFollower` one
simulated hour at a time. After each hour: the Python heap held by the folds
(``tracemalloc``, current) and the process RSS. Bounded memory means the
figure stops growing once the caps are reached (decisions 500, tail 300,
alerts 500, trend series 2,000 points).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from logbuilder import START, LogBuilder, demo_log

from control_center.eventlog import EventLog


def rss_mb() -> float:
    """Resident set size of this process (MB), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def bench_lag(args: argparse.Namespace) -> None:
    from lag import measure

    lags, alls = [], []
    for i in range(args.bursts):
        db = Path(args.dir) / f"openastro-bench-ui-lag-{i}.db"
        db.unlink(missing_ok=True)
        demo_log(db)
        figures = asyncio.run(measure(str(db), args.events, 1, args.view))
        db.unlink(missing_ok=True)
        lags.append(figures["lag_ms"])
        alls.append(figures["all_views_ms"])
        print(f"  burst {i + 1}: lag {figures['lag_ms']:.0f} ms, all views "
              f"{figures['all_views_ms']:.0f} ms (write {figures['write_s']:.1f} s, "
              f"load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"lag, {args.events:,} events in one commit, view {args.view}: "
          f"p50 {statistics.median(lags):.0f} ms, p95 {percentile(lags, 0.95):.0f} ms; "
          f"all views p50 {statistics.median(alls):.0f} ms, p95 {percentile(alls, 0.95):.0f} ms"
          f" ({args.bursts} bursts, load {os.getloadavg()[0]:.1f})")


def bench_fold_cpu(args: argparse.Namespace) -> None:
    """CPU (process time) the console's data layer spends on a burst: to show its newest
    events, and to fold it into every view (load-independent, unlike the lag)."""
    from lag import write_burst

    from control_center.ui.model import LogFollower

    shown, folded = [], []
    for i in range(args.bursts):
        db = Path(args.dir) / f"openastro-bench-ui-cpu-{i}.db"
        db.unlink(missing_ok=True)
        demo_log(db)
        follower = LogFollower(str(db))
        while follower.poll().more:
            pass
        follower.snapshot()
        with EventLog.open(db, durable=False) as log:
            write_burst(log, args.events, 1)
        c0 = time.process_time()
        follower.poll()
        follower.snapshot()
        c1 = time.process_time()
        while follower.poll().more:
            follower.snapshot()
        follower.snapshot()
        c2 = time.process_time()
        follower.close()
        db.unlink(missing_ok=True)
        shown.append(1000 * (c1 - c0))
        folded.append(1000 * (c2 - c0))
    print(f"data layer CPU per burst of {args.events:,}: newest shown p50 "
          f"{statistics.median(shown):.0f} ms (p95 {percentile(shown, 0.95):.0f}), every view "
          f"p50 {statistics.median(folded):.0f} ms (p95 {percentile(folded, 0.95):.0f})")


def write_long_night(path: Path, hours: int) -> int:
    """A dense night of ``hours`` hours; returns its number of events."""
    with EventLog.open(path, durable=False) as log:
        b = LogBuilder(log, hours=hours)
        b.night_started()
        for i in range(300):
            b.request(f"survey-{i}", target=f"F{i:04d}", program="survey",
                      priority=1 + i % 9, repeats=4)
        scopes = (("cerro-pachon", "pachon-1m"), ("la-palma", "palma-1m"),
                  ("hanle", "hanle-0.7m"))
        n = 0
        for minute in range(hours * 60):
            for fifth in range(5):                 # conditions every 12 s
                for site, _ in scopes:
                    b.conditions(site, minute + fifth / 5, seeing=0.8 + 0.1 * ((minute + n) % 7),
                                 sky=21.0 + 0.01 * (minute % 50))
            if minute % 2:
                continue
            for site, scope in scopes:
                n += 1
                request = f"survey-{n % 300}"
                _, observation = b.decision(minute, site, scope, request_id=request,
                                            target=f"F{n % 300:04d}", duration_s=100,
                                            n_candidates=20)
                b.completed(minute + 1.8, observation, request, site, scope,
                            zero_point=25.0 + 0.01 * (n % 30))
        b.night_ended(hours * 60)
        return log.last_position()


def bench_memory(args: argparse.Namespace) -> None:
    from control_center.ui.model import LogFollower

    db = Path(args.dir) / "openastro-bench-ui-night.db"
    db.unlink(missing_ok=True)
    t = time.perf_counter()
    total = write_long_night(db, args.hours)
    print(f"night written: {args.hours} h, {total:,} events ({time.perf_counter() - t:.0f} s)",
          flush=True)
    hour_ends: list[int] = []
    with EventLog.open(db, create=False) as log:
        for r in log.read():
            while r.sim_time is not None and r.sim_time >= START + timedelta(
                    hours=len(hour_ends) + 1) and len(hour_ends) < args.hours:
                hour_ends.append(r.position - 1)
            last = r.position
    hour_ends += [last] * (args.hours - len(hour_ends))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    follower = LogFollower(str(db), chunk=1)
    follower.poll()   # opens the log, finds the night, folds its NightStarted
    rows = []
    t = time.perf_counter()
    for hour, end in enumerate(hour_ends, 1):
        log = follower.open_log()
        while follower.state.position < end:
            records = list(log.read(after=follower.state.position,
                                    limit=min(5000, end - follower.state.position)))
            follower.state.fold(records)
        follower.state.snapshot()
        gc.collect()
        heap = (tracemalloc.get_traced_memory()[0] - base) / 1e6
        s = follower.state
        rows.append((hour, end, heap, rss_mb()))
        print(f"  hour {hour:2d}: #{end:>7,}  folds {heap:6.2f} MB  RSS {rss_mb():6.1f} MB  "
              f"(decisions {len(s.decisions.rows())}, tail {len(s.tail.rows())}, "
              f"trend points {sum(len(x.values) for x in s.trends.series())})", flush=True)
    tracemalloc.stop()
    follower.close()
    db.unlink(missing_ok=True)
    half = rows[len(rows) // 2 - 1]
    print(f"memory, {args.hours}-hour night of {total:,} events folded in "
          f"{time.perf_counter() - t:.0f} s: folds {half[2]:.2f} MB at hour {half[0]}, "
          f"{rows[-1][2]:.2f} MB at hour {rows[-1][0]}; RSS {half[3]:.0f} -> {rows[-1][3]:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--view", default="1", help="view in front during the bursts (1-7)")
    parser.add_argument("--hours", type=int, default=16)
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--skip-lag", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    if args.hours < 2:
        parser.error("--hours must be at least 2")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if not args.skip_lag:
        bench_fold_cpu(args)
        bench_lag(args)
    if not args.skip_memory:
        bench_memory(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
