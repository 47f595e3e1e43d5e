"""Observers' overrides during a night: honoured at the next decision, explained, replayable."""

from datetime import datetime, timedelta

import pytest

from control_center import overrides
from control_center.audit import explain_decision, format_explanation, replay_log
from control_center.eventlog import EventLog
from control_center.eventlog.envelope import stream_id
from control_center.events import (
    AssignmentChosen,
    CandidatesRejected,
    DecisionTriggered,
    ObservationAssigned,
    ObservationRequested,
    TargetForced,
    TelescopePaused,
    TelescopeResumed,
)
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings
from control_center.plugin_host import PluginHost
from control_center.sites.local import InProcessSiteLink
from simulator import SimulatedNetwork, demo_requests

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-03-21T22:30:00+00:00")
PLUGINS = ["constraints", "queue", "value-formula", "greedy"]
NGC_2997 = {"target": "NGC 2997", "ra_deg": 146.4116, "dec_deg": -31.1911}


class ObserverAna:
    """Cerro Pachon's link; another process (Ana at her desk) acts on the same log."""

    def __init__(self, link, db, network) -> None:
        self.link, self.db, self.network, self.submitted = link, db, network, 0
        self.condition_changes, self.result = link.condition_changes, link.result

    def submit(self, command):
        self.submitted += 1
        with EventLog.open(self.db) as log:
            when = command.start
            if self.submitted == 2:
                for request_id, priority in (("ana-low", 0.5), ("ana-vetoed", 10.0)):
                    with log.batch(actor="observer:ana", sim_time=when) as batch:
                        batch.add(ObservationRequested, stream=stream_id("request", request_id),
                                  request_id=request_id, program="observer", kind="science",
                                  filters=["r"], exposure_s=60.0, priority=priority, repeats=1,
                                  not_before=None, not_after=None, **NGC_2997)
                overrides.veto(log, self.network, observer="ana", sim_time=when,
                               request_id="ana-vetoed", reason="bad guide star")
                overrides.pause(log, self.network, observer="ana", sim_time=when,
                                telescope="pachon-0.4m", reason="filter wheel check")
                overrides.force(log, self.network, observer="ana", sim_time=when,
                                telescope="pachon-1m", request_id="ana-low",
                                reason="calibrate the new camera")
            elif self.submitted == 6:
                overrides.resume(log, self.network, observer="ana", sim_time=when,
                                 telescope="pachon-0.4m")
        return self.link.submit(command)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    db = tmp_path_factory.mktemp("overrides") / "night.db"
    network = load_network()
    settings = Settings(seed=2)
    hours = 1.5
    simulated = SimulatedNetwork(network, 2, START, START + timedelta(hours=hours))
    links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
    links["cerro-pachon"] = ObserverAna(links["cerro-pachon"], db, network)
    host = PluginHost.load(settings, network, enabled=PLUGINS)
    with host, EventLog.open(db) as log:
        NightRun(network, log, host, settings, links,
                 demo_requests(2, network, n_science=40, n_survey=20),
                 start=START, hours=hours, seed=2).run()
    with EventLog.open(db, create=False) as log:
        return db, [(r.position, r.event) for r in log.read()]


def test_a_paused_telescope_gets_no_work_until_resumed(night):
    _, events = night
    paused = next(p for p, e in events if isinstance(e, TelescopePaused))
    resumed = next(p for p, e in events if isinstance(e, TelescopeResumed))
    assert paused < resumed
    during = [e for p, e in events if paused < p < resumed
              and isinstance(e, DecisionTriggered) and e.telescope == "pachon-0.4m"]
    after = [e for p, e in events if p > resumed
             and isinstance(e, DecisionTriggered) and e.telescope == "pachon-0.4m"]
    assert not during and after


def _decisions_of(events, telescope, after):
    """(DecisionTriggered, rejections by key, AssignmentChosen or None) after a position."""
    out = []
    for p, e in events:
        if p > after and isinstance(e, DecisionTriggered) and e.telescope == telescope:
            rows = next(x for _, x in events if isinstance(x, CandidatesRejected)
                        and x.originator_id == e.originator_id).rows()
            chosen = next((x for _, x in events if isinstance(x, AssignmentChosen)
                           and x.originator_id == e.originator_id), None)
            out.append((e, {r["candidate"]: r for r in rows}, chosen))
    return out


def test_a_forced_target_is_taken_as_soon_as_the_constraints_allow(night):
    _, events = night
    forced_at = next(p for p, e in events if isinstance(e, TargetForced))
    decisions = _decisions_of(events, "pachon-1m", forced_at)
    waited = 0
    for decision, rejected, chosen in decisions:
        assert [o["override"] for o in decision.inputs["overrides"]][-1] == "force"
        if "ana-low/r" in rejected:   # e.g. still twilight: the explanation says so
            assert rejected["ana-low/r"]["plugin"] == "constraints"
            waited += 1
            continue
        assert chosen.candidate["request_id"] == "ana-low"
        assert chosen.policy == "observer:ana" and chosen.actor == "observer:ana"
        assert chosen.reason == "forced by ana: calibrate the new camera"
        break
    else:
        pytest.fail("the forced target was never taken")
    # used up: later decisions are the policy's again and no longer carry the force
    later = decisions[waited + 1:]
    assert later and all(c is None or c.policy == "greedy" for _, _, c in later)
    assert all("force" not in [o["override"] for o in d.inputs["overrides"]]
               for d, _, _ in later)


def test_a_vetoed_request_is_rejected_with_the_observers_name_and_never_observed(night):
    _, events = night
    decisions = [e.rows() for _, e in events if isinstance(e, CandidatesRejected)
                 and any(r["candidate"] == "ana-vetoed/r" for r in e.rows())]
    assert decisions
    for rows in decisions:   # other constraints may object too; the veto always does
        assert ("ana-vetoed/r", "veto", "ana", "bad guide star", "observer:ana") in {
            (r["candidate"], r["constraint"], r["value"], r["limit"], r["plugin"]) for r in rows}
    assert not [e for _, e in events if isinstance(e, ObservationAssigned)
                and e.request_id == "ana-vetoed"]


def test_the_explanation_shows_the_overrides_in_force(night):
    db, events = night
    forced_at = next(p for p, e in events if isinstance(e, TargetForced))
    decision = next(d for d, _, c in _decisions_of(events, "pachon-1m", forced_at)
                    if c is not None and c.policy == "observer:ana")
    with EventLog.open(db, create=False) as log:
        text = format_explanation(explain_decision(log, str(decision.originator_id)))
    assert "overrides in force: override=veto request_id=ana-vetoed" in text
    assert "override=force telescope=pachon-1m request_id=ana-low observer=ana" in text
    assert "reason: forced by ana: calibrate the new camera" in text


def test_a_night_with_overrides_replays_identically(night):
    db, _ = night
    with EventLog.open(db, create=False) as log:
        report = replay_log(log, load_host=lambda s, n, names: PluginHost.load(
            s, n, enabled=[p for p in names if p in PLUGINS]))
    assert report.decisions > 20
    assert report.mismatches == [], [str(m) for m in report.mismatches[:3]]
