"""Pilot-driven tests of each view of the console on a real (small) log."""

from __future__ import annotations

import asyncio

from logbuilder import LogBuilder
from textual.widgets import Input, Static
from ui_helpers import caught_up, console, until

from control_center.eventlog import EventLog
from control_center.ui.screens.explanation import ExplanationScreen
from control_center.ui.views.live_table import LiveTable


def run(coro) -> None:
    asyncio.run(coro)


def cells(table: LiveTable, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


def column(table: LiveTable, index: int) -> list[str]:
    return [str(table.get_row(k)[index]) for k in table.keys]


def test_network_view_shows_sites_and_telescopes(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(80, 24)) as pilot:
            await caught_up(pilot, app)
            sites = app.query_one("#sites", LiveTable)
            assert sites.keys == ["cerro-pachon", "la-palma", "hanle"]
            assert cells(sites, "cerro-pachon")[:6] == [
                "cerro-pachon", "20:20", "-6.8°", "naut. tw.", "open", '0.95"']
            assert cells(sites, "hanle")[4] == "closed"
            scopes = app.query_one("#telescopes", LiveTable)
            busy = cells(scopes, "pachon-1m")
            assert busy[1:6] == ["observing", "VAR-0042 g", "█░░░░  27%", "22m00s",
                                 "completed NGC1234 g"]
            status = str(app.query_one("#status", Static).render())
            assert "2026-03-21 23:20:00 UTC" in status and "observer ana" in status
            detail = str(app.query_one("#site-detail", Static).render())
            assert "Cerro Pachón, Chile" in detail
            await pilot.press("down", "down")   # hanle: why is it closed?
            detail = str(app.query_one("#site-detail", Static).render())
            assert "closed: cloud cover 0.91 > 0.7" in detail

    run(scenario())


def test_network_view_follows_the_log_live(demo_db) -> None:
    db, ids = demo_db

    async def scenario() -> None:
        app = console(db, poll_interval=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await caught_up(pilot, app)
            with EventLog.open(db, durable=False) as log:
                b = LogBuilder(log)
                b.completed(25, ids["observations"][1], "variables-VAR-0042", "cerro-pachon",
                            "pachon-1m", filter="g")
                b.health("la-palma", 26, "offline", reason="3 failures in a row")
            await caught_up(pilot, app)
            scopes = app.query_one("#telescopes", LiveTable)
            assert cells(scopes, "pachon-1m")[1:3] == ["idle", "-"]
            assert cells(app.query_one("#sites", LiveTable), "la-palma")[-1] == "offline"

    run(scenario())


def test_decisions_view_lists_reasons_and_enter_explains(demo_db) -> None:
    db, ids = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("2")
            feed = app.query_one("#decision-feed", LiveTable)
            await until(pilot, lambda: feed.keys == ids["decisions"], what="the feed")
            assert column(feed, 2) == ["NGC1234 g", "VAR-0042 g", "no assignment",
                                       "SWIFT-1234 r"]
            assert column(feed, 3)[2] == "no feasible candidate"
            assert feed.cursor_row == 3          # the feed follows the newest decision
            await pilot.press("up", "enter")
            await until(pilot, lambda: isinstance(app.screen, ExplanationScreen),
                        what="the explanation")
            screen = app.screen
            await until(pilot, lambda: screen.text is not None, what="the explanation text")
            assert f"Decision {ids['decisions'][2]}" in screen.text
            assert "No assignment (greedy): no feasible candidate" in screen.text
            assert "Candidates: 3 proposed" in screen.text
            await pilot.press("escape")
            assert not isinstance(app.screen, ExplanationScreen)

    run(scenario())


def test_log_view_tails_and_filters_by_type_site_and_actor(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("3")
            tail = app.query_one("#tail", LiveTable)
            await until(pilot, lambda: len(tail.keys) == app.snapshot.position, what="tail")
            assert column(tail, 2)[-1] == "SiteConditionsChanged"
            await pilot.press("slash")
            assert app.focused.id == "filter-type"
            await pilot.press(*"alert", "enter")
            await until(pilot, lambda: column(tail, 2) == ["AlertReceived", "AlertRejected"],
                        what="the type filter")
            assert "type alert" in str(app.query_one("#filter-state", Static).render())
            app.query_one("#filter-type", Input).value = ""
            app.query_one("#filter-site", Input).value = "hanle"
            await until(pilot, lambda: len(tail.keys) == 1, what="the site filter")
            assert column(tail, 3) == ["site:hanle"]
            app.query_one("#filter-site", Input).value = ""
            app.query_one("#filter-actor", Input).value = "plugin"
            await until(pilot, lambda: set(column(tail, 3)) == {"plugin:greedy"},
                        what="the actor filter")
            tail.focus()
            await pilot.press("escape")
            await until(pilot, lambda: len(tail.keys) == app.snapshot.position,
                        what="the filter cleared")

    run(scenario())


def test_queue_view_orders_requests_and_counts_progress(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("4")
            queue = app.query_one("#queue-table", LiveTable)
            await until(pilot, lambda: len(queue.keys) == 3, what="the queue")
            assert queue.keys == ["alert:SWIFT-1234", "variables-VAR-0042", "galaxies-NGC1234"]
            assert cells(queue, "galaxies-NGC1234")[1:4] == ["6", "1/2", "pending"]
            assert cells(queue, "variables-VAR-0042")[3] == "on pachon-1m"
            summary = str(app.query_one("#queue-summary", Static).render())
            assert summary.startswith("3 requests: 2 under way, 1 pending, 0 done")

    run(scenario())


def test_alerts_view_shows_follow_ups_and_rejections(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("5")
            alerts = app.query_one("#alerts-table", LiveTable)
            await until(pilot, lambda: len(alerts.keys) == 2, what="the alerts")
            detail = app.query_one("#alert-detail", Static)
            assert "not a VOEvent: no <Who>" in str(detail.render())
            await pilot.press("up")
            text = str(detail.render())
            assert "ivo://gcn/SWIFT#1234" in text
            assert "follow-ups: 1 requested, 1 assigned, 0 completed, 0 failed" in text
            assert "palma-1m observes SWIFT-1234 r" in text

    run(scenario())


def test_command_palette_switches_views(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(80, 24)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("ctrl+p")
            await pilot.press(*"show queue")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: app.query_one("#views").active == "queue",
                        what="the Queue view")

    run(scenario())


def test_sky_view_plots_targets_pointings_and_moon_per_site(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            assert app.follower.sky_site is None      # not computed while not shown
            await pilot.press("6")
            title = app.query_one("#sky-title", Static)
            await until(pilot, lambda: "Cerro Pachón, Chile at 23:20 UTC" in str(title.render()),
                        what="the sky of the first site")
            sky = app.snapshot.sky
            assert sky.site == "cerro-pachon" and len(sky.targets) == 3
            assert [p[:2] for p in sky.pointings] == [("pachon-1m", "VAR-0042")]
            assert sky.moon is not None and 0 < sky.moon[2] < 0.2      # a thin crescent
            assert sky.horizon and sky.min_altitude == 20
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: "Roque de los Muchachos" in str(title.render()),
                        what="the next site")
            assert "Moon 11% lit at -12°" in str(title.render())
            await pilot.press("1")
            await until(pilot, lambda: app.follower.sky_site is None)

    run(scenario())


def test_trends_view_plots_each_quantity(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("7")
            title = app.query_one("#trend-title", Static)
            await until(pilot, lambda: str(title.render()).startswith("Seeing"))
            await pilot.press("z")
            await until(pilot, lambda: str(title.render()).startswith("Zero point (mag): meas"))
            await pilot.press("k")
            await until(pilot, lambda: str(title.render()).startswith("Sky brightness"))

    run(scenario())
