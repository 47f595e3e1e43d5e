"""The scheduling environment: seeded nights, feasible candidates, site loss, rewards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from models.scheduler.env import EnvConfig, SchedulingEnv
from models.scheduler.features import N_CANDIDATE, N_CONTEXT

SMALL = EnvConfig(starts=(datetime(2026, 2, 14, 22, tzinfo=UTC),), hours=3.0, n_science=40,
                  n_survey=20)


def _night(env, seed, options=None, policy=None):
    obs, _ = env.reset(seed=seed, options=options)
    rewards, done = [], env.pending is None
    rng = np.random.default_rng(seed)
    while not done:
        assert env.observation_space.contains(obs)
        n = int(obs["mask"].sum())
        assert n == env.pending["rows"].size and n >= 1
        a = env.greedy_action() if policy is None else int(rng.integers(n))
        obs, r, done, _, _ = env.step(a)
        rewards.append(r)
    return rewards


@pytest.fixture(scope="module")
def env():
    return SchedulingEnv(SMALL)


def test_a_night_is_reproducible_from_its_seed(env):
    a = _night(env, 3, {"lose_site": ""})
    log_a = [(r["telescope"], r["request"], r["value"]) for r in env.log]
    b = _night(env, 3, {"lose_site": ""})
    assert a == b and log_a == [(r["telescope"], r["request"], r["value"]) for r in env.log]
    _night(env, 4, {"lose_site": ""})
    assert log_a != [(r["telescope"], r["request"], r["value"]) for r in env.log]
    assert len(log_a) > 20 and sum(r[2] for r in log_a) > 0


def test_offered_candidates_are_feasible(env):
    _night(env, 5, {"lose_site": ""}, policy="random")
    reasons = [r["reason"] for r in env.log]
    assert reasons
    assert not any(x.startswith(("target too low", "daylight")) for x in reasons)
    assert env.observation_space["cand"].shape == (SMALL.max_candidates, N_CANDIDATE)
    assert env.observation_space["ctx"].shape == (N_CONTEXT,)


def test_a_lost_site_gets_no_more_work_and_the_others_go_on(env):
    _night(env, 6, {"lose_site": "la-palma", "lose_at_h": 1.0})
    lost = env.lost_at["la-palma"]
    after = [r for r in env.log if r["t"] >= lost]
    assert after and all(r["site"] != "la-palma" for r in after)
    assert any(r["site"] == "la-palma" for r in env.log if r["t"] < lost)


def test_reward_is_the_science_value_when_costs_and_bonuses_are_off():
    env = SchedulingEnv(replace(SMALL, slew_cost=0.0, miss_cost=0.0, alert_bonus=0.0,
                                fairness_bonus=0.0))
    rewards = _night(env, 7)
    assert sum(rewards) == pytest.approx(env.total_value)
    costly = SchedulingEnv(replace(SMALL, fairness_bonus=0.0, alert_bonus=0.0))
    rewards = _night(costly, 7)
    assert sum(rewards) < costly.total_value           # overheads are paid for


def test_bad_actions_are_refused(env):
    env.reset(seed=8)
    with pytest.raises(ValueError, match="not a feasible candidate"):
        env.step(env.pending["rows"].size)
