"""The scheduling benchmark: the same nights under each policy, and the hindsight bound.

:func:`run_benchmark` runs every night under every policy (the real night loop,
:mod:`~control_center.schedule_bench.runner`), checks that the policies faced
identical nights (same weather reports, alerts and programme book: the world
fingerprints of :mod:`~control_center.schedule_bench.metrics` agree), solves
each night's hindsight bound (:mod:`~control_center.schedule_bench.hindsight`)
and gathers the table (:func:`summarise`).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from control_center.network import Network
from control_center.schedule_bench.hindsight import SLOT_S, TIME_LIMIT_S, HindsightResult
from control_center.schedule_bench.nights import DEFAULT_START, BenchNight, bench_nights
from control_center.schedule_bench.runner import BenchError, NightRunResult

__all__ = ["BenchError", "BenchmarkResult", "format_table", "installed_policies", "run_benchmark",
           "summarise"]

Progress = Callable[[str], None]


@dataclass
class BenchmarkResult:
    """Every run of the benchmark: per night, per policy, and the bounds."""

    network: Network
    seed: int
    nights: list[BenchNight]
    policies: list[str]
    runs: dict[str, list[NightRunResult]] = field(default_factory=dict)
    bounds: list[HindsightResult | None] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)


def installed_policies() -> list[str]:
    """Names of the installed plugins that answer ``openastro_choose`` (greedy first)."""
    from control_center.plugin_host import PluginHost

    with PluginHost.discover(on_failure=lambda failure: None) as host:
        names = [p.name for p in host.plugins()
                 if p.error is None and "openastro_choose" in p.hooks]
    return sorted(names, key=lambda n: (n != "greedy", n))


def run_benchmark(network: Network, *, seed: int, nights: int, hours: float,
                  policies: Sequence[str], start: datetime = DEFAULT_START,
                  hindsight: bool = True, slot_s: float = SLOT_S,
                  time_limit_s: float = TIME_LIMIT_S, extra: Mapping[str, object] | None = None,
                  jobs: int = 1, progress: Progress | None = None) -> BenchmarkResult:
    """Run the benchmark; raises :class:`BenchError` on bad input or differing nights.

    Parameters
    ----------
    network : Network
    seed, nights, hours, start
        Which nights (:func:`~control_center.schedule_bench.nights.bench_nights`).
    policies : sequence of str
        Policy plugins, by name.
    hindsight : bool
        Whether to solve each night's hindsight bound.
    slot_s, time_limit_s : float
        The bound's slot length and its MILP's time limit per night.
    extra : mapping, optional
        In-process plugins loaded in every run besides the installed ones (they
        must be importable by name when ``jobs`` > 1).
    jobs : int
        Nights run at once, each in its own process (the result does not depend
        on it: every night is deterministic from its seed).
    progress : callable, optional
        Receives one line per finished run and per bound.
    """
    from control_center.schedule_bench.runner import check_policies

    say = progress or (lambda message: None)
    policies = list(dict.fromkeys(policies))
    try:
        specs = bench_nights(seed, nights, hours, start)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    if jobs < 1:
        raise BenchError(f"jobs must be at least 1, got {jobs}")
    extra = dict(extra or {})
    check_policies(network, policies, extra)
    result = BenchmarkResult(network, seed, specs, policies,
                             runs={p: [] for p in policies})
    args = [(network, night, len(specs), policies, extra, hindsight, slot_s, time_limit_s)
            for night in specs]
    if jobs == 1 or len(specs) == 1:
        outcomes = (_bench_night(*a, say=say) for a in args)
        _collect(result, outcomes)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(jobs, len(specs)), mp_context=context) as pool:
            futures = [pool.submit(_bench_night, *a) for a in args]
            _collect(result, (_replay(f.result(), say) for f in futures))
    return result


@dataclass
class _NightOutcome:
    runs: list[NightRunResult]
    fingerprint: str
    bound: HindsightResult | None
    lines: list[str]


def _collect(result: BenchmarkResult, outcomes) -> None:
    for outcome in outcomes:
        for run in outcome.runs:
            result.runs[run.policy].append(run)
        result.fingerprints.append(outcome.fingerprint)
        result.bounds.append(outcome.bound)


def _replay(outcome: _NightOutcome, say: Progress) -> _NightOutcome:
    for line in outcome.lines:
        say(line)
    return outcome


def _bench_night(network: Network, night: BenchNight, n_nights: int, policies: Sequence[str],
                 extra: Mapping[str, object], hindsight: bool, slot_s: float,
                 time_limit_s: float, say: Progress | None = None) -> _NightOutcome:
    """Every policy on one night, the same-night check and the bound (in any process)."""
    from control_center.schedule_bench.hindsight import hindsight_bound
    from control_center.schedule_bench.nights import night_inputs
    from control_center.schedule_bench.runner import run_policy_night

    lines: list[str] = []

    def tell(line: str) -> None:
        if say is not None:
            say(line)
        else:
            lines.append(line)

    label = (f"night {night.index + 1}/{n_nights} (seed {night.seed}, "
             f"{night.start:%Y-%m-%d %H:%M} UTC, {night.hours:g} h)")
    inputs = night_inputs(network, night)
    done: list[NightRunResult] = []
    with tempfile.TemporaryDirectory(prefix="openastro-bench-") as workdir:
        for policy in policies:
            run = run_policy_night(network, night, inputs, policy, Path(workdir), extra)
            done.append(run)
            tell(f"{label}: {policy} science value {run.figures.science_value:.1f} "
                 f"({run.wall_s:.0f} s)")
    prints = {r.policy: r.figures.fingerprint for r in done}
    if len(set(prints.values())) != 1:
        raise BenchError(f"{label}: the policies did not face the same night "
                         f"(world fingerprints differ: "
                         + ", ".join(f"{p} {h[:12]}" for p, h in prints.items()) + ")")
    bound = None
    if hindsight:
        bound = hindsight_bound(network, night, inputs, [r.offered for r in done],
                                [r.figures.completions for r in done], slot_s=slot_s,
                                time_limit_s=time_limit_s)
        tell(f"{label}: hindsight bound {bound.value:.1f} ({bound.method}, "
             f"{bound.variables} variables, {bound.wall_s:.0f} s)")
    return _NightOutcome(done, next(iter(prints.values())), bound, lines)


def _ratio(a: float, b: float | None) -> float | None:
    return round(a / b, 4) if b else None


def summarise(result: BenchmarkResult) -> dict:
    """The benchmark's table as plain data (what ``--json`` prints)."""
    totals = {p: sum(r.figures.science_value for r in runs) for p, runs in result.runs.items()}
    bounds = [b.value for b in result.bounds if b is not None]
    bound_total = sum(bounds) if len(bounds) == len(result.nights) else None
    greedy_total = totals.get("greedy")
    n = len(result.nights)
    rows = {}
    for policy, runs in result.runs.items():
        figures = [r.figures for r in runs]
        latencies = [x for f in figures for x in f.alert_latency_min]
        rows[policy] = {
            "science_value_mean": round(totals[policy] / n, 2),
            "science_value_per_night": [round(f.science_value, 2) for f in figures],
            "completed_per_night": [f.completed for f in figures],
            "dark_time_used": round(statistics.fmean(f.dark_time_used for f in figures), 4),
            "alerts": sum(f.alerts for f in figures),
            "alerts_followed": sum(f.alerts_followed for f in figures),
            "alert_latency_median_min": (round(statistics.median(latencies), 1)
                                         if latencies else None),
            "fairness_jain": round(statistics.fmean(f.fairness for f in figures), 4),
            "ratio_to_greedy": _ratio(totals[policy], greedy_total),
            "ratio_to_hindsight": _ratio(totals[policy], bound_total),
            "wall_s": round(sum(r.wall_s for r in runs), 1),
        }
    hindsight = None
    if bound_total is not None:
        hindsight = {
            "science_value_mean": round(bound_total / n, 2),
            "science_value_per_night": [round(b.value, 2) for b in result.bounds],
            "method_per_night": [b.method for b in result.bounds],
            "milp_schedule_per_night": [None if b.incumbent is None else round(b.incumbent, 2)
                                        for b in result.bounds],
            "variables_per_night": [b.variables for b in result.bounds],
            "ratio_to_greedy": _ratio(bound_total, greedy_total),
            "wall_s": round(sum(b.wall_s for b in result.bounds), 1),
        }
    return {
        "network": result.network.name,
        "network_source": result.network.source,
        "seed": result.seed,
        "nights": [{"index": s.index, "seed": s.seed, "start": s.start.isoformat(),
                    "hours": s.hours} for s in result.nights],
        "identical_nights": True,
        "world_fingerprints": result.fingerprints,
        "policies": rows,
        "hindsight": hindsight,
    }


