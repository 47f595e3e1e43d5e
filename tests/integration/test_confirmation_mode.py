"""Seed "Confirmation Mode": a detection at one site gets a confirmation at another."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from control_center.eventlog import EventLog
from control_center.events import (
    CandidatesProposed,
    DecisionTriggered,
    ObservationAssigned,
    TransientDetected,
)
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings
from control_center.plugin_host import PluginHost
from control_center.sites.local import InProcessSiteLink
from simulator import SimulatedNetwork, demo_requests

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-03-21T22:30:00+00:00")
PLUGINS = ["constraints", "queue", "value-formula", "greedy", "followups"]
NEW_SOURCE = {"ra_deg": 150.0, "dec_deg": 25.0, "mag": 18.2, "snr": 25.0,
              "detector": "simulator"}
"""High over La Palma around 23:00 UTC."""


class ReportsOneDetection:
    """Hanle's link, whose third successful observation finds a new source."""

    def __init__(self, link) -> None:
        self.link, self.done = link, 0
        self.condition_changes, self.submit = link.condition_changes, link.submit

    def result(self, observation_id):
        observation = self.link.result(observation_id)
        if observation.outcome.success:
            self.done += 1
            if self.done == 3:
                observation = replace(observation, detections=(NEW_SOURCE,))
        return observation


def test_a_detection_at_one_site_is_confirmed_at_another(tmp_path):
    network = load_network()
    settings = Settings(seed=6)
    hours = 2.0
    simulated = SimulatedNetwork(network, 6, START, START + timedelta(hours=hours))
    links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
    links["hanle"] = ReportsOneDetection(links["hanle"])
    host = PluginHost.load(settings, network, enabled=PLUGINS)
    with host, EventLog.open(tmp_path / "night.db") as log:
        NightRun(network, log, host, settings, links,
                 demo_requests(6, network, n_science=60, n_survey=30),
                 start=START, hours=hours, seed=6).run()
        events = [(r.position, r.event) for r in log.read()]
    detected_at, detection = next((p, e) for p, e in events if isinstance(e, TransientDetected))
    assert detection.site == "hanle"
    elsewhere = [(p, e) for p, e in events if p > detected_at
                 and isinstance(e, DecisionTriggered) and e.site != "hanle"]
    assert elsewhere, "no other site decided after the detection"
    _, first = elsewhere[0]
    proposed = next(e for p, e in events
                    if isinstance(e, CandidatesProposed) and e.originator_id == first.originator_id)
    assert any(":confirmation/" in r["key"] for r in proposed.rows())
    assert first.sim_time - detection.sim_time <= timedelta(minutes=10)
    confirmations = [e for _, e in events if isinstance(e, ObservationAssigned)
                     and ":confirmation" in e.request_id]
    assert confirmations and all(e.site != "hanle" for e in confirmations)
    # the colour follow-up stays at the detecting site
    colour = [e for _, e in events if isinstance(e, ObservationAssigned)
              and ":colour" in e.request_id]
    assert all(e.site == "hanle" for e in colour)
