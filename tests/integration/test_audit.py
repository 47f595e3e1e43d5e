"""Auditors: explain a decision from the log, replay every decision and catch differences."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from control_center.audit import replay_log
from control_center.eventlog import EventLog
from control_center.events import AssignmentChosen, DecisionTriggered, NoAssignment
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Choice, Settings, hookimpl
from control_center.plugin_host import PluginHost
from control_center.sites.local import InProcessSiteLink
from simulator import SimulatedNetwork, demo_requests

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-03-21T22:30:00+00:00")
PLUGINS = ["constraints", "queue", "value-formula", "greedy"]


class LowestFirst:
    """A policy that lives only in this test: replaying its night must notice."""

    @hookimpl
    def openastro_choose(self, context, candidates, scores):
        if context.settings.policy != "greedy" or not scores:
            return None
        worst = min(scores, key=lambda s: (s.value, s.candidate))
        return Choice(worst.candidate, "lowest value first")


def run_night(db, *, extra=None, hours=1.5, seed=3):
    network = load_network()
    settings = Settings(seed=seed)
    host = PluginHost.load(settings, network, enabled=PLUGINS, extra=extra or {})
    simulated = SimulatedNetwork(network, seed, START, START + timedelta(hours=hours))
    links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
    with host, EventLog.open(db) as log:
        NightRun(network, log, host, settings, links,
                 demo_requests(seed, network, n_science=60, n_survey=40),
                 start=START, hours=hours, seed=seed).run()


def openastro(*args):
    return subprocess.run([sys.executable, "-m", "control_center.cli.main", *args], check=False,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture(scope="module")
def night_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("audit") / "night.db"
    run_night(db)
    return db


def _decisions(db):
    with EventLog.open(db, create=False) as log:
        triggered = [r.event for r in log.read(types=[DecisionTriggered])]
        chosen = [r.event for r in log.read(types=[AssignmentChosen])]
        idle = [r.event for r in log.read(types=[NoAssignment])]
    return triggered, chosen, idle


def test_every_decision_of_a_night_replays_identically(night_db):
    triggered, chosen, _ = _decisions(night_db)
    assert len(triggered) > 20 and chosen
    with EventLog.open(night_db, create=False) as log:
        report = replay_log(log, load_host=lambda s, n, names: PluginHost.load(
            s, n, enabled=[p for p in names if p in PLUGINS]))
    assert report.nights == 1
    assert report.decisions == len(triggered)
    assert report.mismatches == [], [str(m) for m in report.mismatches[:3]]


def test_replay_reports_decisions_a_different_plugin_would_have_made(night_db):
    with EventLog.open(night_db, create=False) as log:
        report = replay_log(log, load_host=lambda s, n, names: PluginHost.load(
            s, n, enabled=[p for p in names if p in PLUGINS], extra={"greedy": LowestFirst}))
    assert report.mismatches
    first = report.mismatches[0]
    assert first.step == "choice"
    assert "recorded" in first.detail and "replayed" in first.detail
    assert str(first.decision_id) in str(first)


def test_replay_verify_command_fails_on_a_night_the_installed_plugins_would_not_repeat(tmp_path):
    db = tmp_path / "tampered.db"
    run_night(db, extra={"greedy": LowestFirst}, hours=0.5)
    result = openastro("replay", "--verify", "--db", str(db))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "choice differ" in result.stdout
    assert "came out differently" in result.stdout


def test_replay_of_a_missing_log_is_a_one_line_error(tmp_path):
    result = openastro("replay", "--verify", "--db", str(tmp_path / "nothing.db"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nothing.db" in result.stderr


def test_explain_prints_trigger_state_candidates_rejections_and_choice(night_db):
    _, chosen, _ = _decisions(night_db)
    decision = chosen[-1]
    prefix = str(decision.originator_id)[:8]
    result = openastro("explain", prefix, "--db", str(night_db))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert str(decision.originator_id) in text
    for heading in ("Trigger:", "State the decision saw:", "Candidates:", "Rejections:",
                    "Choice:", "reason:", "overrides in force: none", "Plugin failures: none"):
        assert heading in text, heading
    assert decision.candidate["key"] in text
    assert "openastro 0.1.0: constraints, greedy, queue, value-formula" in text


def test_explain_json_holds_every_candidate_with_its_score(night_db):
    _, chosen, _ = _decisions(night_db)
    decision = chosen[0]
    result = openastro("explain", str(decision.originator_id), "--db", str(night_db), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["chosen"]["key"] == decision.candidate["key"]
    scored = {s["candidate"] for s in data["scores"]}
    rejected = {r["candidate"] for r in data["rejections"]}
    proposed = {c["key"] for c in data["candidates"]}
    assert scored | rejected == proposed and not scored & rejected
    assert data["observation_id"]
    assert data["cause"] is not None


def test_explain_unknown_or_ambiguous_id_is_a_clear_error(night_db):
    result = openastro("explain", "ffffffff-0000", "--db", str(night_db))
    assert result.returncode == 2
    assert "no decision with id" in result.stderr
    result = openastro("explain", "ab", "--db", str(night_db))
    assert result.returncode == 2 and "too short" in result.stderr


def test_a_weather_change_wakes_the_sites_idle_telescopes_at_once(night_db):
    from control_center.events import SiteConditionsChanged

    with EventLog.open(night_db, create=False) as log:
        events = [(r.position, r.event) for r in log.read()]
    woken = [(p, e) for p, e in events if isinstance(e, DecisionTriggered)
             and e.trigger in ("conditions-changed", "site-opened")]
    assert woken
    for position, decision in woken:
        cause = next(e for p, e in reversed(events[:position])
                     if e.event_id == decision.causation_id)
        assert isinstance(cause, SiteConditionsChanged)
        assert cause.site == decision.site and cause.sim_time == decision.sim_time
