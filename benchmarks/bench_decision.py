"""Decision latency through the real decision loop, plugin host, built-in plugins and log.

Usage::

    .venv/bin/python benchmarks/bench_decision.py [--config 5x2000 100x50000]
        [--decisions 40] [--repeat 3] [--seed 1]

For each configuration ``SITESxCANDIDATES``: a synthetic network of SITES sites
(one telescope each, spread over the globe), the built-in ``constraints``,
``value-formula`` and ``greedy`` plugins loaded through their entry points by
``PluginHost.load`` (with the usual per-call worker thread and time budget),
a synthetic generator plugin proposing the same CANDIDATES candidates at every
decision (all-sky, mixed kinds and filters, a tenth with time windows), and a
real SQLite ``EventLog`` in a temporary directory (durable commits, as the
demo). Decisions go round-robin over the sites, each at a random dark time of
its site. The ephemeris is built by ``openastro_night_started`` before the
first decision, as in a night.

Printed per configuration: decision latency (wall) p50 / p95 of each run and
their medians over the runs, the process's CPU time per decision (all threads;
less sensitive than wall time to other work on a shared machine; it leaves out
waiting for the disk), then where the time goes (median ms per decision):
propose, filter (of which the constraints plugin itself), score, choose,
record (building and saving the decision's events), and the time the garbage
collector ran during decisions.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from control_center import astro
from control_center.clock import FixedClock
from control_center.decision import DecisionLoop
from control_center.eventlog import EventLog
from control_center.network import Climate, Network, Site, Telescope
from control_center.plugin_api import (
    Candidate,
    Conditions,
    NightPlan,
    Settings,
    TelescopeState,
    hookimpl,
)
from control_center.plugin_host import PluginHost
from plugins.constraints import Constraints

DAY = datetime(2026, 3, 21, tzinfo=UTC)
KINDS = ("science", "survey", "followup", "calibration", "opportunistic")
KIND_WEIGHTS = (0.6, 0.25, 0.05, 0.05, 0.05)
FILTERS = ("g", "r", "i", "z", "B")          # the telescopes carry g, r, i


class SyntheticCandidates:
    """A generator plugin proposing the same ``n`` candidates at every decision."""

    def __init__(self, n: int = 1000, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        ra = rng.uniform(0, 360, n)
        dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        kinds = rng.choice(len(KINDS), n, p=KIND_WEIGHTS)
        filters = rng.choice(len(FILTERS), n)
        exposure = rng.choice([30.0, 60.0, 120.0, 300.0, 600.0], n)
        priority = rng.uniform(0, 10, n)
        windowed = rng.uniform(size=n) < 0.1
        opens = rng.uniform(0, 36, n)
        self.candidates = [
            Candidate(request_id=f"bench:{i}", target=f"T{i}", ra_deg=float(ra[i]),
                      dec_deg=float(dec[i]), filter=FILTERS[filters[i]],
                      exposure_s=float(exposure[i]), program="bench", kind=KINDS[kinds[i]],
                      priority=round(float(priority[i]), 3), proposed_by="synthetic",
                      not_before=DAY + timedelta(hours=float(opens[i])) if windowed[i] else None,
                      not_after=(DAY + timedelta(hours=float(opens[i]) + 4.0)
                                 if windowed[i] else None))
            for i in range(n)]

    @hookimpl
    def openastro_propose(self, context):
        return list(self.candidates)


def synthetic_network(n_sites: int, seed: int) -> Network:
    """``n_sites`` sites spread in longitude, at latitudes of real observatories."""
    rng = np.random.default_rng(seed)
    sites = []
    for i in range(n_sites):
        lon = -180.0 + 360.0 * (i + rng.uniform(0, 1)) / n_sites
        lat = float(rng.choice([-1, 1]) * rng.uniform(15, 45))
        scope = Telescope(f"scope-{i}", 1.0, 20.0, ("g", "r", "i"), slew_rate_deg_s=3.0,
                          readout_s=12.0, settle_s=8.0, filter_change_s=10.0,
                          min_altitude_deg=20.0)
        horizon = ((0.0, 15.0), (120.0, 25.0), (240.0, 18.0)) if i % 3 == 0 else ()
        sites.append(Site(f"site-{i}", lat, lon, float(rng.uniform(500, 4000)),
                          Climate(0.8, 1.0), (scope,), horizon=horizon))
    return Network(f"bench-{n_sites}", tuple(sites))


def night_plan(network: Network) -> NightPlan:
    start, end = DAY, DAY + timedelta(hours=36)
    dark = {s.name: tuple(astro.dark_intervals(s.location, start, end, step_s=600.0))
            for s in network.sites}
    return NightPlan(start, end, network, dark)


class PhaseTimer:
    """Wall time of named calls, per decision."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}

    def wrap(self, name: str, func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.current[name] = self.current.get(name, 0.0) + time.perf_counter() - t0
        return timed


class GcTimer:
    """Time the garbage collector runs (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = 0
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._t0
            self.collections += 1


def run_once(n_sites: int, n_candidates: int, n_decisions: int, seed: int,
             workdir: Path, freeze: bool = False) -> dict:
    """One run on a fresh log; latencies and the median time of each phase."""
    network = synthetic_network(n_sites, seed)
    plan = night_plan(network)
    settings = Settings(policy="greedy", scorer="value-formula", seed=seed)
    timer = PhaseTimer()
    original = Constraints.openastro_filter        # time the plugin alone, as the host calls it
    Constraints.openastro_filter = timer.wrap("constraints", original)
    try:
        return _decisions(network, plan, settings, timer, n_candidates, n_decisions, seed,
                          workdir, freeze)
    finally:
        Constraints.openastro_filter = original


def _decisions(network: Network, plan: NightPlan, settings: Settings, timer: PhaseTimer,
               n_candidates: int, n_decisions: int, seed: int, workdir: Path,
               freeze: bool) -> dict:
    n_sites = len(network.sites)
    gc_timer = GcTimer()
    rng = np.random.default_rng(seed + 1)
    with ExitStack() as stack:
        host = stack.enter_context(PluginHost.load(
            settings, network, enabled=["constraints", "value-formula", "greedy"],
            extra={"synthetic": SyntheticCandidates(n_candidates, seed)}))
        log = stack.enter_context(EventLog.open(workdir / f"decisions-{n_sites}.db",
                                                clock=FixedClock(DAY)))
        host.notify("openastro_night_started", night=plan)
        loop = DecisionLoop(host, log, settings, seed)
        for step in ("_propose", "_filter", "_score", "_choose"):
            setattr(loop, step, timer.wrap(step[1:], getattr(loop, step)))
        conditions = Conditions(cloud_cover=0.1, humidity=0.4, wind_m_s=5.0, seeing_arcsec=1.1,
                                sky_v_mag_arcsec2=21.5, open=True)
        by_site = {s.name: conditions for s in network.sites}
        latencies, cpu, phases, chosen, rejected = [], [], [], 0, []
        if freeze:
            gc.collect()
            gc.freeze()
        gc.callbacks.append(gc_timer)
        try:
            for k in range(n_decisions):
                site = network.sites[k % n_sites]
                begin, end = max(plan.dark[site.name], key=lambda d: d[1] - d[0])
                now = begin + (end - begin) * float(rng.uniform(0.05, 0.9))
                now = now.replace(microsecond=0)
                scope = TelescopeState(site, site.telescopes[0], None, None, None)
                timer.current = {}
                gc_before = gc_timer.total
                cpu0, t0 = time.process_time(), time.perf_counter()
                decision = loop.decide(now=now, trigger="bench", night=plan, telescope=scope,
                                       conditions_by_site=by_site, queue=[], busy_targets={})
                latencies.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - cpu0)
                shares = dict(timer.current)
                shares["record"] = latencies[-1] - sum(shares.values())
                shares["gc"] = gc_timer.total - gc_before
                phases.append(shares)
                chosen += decision.chosen is not None
                rejected.append(len(decision.events[2].rejections["candidate"]))
        finally:
            gc.callbacks.remove(gc_timer)
            gc.unfreeze()
        size = sum(f.stat().st_size for f in workdir.glob(f"decisions-{n_sites}.db*"))
    lat_ms = np.array(latencies) * 1000.0
    cpu_ms = np.array(cpu) * 1000.0
    return {
        "p50": float(np.percentile(lat_ms, 50)), "p95": float(np.percentile(lat_ms, 95)),
        "cpu_p50": float(np.percentile(cpu_ms, 50)), "cpu_p95": float(np.percentile(cpu_ms, 95)),
        "max": float(lat_ms.max()),
        "phases": {name: statistics.median(p.get(name, 0.0) for p in phases) * 1000.0
                   for name in ("propose", "filter", "constraints", "score", "choose",
                                "record", "gc")},
        "chosen": chosen, "rejected": statistics.median(rejected), "db_mb": size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", default=["5x2000", "100x50000"],
                        help="SITESxCANDIDATES (default: 5x2000 100x50000)")
    parser.add_argument("--decisions", type=int, default=40, help="decisions per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after set-up (the network, plugins and candidates are "
                             "then never traversed by the collector)")
    parser.add_argument("--gc-threshold", type=int, default=None, metavar="N",
                        help="gc.set_threshold(N, 10, 10) (Python's default is 700)")
    args = parser.parse_args()
    if args.gc_threshold is not None:
        gc.set_threshold(args.gc_threshold, 10, 10)
    configs = []
    for text in args.config:
        try:
            sites, candidates = (int(v) for v in text.lower().split("x"))
        except ValueError:
            parser.error(f"--config {text!r} is not SITESxCANDIDATES")
        configs.append((sites, candidates))

    print(f"decision latency, {args.decisions} decisions per run, {args.repeat} runs; "
          f"SQLite log (durable), plugins constraints + value-formula + greedy + synthetic; "
          f"gc threshold {gc.get_threshold()}{', frozen after set-up' if args.gc_freeze else ''}")
    header = (f"{'sites':>5} {'candidates':>10}  {'p50 ms':>8} {'p95 ms':>8}  runs p50/p95 ms"
              f"{'':20}  propose filter (constraints) score choose record | gc  ms")
    print(header)
    for sites, candidates in configs:
        results = []
        for r in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                results.append(run_once(sites, candidates, args.decisions, args.seed + r,
                                        Path(tmp), args.gc_freeze))
        p50 = statistics.median(x["p50"] for x in results)
        p95 = statistics.median(x["p95"] for x in results)
        runs = " ".join(f"{x['p50']:.0f}/{x['p95']:.0f}" for x in results)
        ph = {k: statistics.median(x["phases"][k] for x in results) for k in results[0]["phases"]}
        print(f"{sites:>5} {candidates:>10}  {p50:>8.1f} {p95:>8.1f}  {runs:<34}  "
              f"{ph['propose']:7.1f} {ph['filter']:6.1f} ({ph['constraints']:6.1f})     "
              f"{ph['score']:5.1f} {ph['choose']:6.1f} {ph['record']:6.1f} | {ph['gc']:5.1f}")
        last = results[-1]
        cpu50 = statistics.median(x["cpu_p50"] for x in results)
        cpu95 = statistics.median(x["cpu_p95"] for x in results)
        print(f"{'':17}  process CPU per decision p50 {cpu50:.1f} / p95 {cpu95:.1f} ms; "
              f"chosen {last['chosen']}/{args.decisions}, median rejected "
              f"{last['rejected']:.0f} of {candidates}, log {last['db_mb']:.1f} MB, "
              f"max {max(x['max'] for x in results):.0f} ms")


if __name__ == "__main__":
    main()
