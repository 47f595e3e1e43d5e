"""The benchmark's table: ratios to greedy and to the bound, text and JSON forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from control_center.network import load_network
from control_center.schedule_bench import BenchmarkResult, format_table, summarise
from control_center.schedule_bench.hindsight import HindsightResult
from control_center.schedule_bench.metrics import NightFigures
from control_center.schedule_bench.nights import bench_nights
from control_center.schedule_bench.runner import NightRunResult


def _result(bounds=(1000.0, 800.0), methods=("milp", "lp-relaxation")) -> BenchmarkResult:
    nights = bench_nights(7, 2, 10.0, datetime(2026, 3, 21, 18, tzinfo=UTC))
    values = {"greedy": (600.0, 400.0), "priority-scheduler": (660.0, 480.0)}
    latencies = {"greedy": ([30.0], [10.0, 50.0]), "priority-scheduler": ([5.0], [])}
    result = BenchmarkResult(load_network(), 7, nights, list(values))
    for policy, per_night in values.items():
        result.runs[policy] = [
            NightRunResult(policy, night, NightFigures(
                science_value=v, completed=10, dark_time_used=0.5 + 0.1 * i, alerts=2,
                alerts_followed=len(latencies[policy][i]),
                alert_latency_min=latencies[policy][i], fairness=0.8), {}, 1.0)
            for i, (night, v) in enumerate(zip(nights, per_night, strict=True))]
    result.bounds = [HindsightResult(b, m, None, 10, 5, 2.0)
                     for b, m in zip(bounds, methods, strict=True)]
    result.fingerprints = ["x", "y"]
    return result


def test_summary_ratios_and_medians():
    table = summarise(_result())
    greedy, ps = table["policies"]["greedy"], table["policies"]["priority-scheduler"]
    assert greedy["science_value_mean"] == 500.0
    assert greedy["ratio_to_greedy"] == 1.0
    assert ps["ratio_to_greedy"] == pytest.approx(1140 / 1000, abs=1e-4)
    assert greedy["ratio_to_hindsight"] == pytest.approx(1000 / 1800, abs=1e-4)
    assert greedy["alert_latency_median_min"] == 30.0      # of 10, 30, 50 over both nights
    assert (greedy["alerts_followed"], greedy["alerts"]) == (3, 4)
    assert greedy["dark_time_used"] == pytest.approx(0.55)
    assert table["hindsight"]["method_per_night"] == ["milp", "lp-relaxation"]
    assert table["hindsight"]["ratio_to_greedy"] == pytest.approx(1.8)
    assert [n["seed"] for n in table["nights"]] == [7, 8]
    json.dumps(table)   # machine-readable as it is


def test_text_table_has_a_row_per_policy_and_the_bound():
    text = format_table(summarise(_result()))
    lines = text.splitlines()
    assert lines[0].startswith("Scheduling benchmark: OpenAstro demo network, 2 night(s) x 10 h")
    rows = {line.split("  ")[0].strip(): line for line in lines[4:7]}
    assert set(rows) == {"greedy", "priority-scheduler", "hindsight bound"}
    assert "1.140" in rows["priority-scheduler"] and "3/4" in rows["greedy"]
    assert "milp, lp-relaxation" in text


def test_no_bound_no_ratio():
    result = _result()
    result.bounds = [None, None]
    table = summarise(result)
    assert table["hindsight"] is None
    assert table["policies"]["greedy"]["ratio_to_hindsight"] is None
    assert "hindsight bound" not in format_table(table)


def test_default_policies_are_the_installed_ones_greedy_first():
    from control_center.schedule_bench import installed_policies

    names = installed_policies()
    assert names[0] == "greedy"
    assert "priority-scheduler" in names
    assert "value-formula" not in names      # a scorer, not a policy
