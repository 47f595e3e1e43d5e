"""The hindsight MILP: optimal on tiny instances (checked by brute force), and built right."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center.network import load_network
from control_center.schedule_bench.hindsight import (
    OfflineCandidate,
    OfflineProblem,
    build_problem,
    solve_problem,
)
from control_center.schedule_bench.nights import BenchNight

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data"


def _problem(slot, cand, value, duration, capacity, want) -> OfflineProblem:
    return OfflineProblem(np.array(slot), np.array(cand), np.array(value, dtype=float),
                          np.array(duration, dtype=float), np.array(capacity, dtype=float),
                          np.array(want, dtype=float))


def _brute_force(p: OfflineProblem) -> float:
    best = 0.0
    for bits in itertools.product((0, 1), repeat=p.n_variables):
        x = np.array(bits, dtype=float)
        load = np.bincount(p.slot, weights=x * p.duration, minlength=p.capacity.size)
        taken = np.bincount(p.candidate, weights=x, minlength=p.want.size)
        if np.all(load <= p.capacity + 1e-9) and np.all(taken <= p.want + 1e-9):
            best = max(best, float(x @ p.value))
    return best


def test_greedy_by_value_is_not_optimal_but_the_milp_is():
    # Slot 0 holds 600 s: one long valuable exposure (value 5) or two short ones (3 + 3).
    # Candidate 2 may be observed once only, in slot 0 or slot 1 (where it is worth less).
    p = _problem(slot=[0, 0, 0, 1, 1], cand=[0, 1, 2, 2, 0],
                 value=[5.0, 3.0, 3.0, 2.5, 4.0], duration=[600, 300, 300, 300, 600],
                 capacity=[600, 600], want=[1, 1, 1])
    result = solve_problem(p)
    assert result.method == "milp"
    # Best: slot 0 takes candidates 1 and 2 (6.0), slot 1 takes candidate 0 (4.0).
    assert result.value == pytest.approx(10.0)
    assert result.value == pytest.approx(_brute_force(p))
    assert sorted(result.chosen) == [1, 2, 4]


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_brute_force_on_random_tiny_instances(seed):
    rng = np.random.default_rng(seed)
    n_slots, n_cands, n = 3, 4, 12
    slot = rng.integers(0, n_slots, n)
    cand = rng.integers(0, n_cands, n)
    p = _problem(slot, cand, rng.uniform(0.5, 10.0, n), rng.integers(60, 700, n),
                 rng.integers(300, 1000, n_slots), rng.integers(1, 3, n_cands))
    result = solve_problem(p)
    assert result.method == "milp"
    assert result.value == pytest.approx(_brute_force(p), rel=1e-9)


def test_lp_relaxation_is_the_fallback_and_still_bounds_the_optimum():
    rng = np.random.default_rng(7)
    n = 12
    p = _problem(rng.integers(0, 3, n), rng.integers(0, 4, n), rng.uniform(0.5, 10.0, n),
                 rng.integers(60, 700, n), [500, 700, 900], [1, 2, 1, 2])
    result = solve_problem(p, time_limit_s=1e-9)
    assert result.method == "lp-relaxation"
    assert result.value >= _brute_force(p) - 1e-9
    assert result.incumbent is None or result.incumbent <= result.value + 1e-9


def test_empty_problem_is_worth_nothing():
    p = _problem([], [], [], [], [], [1])
    assert solve_problem(p).value == 0.0


def test_build_problem_respects_filters_windows_and_daylight():
    network = load_network(DATA / "schedule-bench-network.toml")
    start = datetime(2026, 3, 21, 10, tzinfo=UTC)
    night = BenchNight(0, 3, start, 1.0)
    # An equatorial target transiting Kitt Peak around 10:30 UTC (LST ~ 14 h).
    ra, dec = 210.0, 10.0
    cands = [
        OfflineCandidate("a/r", ra, dec, 14.0, "r", 120.0, 5.0, 2, start, night.end),
        OfflineCandidate("b/B", ra, dec, 14.0, "B", 120.0, 5.0, 1, start, night.end),
        OfflineCandidate("c/r", ra, dec, 14.0, "r", 120.0, 5.0, 1,
                         start + timedelta(minutes=40), night.end),
    ]
    p = build_problem(network, night, cands, slot_s=900.0)
    scopes = {name for name, _ in p.slot_names}
    assert scopes <= {"kp-0.9m", "kp-0.5m", "sso-1m"}
    # B exists only on kp-0.9m.
    b_slots = {p.slot_names[s][0] for s, c in zip(p.slot, p.candidate, strict=True) if c == 1}
    assert b_slots <= {"kp-0.9m"}
    # c/r is not available before 10:40: never in the slots that end before then.
    c_starts = [p.slot_names[s][1] for s, c in zip(p.slot, p.candidate, strict=True) if c == 2]
    assert all(t + timedelta(minutes=15) >= start + timedelta(minutes=40) for t in c_starts)
    assert np.all(p.value > 0) and np.all(p.capacity <= 900.0)
    result = solve_problem(p)
    # a/r twice, b/B once, c/r once: four observations at most.
    assert result.method == "milp"
    assert 0 < len(result.chosen) <= 4
    assert result.value <= 5.0 * 4


def test_candidates_observable_nowhere_give_no_variables():
    network = load_network(DATA / "schedule-bench-network.toml")
    start = datetime(2026, 3, 21, 10, tzinfo=UTC)
    night = BenchNight(0, 3, start, 1.0)
    # Dec +80 is never above the horizon from Siding Spring, and RA 30 deg is down at
    # Kitt Peak at this hour; a filter no telescope has.
    cands = [OfflineCandidate("low/r", 30.0, -5.0, 14.0, "r", 60.0, 5.0, 1, start, night.end),
             OfflineCandidate("u/u", 210.0, 10.0, 14.0, "u", 60.0, 5.0, 1, start, night.end)]
    p = build_problem(network, night, cands)
    assert p.n_variables == 0
    assert solve_problem(p).value == 0.0
    assert math.isfinite(solve_problem(p).wall_s)
