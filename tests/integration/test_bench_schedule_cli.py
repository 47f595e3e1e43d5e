"""``openastro bench schedule`` end to end on a short night of a second network."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_center.cli.bench_command import add_bench_parser
from control_center.network import load_network
from control_center.plugin_api import Candidate, Choice, DecisionContext, Score, hookimpl
from control_center.schedule_bench import BenchError, run_benchmark, summarise

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
NETWORK = DATA / "schedule-bench-network.toml"
START = "2026-03-21T10:00:00+00:00"   # dark (and, seed 5, clear) at both sites for the hour


def bench(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="openastro")
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "schedule", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def short_night():
    """One hour under greedy, as JSON (stdout) and progress (stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = bench("--network", str(NETWORK), "--nights", "1", "--hours", "1", "--seed", "5",
                     "--start", START, "--policies", "greedy", "--time-limit", "30", "--json")
    return code, out.getvalue(), err.getvalue()


def test_table_per_policy_and_the_hindsight_bound(short_night):
    code, out, err = short_night
    assert code == 0, err
    table = json.loads(out)
    assert table["network"] == "Two-site test network"
    assert [n["seed"] for n in table["nights"]] == [5]
    greedy = table["policies"]["greedy"]
    assert greedy["ratio_to_greedy"] == 1.0
    assert len(greedy["science_value_per_night"]) == 1
    assert greedy["science_value_mean"] > 0
    assert 0 < greedy["dark_time_used"] <= 1
    assert 0 < greedy["fairness_jain"] <= 1
    assert greedy["alerts_followed"] <= greedy["alerts"]
    bound = table["hindsight"]
    assert bound["method_per_night"][0] in ("milp", "lp-relaxation")
    # Knowing the weather, the offline schedule does better than greedy did.
    assert bound["science_value_mean"] > greedy["science_value_mean"]
    assert 0 < greedy["ratio_to_hindsight"] < 1
    assert err.count("night 1/1") == 2     # progress: the run, then the bound


class LowestValueFirst:
    """A deliberately poor policy: the feasible candidate with the lowest expected value."""

    @hookimpl
    def openastro_choose(self, context: DecisionContext, candidates: Sequence[Candidate],
                         scores: Sequence[Score]) -> Choice | None:
        if context.settings.policy != "lowest-value" or not scores:
            return None
        worst = min(scores, key=lambda s: (s.value, s.candidate))
        return Choice(worst.candidate, "lowest expected value (test policy)")


def test_policies_face_the_same_night_and_are_told_apart():
    result = run_benchmark(load_network(NETWORK), seed=5, nights=1, hours=0.5,
                           policies=["greedy", "lowest-value"],
                           start=datetime.fromisoformat(START).astimezone(UTC),
                           hindsight=False, extra={"lowest-value": LowestValueFirst})
    greedy, lowest = (result.runs[p][0].figures for p in ("greedy", "lowest-value"))
    assert greedy.fingerprint == lowest.fingerprint          # same weather, alerts, book
    assert greedy.science_value > lowest.science_value
    table = summarise(result)
    assert table["policies"]["lowest-value"]["ratio_to_greedy"] < 1
    assert table["hindsight"] is None


def test_differing_nights_are_refused(monkeypatch):
    from control_center.schedule_bench.metrics import NightFigures
    from control_center.schedule_bench.runner import NightRunResult

    def run_in_another_world(network, night, inputs, policy, workdir, extra=None):
        # As if each policy's run had seen other weather: the world fingerprints differ.
        return NightRunResult(policy, night, NightFigures(fingerprint=f"world-of-{policy}"),
                              {}, 0.0)

    monkeypatch.setattr("control_center.schedule_bench.runner.run_policy_night",
                        run_in_another_world)
    with pytest.raises(BenchError, match="did not face the same night"):
        run_benchmark(load_network(NETWORK), seed=5, nights=1, hours=0.25,
                      policies=["greedy", "priority-scheduler"],
                      start=datetime.fromisoformat(START).astimezone(UTC), hindsight=False)


@pytest.mark.parametrize(("argv", "message"), [
    (["--network", "no/such/file.toml"], "network file not found"),
    (["--policies", "greedy,no-such-policy"], "no-such-policy"),
    (["--nights", "0"], "--nights must be at least 1"),
    (["--hours", "30"], "--hours must be in (0, 24]"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert bench(*argv, "--quiet") == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("openastro: error: ")


def test_invalid_network_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(NETWORK.read_text().replace("clear_night_fraction = 0.8",
                                               "clear_night_fraction = 1.8"))
    assert bench("--network", str(bad), "--quiet") == 2
    err = capsys.readouterr().err
    assert "clear_night_fraction" in err and err.count("\n") == 1


def test_nights_in_parallel_give_the_same_table():
    network = load_network(NETWORK)
    start = datetime.fromisoformat(START).astimezone(UTC)
    one, two = (summarise(run_benchmark(network, seed=5, nights=2, hours=0.2,
                                        policies=["greedy"], start=start, hindsight=False,
                                        jobs=jobs)) for jobs in (1, 2))
    for table in (one, two):
        del table["policies"]["greedy"]["wall_s"]     # the only thing that may differ
    assert one == two
    assert len(one["policies"]["greedy"]["science_value_per_night"]) == 2