def format_table(summary: dict) -> str:
    """The summary as a plain-text table, one row per policy and one for the bound."""
    nights = summary["nights"]
    head = (f"Scheduling benchmark: {summary['network']}, {len(nights)} night(s) x "
            f"{nights[0]['hours']:g} h from {nights[0]['start'][:16]} UTC, seed "
            f"{summary['seed']} (same weather, alerts and programmes for every policy)")
    columns = ("policy", "value/night", "per night", "dark used", "alerts", "latency min",
               "fairness", "x greedy", "x hindsight")

    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    rows = []
    for policy, r in summary["policies"].items():
        rows.append((policy, f"{r['science_value_mean']:.1f}",
                     " ".join(f"{v:.0f}" for v in r["science_value_per_night"]),
                     f"{100 * r['dark_time_used']:.1f}%",
                     f"{r['alerts_followed']}/{r['alerts']}",
                     num(r["alert_latency_median_min"], ".1f"), f"{r['fairness_jain']:.3f}",
                     num(r["ratio_to_greedy"], ".3f"), num(r["ratio_to_hindsight"], ".3f")))
    h = summary["hindsight"]
    if h is not None:
        rows.append(("hindsight bound", f"{h['science_value_mean']:.1f}",
                     " ".join(f"{v:.0f}" for v in h["science_value_per_night"]), "-", "-", "-",
                     "-", num(h["ratio_to_greedy"], ".3f"),
                     "1.000" if h["science_value_mean"] else "-"))
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    out = [head, "", line(columns), line(["-" * w for w in widths]), *map(line, rows)]
    if h is not None:
        out.append(f"\nhindsight bound: offline MILP knowing the weather; solved per night: "
                   f"{', '.join(h['method_per_night'])} (lp-relaxation where the MILP timed "
                   f"out)")
    out.append("alerts: followed/received; latency: median minutes from alert to first "
               "observation; fairness: Jain's index of programmes' delivered share")
    return "\n".join(out)

