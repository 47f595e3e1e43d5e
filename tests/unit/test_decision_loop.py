"""The decision loop records every step, isolates failing plugins and honours the policy."""

from datetime import UTC, datetime

import pytest

from control_center.clock import FixedClock
from control_center.decision import DecisionLoop
from control_center.eventlog import EventLog
from control_center.events import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    NoAssignment,
    PluginFailed,
)
from control_center.plugin_api import Candidate, Choice, Rejection, Score, Settings, hookimpl
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import decision_context

NOW = datetime(2026, 3, 22, 2, tzinfo=UTC)


class Proposer:
    @hookimpl
    def openastro_propose(self, context):
        return [Candidate(f"r{i}", f"T{i}", 10.0 * i, 0.0, "r", 60.0, "p", "science", float(i))
                for i in range(1, 5)]


class RejectOdd:
    @hookimpl
    def openastro_filter(self, context, candidates):
        return [Rejection(c.key, "odd", c.priority, "even") for c in candidates
                if int(c.priority) % 2]


class Scorer:
    @hookimpl
    def openastro_score(self, context, candidates):
        return [Score(c.key, c.priority * 2, 0.1) for c in candidates]


class Lowest:
    @hookimpl
    def openastro_choose(self, context, candidates, scores):
        if context.settings.policy != "lowest":
            return None
        best = min(scores, key=lambda s: s.value)
        return Choice(best.candidate, "lowest first")


class Broken:
    @hookimpl
    def openastro_filter(self, context, candidates):
        raise RuntimeError("sensor table missing")


class Garbage:
    @hookimpl
    def openastro_propose(self, context):
        return "not a list"


@pytest.fixture
def log(tmp_path):
    with EventLog.open(tmp_path / "log.db", clock=FixedClock(NOW)) as log:
        yield log


def run_one(log, plugins, policy="lowest"):
    settings = Settings(policy=policy, scorer="scorer")
    host = PluginHost.discover(enabled=[], extra=plugins)
    loop = DecisionLoop(host, log, settings, seed=3)
    context = decision_context(telescope="palma-1m", now=NOW, settings=settings)
    return loop.decide(now=NOW, trigger="test", night=context.night,
                       telescope=context.telescope,
                       conditions_by_site=context.conditions_by_site, queue=[],
                       busy_targets={})


def test_every_step_is_one_event_saved_together(log):
    decision = run_one(log, {"proposer": Proposer, "odd": RejectOdd, "scorer": Scorer,
                             "lowest": Lowest})
    types = [type(r.event) for r in log.read()]
    assert types == [DecisionTriggered, CandidatesProposed, CandidatesRejected,
                     CandidatesScored, AssignmentChosen]
    events = [r.event for r in log.read()]
    assert [c["key"] for c in events[1].rows()] == ["r1/r", "r2/r", "r3/r", "r4/r"]
    assert {r["candidate"] for r in events[2].rows()} == {"r1/r", "r3/r"}
    assert all(r["constraint"] == "odd" and r["plugin"] == "odd" for r in events[2].rows())
    assert [s["candidate"] for s in events[3].rows()] == ["r2/r", "r4/r"]
    assert events[4].candidate["key"] == "r2/r"          # the configured policy chose
    assert decision.chosen.request_id == "r2"
    # causation chain: each step caused by the previous one, all in one stream
    assert events[1].causation_id == events[0].event_id
    assert events[4].causation_id == events[3].event_id
    assert len({e.originator_id for e in events}) == 1


def test_a_large_decision_round_trips_through_the_log(log):
    class Many:
        @hookimpl
        def openastro_propose(self, context):
            return [Candidate(f"req-{i:04d}", f"T{i}", i * 0.3, -20.0, "g", 60.0, "p", "survey",
                              1.0 + i % 7) for i in range(1200)]

    decision = run_one(log, {"many": Many, "scorer": Scorer, "lowest": Lowest})
    proposed = next(r.event for r in log.read() if isinstance(r.event, CandidatesProposed))
    assert len(proposed.rows()) == 1200
    assert proposed.rows()[5]["ra_deg"] == 1.5 and proposed.rows()[5]["key"] == "req-0005/g"
    assert decision.chosen.priority == 1.0
    assert log.verify().ok


def test_failing_plugins_become_events_and_the_loop_goes_on(log):
    decision = run_one(log, {"proposer": Proposer, "broken": Broken, "garbage": Garbage,
                             "scorer": Scorer, "lowest": Lowest})
    failures = [r.event for r in log.read() if isinstance(r.event, PluginFailed)]
    assert {(f.plugin, f.hook, f.failure) for f in failures} == {
        ("broken", "openastro_filter", "raised"), ("garbage", "openastro_propose", "invalid")}
    assert "sensor table missing" in next(f.message for f in failures if f.plugin == "broken")
    assert decision.chosen is not None and decision.chosen.request_id == "r1"


def test_policy_that_gives_no_answer_falls_back_to_the_highest_score(log):
    decision = run_one(log, {"proposer": Proposer, "scorer": Scorer, "lowest": Lowest},
                       policy="absent-policy")
    assert decision.chosen.request_id == "r4"
    chosen = next(r.event for r in log.read() if isinstance(r.event, AssignmentChosen))
    assert chosen.policy.endswith("highest-score-fallback")
    assert "absent-policy" in chosen.reason


def test_nothing_feasible_is_recorded_with_its_reason(log):
    class RejectAll:
        @hookimpl
        def openastro_filter(self, context, candidates):
            return [Rejection(c.key, "all", 1, 0) for c in candidates]

    decision = run_one(log, {"proposer": Proposer, "all": RejectAll, "scorer": Scorer,
                             "lowest": Lowest})
    assert decision.chosen is None
    last = list(log.read())[-1].event
    assert isinstance(last, NoAssignment) and last.reason == "no feasible candidate"
