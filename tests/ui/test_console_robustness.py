"""Bad input never takes the console down: unknown event types, a log that cannot be
opened (or goes away), sites that vanish."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from logbuilder import START, LogBuilder, demo_log, write_unknown_event
from textual.widgets import Static
from ui_helpers import caught_up, console, until

from control_center.eventlog import EventLog
from control_center.network import load_network
from control_center.ui.views.live_table import LiveTable


def status(app) -> str:
    return str(app.query_one("#status", Static).render())


def test_an_unknown_event_type_is_shown_generically_with_a_notice(demo_db) -> None:
    db, _ = demo_db
    with EventLog.open(db, durable=False) as log:
        write_unknown_event(log, 21, what="a newer plugin")

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await until(pilot, lambda: any(n.title == "Unknown event type"
                                           for n in app._notifications), what="the notice")
            await pilot.press("3")
            tail = app.query_one("#tail", LiveTable)
            await until(pilot, lambda: tail.keys and tail.keys[-1] == str(app.snapshot.position))
            row = [str(c) for c in tail.get_row(tail.keys[-1])]
            assert row[2].startswith("?openastro_future_plugin.events:Fut")
            assert row[3] == "plugin:future" and row[4] == "what='a newer plugin'"
            await pilot.press("1", "2", "4", "5")    # every view still works
            assert app.query_one("#views").active == "alerts"

    asyncio.run(scenario())


def test_a_log_that_cannot_be_opened_is_a_notice_until_it_can(tmp_path: Path) -> None:
    db = str(tmp_path / "not-yet.db")

    async def scenario() -> None:
        app = console(db, poll_interval=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.log_problem is not None, what="the problem")
            assert "not-yet.db" in app.log_problem and "no such file" in app.log_problem
            assert "no such file" in status(app)
            assert any(n.title == "Event log unavailable" for n in app._notifications)
            await pilot.press("2", "3")              # the console stays usable
            demo_log(db)                             # the control center starts writing
            await caught_up(pilot, app)
            await until(pilot, lambda: app.log_problem is None, what="the recovery")
            assert "OpenAstro demo network" in status(app) and "no such file" not in status(app)

    asyncio.run(scenario())


def test_a_file_that_is_not_a_log_is_named_in_the_notice(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("shopping list\n" * 200)

    async def scenario() -> None:
        app = console(str(junk), poll_interval=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.log_problem is not None, what="the problem")
            assert "notes.db" in app.log_problem
            await pilot.press("4")                   # the console stays usable
            await until(pilot, lambda: app.query_one("#views").active == "queue",
                        what="the Queue view")

    asyncio.run(scenario())


def test_a_site_that_vanishes_from_the_network_keeps_the_console_up(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db, poll_interval=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await caught_up(pilot, app)
            sites = app.query_one("#sites", LiveTable)
            assert sites.keys == ["cerro-pachon", "la-palma", "hanle"]
            sites.move_cursor(row=2)                 # the observer looks at hanle...
            with EventLog.open(db, durable=False) as log:
                b = LogBuilder(log)
                b.health("hanle", 30, "offline", reason="UNAVAILABLE: connection refused")
            await caught_up(pilot, app)
            assert str(sites.get_row("hanle")[-1]) == "offline"
            assert "UNAVAILABLE" in str(app.query_one("#site-detail", Static).render())
            network = load_network()
            smaller = type(network)(network.name, network.sites[:2], "test")
            with EventLog.open(db, durable=False) as log:   # ...when a night without it starts
                LogBuilder(log, smaller, start=START + timedelta(hours=1), seed=5).night_started()
            await caught_up(pilot, app)
            await until(pilot, lambda: sites.keys == ["cerro-pachon", "la-palma"])
            await pilot.press("down", "up", "p", "escape")
            assert app.query_one("#views").active == "network"

    asyncio.run(scenario())
