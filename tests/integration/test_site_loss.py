"""A site node dies mid-night: it is marked offline, the rest of the network goes
on, and when the node is back its telescope is used again."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from control_center.eventlog import EventLog
from control_center.events import (
    ObservationCompleted,
    ObservationFailed,
    SiteHealthChanged,
)
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings, hookimpl
from control_center.plugin_host import PluginHost
from control_center.sites.client import Heartbeat
from control_center.sites.link import GrpcSiteLink
from control_center.sites.processes import LocalSiteNodes
from simulator import demo_requests

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SEED, HOURS, VICTIM = 1, 6.0, "hanle"   # Hanle stays clear that night (seed 1)
START = datetime(2026, 3, 21, 18, 0, tzinfo=UTC)


class Saboteur:
    """Kills the victim's node after its 10th observation; restarts it once it is
    reported offline (through the public plugin API, like any observer's tool).

    The restart runs on a thread that outlives it: site-node children die with the
    thread that started them (PR_SET_PDEATHSIG).
    """

    def __init__(self, nodes: LocalSiteNodes) -> None:
        self.nodes, self.done, self.killed = nodes, 0, False
        self.offline, self.finished = threading.Event(), threading.Event()
        self.restarted = threading.Thread(target=self._restart_when_offline)
        self.restarted.start()

    def _restart_when_offline(self) -> None:
        if self.offline.wait(120) and not self.finished.is_set():
            self.nodes.restart(VICTIM)
        self.finished.wait(300)

    @hookimpl
    def openastro_event(self, event):
        if isinstance(event, ObservationCompleted) and event.site == VICTIM:
            self.done += 1
            if self.done == 10 and not self.killed:
                self.killed = True
                self.nodes.kill(VICTIM)
        if (isinstance(event, SiteHealthChanged) and event.site == VICTIM
                and event.state == "offline"):
            self.offline.set()


def test_a_dead_site_is_replanned_and_used_again_when_it_returns(tmp_path):
    network = load_network()
    end = START + timedelta(hours=HOURS)
    with LocalSiteNodes([s.name for s in network.sites], seed=SEED, workdir=tmp_path / "n",
                        render=False, durable=False) as nodes:
        saboteur = Saboteur(nodes)
        settings = Settings(seed=SEED, plugin_time_budget_s=20.0)
        host = PluginHost.load(settings, network, extra={"saboteur": saboteur})
        links, beats = {}, []
        with EventLog.open(tmp_path / "log.db") as log:
            run = NightRun(network, log, host, settings, links,
                           demo_requests(SEED, network, n_science=200, n_survey=150),
                           start=START, hours=HOURS, seed=SEED)
            for site in nodes.sites:
                client = nodes.client(site, deadline_s=2.0, on_health_change=run.health_listener(
                    site, nodes.addresses[site]))
                beats.append(Heartbeat(client, interval_s=0.2).start())
                links[site] = GrpcSiteLink(client, site, start=START, end=end, timeout_s=10.0)
            try:
                run.run()
            finally:
                for beat in beats:
                    beat.stop()
                for link in links.values():
                    link.close()
                    link.client.close()
                saboteur.finished.set()
                saboteur.offline.set()
                saboteur.restarted.join(30)
            events = [r.event for r in log.read()]

    assert saboteur.killed
    victim = [e for e in events if getattr(e, "site", None) == VICTIM]
    offline = next(i for i, e in enumerate(victim)
                   if isinstance(e, SiteHealthChanged) and e.state == "offline")
    back = next(i for i, e in enumerate(victim) if i > offline
                and isinstance(e, SiteHealthChanged) and e.state == "online")
    lost = [e for e in victim if isinstance(e, ObservationFailed)
            and e.reason.startswith("site unavailable")]
    assert lost, "the observation in flight when the node died is recorded as failed"
    assert any(isinstance(e, ObservationCompleted) for e in victim[back:]), \
        "the site is used again once it is back"
    outage_start, outage_end = victim[offline].sim_time, victim[back].sim_time
    others = [e for e in events if isinstance(e, ObservationCompleted) and e.site != VICTIM
              and outage_start <= e.sim_time <= outage_end]
    assert others or outage_end == outage_start, "the other sites went on observing"
