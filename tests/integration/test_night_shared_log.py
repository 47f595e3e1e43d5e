"""A running night sees what other writers append to its log, in log order, and replans."""

from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from control_center.eventlog import EventLog
from control_center.eventlog.envelope import stream_id
from control_center.events import (
    CandidatesProposed,
    DecisionTriggered,
    ObservationAssigned,
    ObservationCompleted,
    ObservationRequested,
)
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings, hookimpl
from control_center.plugin_host import PluginHost
from control_center.sites.local import InProcessSiteLink
from simulator import SimulatedNetwork, demo_requests

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-03-21T22:30:00+00:00")
PLUGINS = ["constraints", "queue", "value-formula", "greedy"]


class ObserverAtAnotherDesk:
    """Wraps a site link; after the n-th submission another writer adds a request."""

    def __init__(self, link, db, after: int) -> None:
        self.link, self.db, self.after, self.submitted = link, db, after, 0
        self.condition_changes, self.result = link.condition_changes, link.result

    def submit(self, command):
        self.submitted += 1
        if self.submitted == self.after:
            with EventLog.open(self.db) as other, \
                    other.batch(actor="observer:ana", sim_time=command.start) as batch:
                batch.add(ObservationRequested, stream=stream_id("request", "ana-1"),
                          request_id="ana-1", program="observer", kind="science",
                          target="NGC 2997", ra_deg=146.4116, dec_deg=-31.1911, filters=["r"],
                          exposure_s=60.0, priority=10.0, repeats=1, not_before=None,
                          not_after=None)
        return self.link.submit(command)


class SeenInOrder:
    """Records the order in which events reach the plugins."""

    seen: ClassVar[list] = []

    @hookimpl
    def openastro_event(self, event):
        SeenInOrder.seen.append((type(event).__name__, event.originator_id,
                                 event.originator_version))


def test_a_request_added_by_another_writer_is_observed_the_same_night(tmp_path):
    db = tmp_path / "shared.db"
    network = load_network()
    settings = Settings(seed=2)
    hours = 1.5
    simulated = SimulatedNetwork(network, 2, START, START + timedelta(hours=hours))
    links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
    links["cerro-pachon"] = ObserverAtAnotherDesk(links["cerro-pachon"], db, after=3)
    SeenInOrder.seen = []
    host = PluginHost.load(settings, network, enabled=PLUGINS, extra={"spy": SeenInOrder})
    with host, EventLog.open(db) as log:
        NightRun(network, log, host, settings, links,
                 demo_requests(2, network, n_science=40, n_survey=20),
                 start=START, hours=hours, seed=2).run()
        events = [(r.position, r.event) for r in log.read()]
    in_log = [(type(e).__name__, e.originator_id, e.originator_version) for _, e in events]
    assert SeenInOrder.seen == in_log   # plugins saw exactly the log, in its order
    added = next(p for p, e in events if isinstance(e, ObservationRequested)
                 and e.request_id == "ana-1")
    assigned = [(p, e) for p, e in events
                if isinstance(e, ObservationAssigned) and e.request_id == "ana-1"]
    assert assigned and assigned[0][0] > added
    assert any(isinstance(e, ObservationCompleted) and e.request_id == "ana-1"
               for _, e in events)
    # from the very next decision on, every telescope considered it until one took it
    between = {e.originator_id for p, e in events
               if added < p < assigned[0][0] and isinstance(e, DecisionTriggered)}
    assert between
    for p, e in events:
        if isinstance(e, CandidatesProposed) and e.originator_id in between:
            assert "ana-1/r" in {r["key"] for r in e.rows()}
