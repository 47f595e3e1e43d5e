"""The Bellman check: on a tiny instance the shipped policy reaches the exact optimum."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.scheduler.bellman import TINY, TinyEnv, TinyInstance, greedy_value, optimal_value
from models.scheduler.rollout import tiny_policy_value
from models.scheduler.serve import PolicyRunner

HERE = Path(__file__).resolve().parents[2] / "models" / "scheduler"


def _brute_force(inst: TinyInstance) -> float:
    """The optimum by enumerating every closed-loop plan (a target per slot per history)."""
    best_by_state = {}

    def best(slot, w, done):
        key = (slot, w, done)
        if key in best_by_state:
            return best_by_state[key]
        if slot == inst.slots:
            return 0.0
        options = inst.visible(slot, done) or [None]
        values = []
        for a in options:
            r = 0.0 if a is None else inst.reward(a, w)
            nxt = done if a is None else done | 1 << a
            values.append(r + sum(inst.p(w, w2) * best(slot + 1, w2, nxt) for w2 in (0, 1)))
        best_by_state[key] = max(values)
        return best_by_state[key]

    return inst.p_clear0 * best(0, 0, 0) + (1 - inst.p_clear0) * best(0, 1, 0)


def test_value_iteration_is_the_optimum_and_greedy_falls_short():
    assert optimal_value() == pytest.approx(_brute_force(TINY))
    assert greedy_value() < 0.9 * optimal_value()   # the instance needs planning


def test_open_loop_plans_never_beat_value_iteration():
    inst = TINY
    rng = np.random.default_rng(0)
    for plan in rng.integers(0, 4, (40, inst.slots)).tolist():
        def follow(env, plan=plan):
            wanted = plan[env.slot]
            return env.pending.index(wanted) if wanted in env.pending else 0
        from models.scheduler.bellman import policy_value

        assert policy_value(follow, inst) <= optimal_value(inst) + 1e-9


def test_shipped_policy_reaches_95_percent_of_the_optimum():
    runner = PolicyRunner(HERE / "bellman-v1.onnx")
    ours = tiny_policy_value(runner)
    assert ours >= 0.95 * optimal_value()
    assert ours > greedy_value()
    meta = json.loads((HERE / "bellman-v1.json").read_text())
    assert meta["metrics"]["fraction_of_optimum"] == pytest.approx(ours / optimal_value(),
                                                                   abs=1e-4)


def test_tiny_env_matches_the_instance():
    env = TinyEnv()
    obs, _ = env.reset(seed=0, options={"weather": [1, 1, 1, 1, 1, 1]})
    assert obs["mask"].sum() == 3                     # targets 0, 1, 3 are up at slot 0
    total = 0.0
    while env.pending is not None:
        obs, r, _done, _, _ = env.step(env.greedy_action())
        total += r
    assert total == pytest.approx(env.total_value)
    assert np.all(obs["mask"] == 0)
