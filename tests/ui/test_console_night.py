"""The console on a real night: NightRun with in-process sites, watched while it runs
(what ``openastro demo`` does without ``--headless``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from textual.widgets import Static
from ui_helpers import caught_up, console, until

from control_center.eventlog import EventLog
from control_center.events import DecisionTriggered, ObservationRequested
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings
from control_center.plugin_host import PluginHost
from control_center.sites.local import InProcessSiteLink
from control_center.ui.views.live_table import LiveTable
from simulator import SimulatedNetwork, demo_requests

START = datetime.fromisoformat("2026-03-21T23:00:00+00:00")
PLUGINS = ["constraints", "queue", "value-formula", "greedy"]


def run_night(db: Path, hours: float = 0.5, seed: int = 4) -> None:
    network = load_network()
    settings = Settings(seed=seed)
    host = PluginHost.load(settings, network, enabled=PLUGINS)
    simulated = SimulatedNetwork(network, seed, START, START + timedelta(hours=hours))
    links = {name: InProcessSiteLink(site) for name, site in simulated.links().items()}
    with host, EventLog.open(db, durable=False) as log:
        NightRun(network, log, host, settings, links,
                 demo_requests(seed, network, n_science=30, n_survey=20),
                 start=START, hours=hours, seed=seed).run()


def test_watching_a_night_while_it_runs(tmp_path: Path) -> None:
    db = tmp_path / "night.db"

    async def scenario() -> None:
        app = console(str(db), background=lambda: run_night(db), poll_interval=0.05)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: "night is over" in str(
                app.query_one("#status", Static).render()), timeout=120, what="the night")
            await caught_up(pilot, app)
            with EventLog.open(db, create=False) as log:
                decisions = sum(1 for _ in log.read(types=[DecisionTriggered]))
                requests = sum(1 for _ in log.read(types=[ObservationRequested]))
            snap = app.snapshot
            assert snap.night.ended == "end of the simulated span"
            assert snap.sim_time >= START + timedelta(hours=0.5)
            assert len(snap.decisions) == min(decisions, 500) and decisions > 5
            assert all(d.outcome in ("assigned", "none") and d.reason for d in snap.decisions)
            assert len(snap.requests) == requests
            scopes = app.query_one("#telescopes", LiveTable)
            assert sorted(scopes.keys) == ["hanle-0.7m", "pachon-0.4m", "pachon-1m",
                                           "palma-1m"]
            await pilot.press("2")
            feed = app.query_one("#decision-feed", LiveTable)
            await until(pilot, lambda: len(feed.keys) == len(snap.decisions))

    asyncio.run(scenario())
