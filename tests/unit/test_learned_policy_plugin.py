"""The learned-policy plugin chooses with the shipped ONNX policy, one memory per telescope."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from control_center.clock import FixedClock
from control_center.decision import DecisionLoop
from control_center.eventlog import EventLog
from control_center.events import AssignmentChosen
from control_center.plugin_api import Settings, hookimpl
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import candidate, decision_context
from plugins import value_formula
from plugins.learned_policy import NAME, LearnedPolicy

NOW = datetime(2026, 3, 21, 21, 0, tzinfo=UTC)
SETTINGS = Settings(policy=NAME, scorer="value-formula")


def _candidates():
    return [candidate(f"req-{i}", ra_deg=150.0 + 5 * i, dec_deg=25.0, exposure_s=30.0 * (i + 1),
                      priority=2.0 + i) for i in range(6)]


def _scores(cands):
    from control_center.plugin_api import Score

    return [Score(c.key, c.priority * 0.5, 0.1) for c in cands]


def _choose(plugin, telescope="hanle-0.7m", settings=SETTINGS, cands=None):
    cands = cands or _candidates()
    ctx = decision_context(telescope=telescope, now=NOW, settings=settings)
    with PluginHost.discover(enabled=[], extra={NAME: plugin}) as host:
        answer = host.call_first("openastro_choose", context=ctx, candidates=cands,
                                 scores=_scores(cands))
    return None if answer is None else answer[1]


def test_chooses_one_of_the_feasible_candidates_deterministically():
    a, b = _choose(LearnedPolicy()), _choose(LearnedPolicy())
    assert a.candidate in {c.key for c in _candidates()}
    assert a == b
    assert "policy network" in a.reason


def test_answers_only_when_it_is_the_run_policy():
    assert _choose(LearnedPolicy(), settings=Settings(policy="greedy")) is None


def test_keeps_a_recurrent_state_per_telescope():
    plugin = LearnedPolicy()
    _choose(plugin, "hanle-0.7m")
    first = plugin.states["hanle-0.7m"][1].copy()
    assert np.any(first != 0)
    _choose(plugin, "palma-1m")
    assert set(plugin.states) == {"hanle-0.7m", "palma-1m"}
    assert np.array_equal(plugin.states["hanle-0.7m"][1], first)   # untouched by palma
    _choose(plugin, "hanle-0.7m")
    assert not np.array_equal(plugin.states["hanle-0.7m"][1], first)  # memory moves on


def test_any_number_of_candidates():
    plugin = LearnedPolicy()
    one = [candidate("only", ra_deg=160.0, dec_deg=25.0)]
    assert _choose(plugin, cands=one).candidate == "only/r"
    many = [candidate(f"r{i}", ra_deg=(7.0 * i) % 360, dec_deg=20.0, priority=1 + i % 9)
            for i in range(300)]
    assert _choose(plugin, cands=many).candidate in {c.key for c in many}


class _Proposer:
    @hookimpl
    def openastro_propose(self, context):
        return _candidates()


@pytest.fixture
def log(tmp_path):
    with EventLog.open(tmp_path / "log.db", clock=FixedClock(NOW)) as log:
        yield log


def test_runs_as_the_policy_of_the_decision_loop(log):
    host = PluginHost.discover(enabled=[], extra={
        "proposer": _Proposer, "value-formula": value_formula, NAME: LearnedPolicy()})
    loop = DecisionLoop(host, log, SETTINGS, seed=1)
    ctx = decision_context(telescope="hanle-0.7m", now=NOW, settings=SETTINGS)
    decision = loop.decide(now=NOW, trigger="test", night=ctx.night, telescope=ctx.telescope,
                           conditions_by_site=ctx.conditions_by_site, queue=[],
                           busy_targets={})
    chosen = next(r.event for r in log.read() if isinstance(r.event, AssignmentChosen))
    assert chosen.policy == NAME
    assert decision.chosen.key == chosen.candidate["key"]
