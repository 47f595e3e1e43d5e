"""A night driven through site-node processes reports exactly what the in-process night does."""

from datetime import UTC, datetime, timedelta

import pytest

from control_center.eventlog import EventLog, stream_id
from control_center.events import FrameAnalyzed, ObservationCommandSent, SiteHealthChanged
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings
from control_center.plugin_host import PluginHost
from control_center.projections.night_report import NightReport
from control_center.sites.link import GrpcSiteLink, frame_analyzed_fields
from control_center.sites.local import InProcessSiteLink
from control_center.sites.processes import LocalSiteNodes
from simulator import SimulatedNetwork, demo_requests

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SEED, HOURS = 5, 0.5
START = datetime(2026, 3, 21, 22, 30, tzinfo=UTC)


def night_report(network, links, url):
    settings = Settings(seed=SEED)
    host = PluginHost.load(settings, network)
    with EventLog.open(url) as log:
        run = NightRun(network, log, host, settings, links,
                       demo_requests(SEED, network, n_science=200, n_survey=150),
                       start=START, hours=HOURS, seed=SEED)
        night = run.run()
        report = NightReport()
        for recorded in log.read():
            report.apply(recorded)
        return report.report(str(night))


def test_site_node_processes_reproduce_the_in_process_night(tmp_path):
    network = load_network()
    end = START + timedelta(hours=HOURS)
    local = night_report(network, {name: InProcessSiteLink(site) for name, site in
                                   SimulatedNetwork(network, SEED, START, end).links().items()},
                         f"sqlite:///{tmp_path / 'local.db'}")
    health, sent, analysed = [], [], []
    with LocalSiteNodes([s.name for s in network.sites], seed=SEED, workdir=tmp_path / "n",
                        frame_shape=(64, 64)) as nodes:
        links = {}
        for site in nodes.sites:
            client = nodes.client(site, on_health_change=lambda old, new, why, s=site:
                                  health.append((s, new)))
            links[site] = GrpcSiteLink(
                client, site, start=START, end=end,
                on_command_sent=lambda cmd, response: sent.append(response.queue_position),
                on_result=lambda r: analysed.append(frame_analyzed_fields(r))
                if r.has_frame else None)
        try:
            remote = night_report(network, links, f"sqlite:///{tmp_path / 'remote.db'}")
        finally:
            for link in links.values():
                link.close()
                link.client.close()
    assert remote["sites"] == local["sites"]
    completed = sum(s["completed"] + s["failed"] for s in remote["sites"].values())
    assert len(sent) == completed and set(sent) == {0}
    assert {s for s, state in health if state == "online"} == set(nodes.sites)
    assert analysed and all(a["measures"]["sky_level"] is not None for a in analysed
                            if not a["error"])
    # What the link hands over is what the events record.
    with EventLog.open(f"sqlite:///{tmp_path / 'events.db'}") as log:
        with log.batch(actor="control-center", sim_time=START, correlation_id=None) as batch:
            batch.add(FrameAnalyzed, stream=stream_id("site", "la-palma"), **analysed[0])
            batch.add(SiteHealthChanged, stream=stream_id("site", "la-palma"), site="la-palma",
                      state="offline", previous="online", reason="3 failures in a row",
                      address="127.0.0.1:1")
            batch.add(ObservationCommandSent, stream=stream_id("site", "la-palma"),
                      observation_id="o", site="la-palma", telescope="palma-1m",
                      queue_position=0, duplicate=False)
        events = [r.event for r in log.read()]
    assert events[0].measures == analysed[0]["measures"] and events[1].state == "offline"
