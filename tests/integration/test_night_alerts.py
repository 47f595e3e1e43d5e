"""Alerts during a night: ingested at their time, acted on promptly, bad ones recorded."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from control_center.eventlog import EventLog
from control_center.events import (
    AlertReceived,
    AlertRejected,
    DecisionTriggered,
    ObservationAssigned,
)
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings
from control_center.plugin_host import PluginHost
from control_center.sites.local import InProcessSiteLink
from simulator import SimulatedNetwork, demo_requests

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
START = datetime.fromisoformat("2026-03-21T22:30:00+00:00")
PLUGINS = ["constraints", "queue", "value-formula", "greedy", "alerts"]


def x_ray_transient(when: datetime) -> bytes:
    """An Einstein Probe notice near the zenith of La Palma around 23:00 UTC."""
    notice = json.loads((DATA / "ep_wxt_alert.json").read_text())
    notice["trigger_time"] = when.isoformat().replace("+00:00", "Z")
    notice["ra"], notice["dec"] = 146.0, 25.0
    return json.dumps(notice).encode()


def test_an_alert_is_recorded_at_its_time_and_observed_within_minutes(tmp_path):
    network = load_network()
    settings = Settings(seed=4)
    hours = 1.5
    arrives = START + timedelta(minutes=30)
    simulated = SimulatedNetwork(network, 4, START, START + timedelta(hours=hours))
    links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
    alerts = [(arrives, x_ray_transient(arrives - timedelta(minutes=2)), "ep.json"),
              (arrives + timedelta(minutes=5), b"<voe:VOEvent oops", "broken.xml")]
    host = PluginHost.load(settings, network, enabled=PLUGINS)
    with host, EventLog.open(tmp_path / "night.db") as log:
        NightRun(network, log, host, settings, links,
                 demo_requests(4, network, n_science=60, n_survey=30),
                 start=START, hours=hours, seed=4, alerts=alerts).run()
        events = [r.event for r in log.read()]
    received = [e for e in events if isinstance(e, AlertReceived)]
    assert len(received) == 1 and received[0].sim_time == arrives
    rejected = [e for e in events if isinstance(e, AlertRejected)]
    assert len(rejected) == 1 and "broken.xml" in rejected[0].source
    woken = [e for e in events if isinstance(e, DecisionTriggered)
             and e.sim_time >= arrives and "alert" in e.trigger]
    follow = [e for e in events if isinstance(e, ObservationAssigned)
              and e.request_id.startswith("alert:")]
    assert follow, "the alert was never observed"
    assert follow[0].sim_time - arrives <= timedelta(minutes=15)
    assert woken or follow[0].sim_time - arrives <= timedelta(minutes=10)


def test_demo_watches_an_alert_folder(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ep.json").write_bytes(x_ray_transient(START))
    (inbox / "junk.json").write_text("{not json")
    db = tmp_path / "demo.db"
    result = subprocess.run(
        [sys.executable, "-m", "control_center.cli.main", "demo", "--headless", "--in-process",
         "--hours", "0.5", "--start", START.isoformat(), "--seed", "2", "--db", str(db),
         "--alerts", str(inbox), "--no-simulated-alerts"],
        check=False, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr
    with EventLog.open(db, create=False) as log:
        events = [r.event for r in log.read()]
    assert [type(e).__name__ for e in events if isinstance(e, AlertReceived | AlertRejected)] \
        == ["AlertReceived", "AlertRejected"]


def test_demo_with_a_missing_alert_folder_is_a_one_line_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "control_center.cli.main", "demo", "--headless", "--in-process",
         "--hours", "0.5", "--db", str(tmp_path / "x.db"), "--alerts", str(tmp_path / "nope")],
        check=False, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr
