"""Overrides from the console: each asks what it must, and lands in the log with the
observer's name; destructive ones need a confirmation, and refusals are shown."""

from __future__ import annotations

import asyncio

from textual.widgets import Input, Select, Static
from ui_helpers import caught_up, console, until

from control_center.eventlog import EventLog
from control_center.ui.screens.override_dialog import OverrideDialog
from control_center.ui.views.live_table import LiveTable


def overrides_in(db: str) -> list:
    with EventLog.open(db, create=False) as log:
        return [r for r in log.read() if r.actor.startswith("observer:")]


async def dialog(pilot, app) -> OverrideDialog:
    await until(pilot, lambda: isinstance(app.screen, OverrideDialog), what="the dialog")
    return app.screen


def test_pausing_a_telescope_asks_first_and_records_the_observer(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db, observer="ana")
        async with app.run_test(size=(80, 24)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("tab")                 # the telescopes table: pachon-1m
            await pilot.press("p")
            screen = await dialog(pilot, app)
            assert "destructive" in screen.query_one("#dialog").classes
            await pilot.press(*"dome check", "enter")   # Enter in a destructive dialog: nothing
            assert isinstance(app.screen, OverrideDialog) and overrides_in(db) == []
            await pilot.press("escape")                  # cancelled: nothing recorded
            await until(pilot, lambda: not isinstance(app.screen, OverrideDialog))
            assert overrides_in(db) == []
            await pilot.press("p")
            await dialog(pilot, app)
            await pilot.press(*"dome check", "tab", "enter")   # reason, then Confirm
            await until(pilot, lambda: len(overrides_in(db)) == 1, what="the override")
            recorded = overrides_in(db)[0]
            assert recorded.type_name == "TelescopePaused" and recorded.actor == "observer:ana"
            assert recorded.event.telescope == "pachon-1m"
            assert recorded.event.reason == "dome check"
            assert recorded.sim_time == app.snapshot.sim_time    # the log's newest time
            await caught_up(pilot, app)
            scopes = app.query_one("#telescopes", LiveTable)
            assert str(scopes.get_row("pachon-1m")[1]) == "obs/paused"

    asyncio.run(scenario())


def test_pausing_and_resuming_a_whole_site(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db, observer="ana")
        async with app.run_test(size=(80, 24)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("down", "p")           # the sites table: la-palma
            await dialog(pilot, app)
            assert "la-palma (all its telescopes)" in str(
                app.screen.query_one("#dialog-title", Static).render())
            await pilot.press("tab", "enter")
            await until(pilot, lambda: len(overrides_in(db)) == 1)
            await caught_up(pilot, app)
            assert "paused by ana" in str(app.query_one("#site-detail", Static).render())
            await pilot.press("r")                   # resume: not destructive, Enter records
            await dialog(pilot, app)
            await pilot.press("enter")
            await until(pilot, lambda: len(overrides_in(db)) == 2)
            resumed = overrides_in(db)[1]
            assert resumed.type_name == "TelescopeResumed" and resumed.event.site == "la-palma"

    asyncio.run(scenario())


def test_priority_force_and_veto_from_the_queue(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db, observer="ana")
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("4")
            queue = app.query_one("#queue-table", LiveTable)
            await until(pilot, lambda: len(queue.keys) == 3)
            await pilot.press("down", "down")        # galaxies-NGC1234, priority 6
            await pilot.press("p")
            screen = await dialog(pilot, app)
            priority = screen.query_one("#field-priority", Input)
            assert priority.value == "6"
            priority.value = "11"
            await pilot.press("enter")
            # 11 is refused by the override itself: the dialog closes, a notice says why
            await until(pilot, lambda: any("priority must be in [0, 10]" in n.message
                                           for n in app._notifications), what="the refusal")
            assert overrides_in(db) == []
            await pilot.press("p")
            screen = await dialog(pilot, app)
            screen.query_one("#field-priority", Input).value = "9.5"
            await pilot.press("enter")
            await until(pilot, lambda: len(overrides_in(db)) == 1)
            await caught_up(pilot, app)
            assert str(queue.get_row("galaxies-NGC1234")[1]) == "9.5"
            row = queue.keys.index("galaxies-NGC1234")

            queue.move_cursor(row=row)
            await pilot.press("f")
            screen = await dialog(pilot, app)
            screen.query_one("#field-telescope", Select).value = "palma-1m"
            await pilot.press("tab", "tab", "enter")   # Select -> reason -> Confirm
            await until(pilot, lambda: len(overrides_in(db)) == 2)
            forced = overrides_in(db)[1].event
            assert (forced.request_id, forced.telescope) == ("galaxies-NGC1234", "palma-1m")
            await caught_up(pilot, app)
            assert str(queue.get_row("galaxies-NGC1234")[3]) == "forced: palma-1m"

            queue.move_cursor(row=row)
            await pilot.press("v")
            await dialog(pilot, app)
            await pilot.press("tab", "enter")
            await until(pilot, lambda: len(overrides_in(db)) == 3)
            vetoed = overrides_in(db)[2]
            assert vetoed.type_name == "AssignmentVetoed" and vetoed.event.telescope == ""
            await caught_up(pilot, app)
            assert str(queue.get_row("galaxies-NGC1234")[3]) == "vetoed"

    asyncio.run(scenario())


def test_veto_of_a_decision_rating_and_acknowledging_an_alert(demo_db) -> None:
    db, ids = demo_db

    async def scenario() -> None:
        app = console(db, observer="bo")
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("2")
            feed = app.query_one("#decision-feed", LiveTable)
            await until(pilot, lambda: len(feed.keys) == 4)
            await pilot.press("v")                   # newest decision: SWIFT-1234 on palma-1m
            await dialog(pilot, app)
            await pilot.press("tab", "enter")
            await until(pilot, lambda: len(overrides_in(db)) == 1)
            veto = overrides_in(db)[0].event
            assert (veto.request_id, veto.telescope) == ("alert:SWIFT-1234", "palma-1m")

            await pilot.press("1", "tab")            # telescopes: pachon-1m finished NGC1234
            await pilot.press("b")
            await dialog(pilot, app)
            await pilot.press(*"trailed stars", "enter")
            await until(pilot, lambda: len(overrides_in(db)) == 2)
            rated = overrides_in(db)[1].event
            assert (rated.observation_id, rated.rating, rated.note) == (
                ids["observations"][0], "bad", "trailed stars")

            await pilot.press("5")
            alerts = app.query_one("#alerts-table", LiveTable)
            await until(pilot, lambda: len(alerts.keys) == 2)
            await pilot.press("a")                   # the rejected notice: nothing to do
            await pilot.pause(0.1)
            assert not isinstance(app.screen, OverrideDialog)
            await pilot.press("up", "a")
            await dialog(pilot, app)
            await pilot.press("enter")
            await until(pilot, lambda: len(overrides_in(db)) == 3)
            assert overrides_in(db)[2].event.alert_id == "ivo://gcn/SWIFT#1234"
            await caught_up(pilot, app)
            assert "bo" in str(alerts.get_row("ivo://gcn/SWIFT#1234")[6])

    asyncio.run(scenario())
