"""Snapshots of the console (pytest-textual-snapshot) at 80x24 and on a large terminal.

The log is written to a fixed path (the status line shows it) from fixed events;
the console's "now" is the log's newest simulated time, never the wall clock;
animations and the cursor's blinking are off: every run draws the same screens. After a deliberate
change, review the new pictures and accept them with ``--snapshot-update``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from logbuilder import demo_log
from textual.widgets import Input
from ui_helpers import caught_up, console, until

from control_center.ui.screens.explanation import ExplanationScreen
from control_center.ui.screens.override_dialog import OverrideDialog

SNAPSHOT_DIR = Path("/tmp/openastro-ui-snapshot")


@pytest.fixture
def fixed_db() -> str:
    shutil.rmtree(SNAPSHOT_DIR, ignore_errors=True)
    SNAPSHOT_DIR.mkdir(parents=True)
    db = SNAPSHOT_DIR / "night.db"
    demo_log(db)
    yield str(db)
    shutil.rmtree(SNAPSHOT_DIR, ignore_errors=True)


def shot(snap_compare, db: str, keys: tuple[str, ...] = (), size=(80, 24), wait=None) -> bool:
    app = console(db, observer="ana")

    async def run_before(pilot) -> None:
        await caught_up(pilot, app)
        for key in keys:
            await pilot.press(key)
        if wait is not None:
            await until(pilot, lambda: wait(app), what="the screen to draw")
        for field in app.screen.query(Input):   # a blinking cursor is not a regression
            field.cursor_blink = False
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


def test_network_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db)


def test_network_view_on_a_large_terminal(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, size=(160, 48))


def test_decisions_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("2",))


def newest_row_in_view(app) -> bool:
    """The Log view's table has scrolled its cursor (the newest event) into view (a
    table brought to the front scrolls once laid out: a refresh or two after the key)."""
    from control_center.ui.views.live_table import LiveTable

    table = app.view("log").query_one(LiveTable)
    return table.row_count > 0 and table.scroll_y > 0 and \
        table.cursor_row < table.scroll_y + table.size.height - 1


def test_log_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("3",), wait=newest_row_in_view)


def test_queue_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("4",), wait=lambda app: app.snapshot.feasibility)


def test_alerts_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("5", "up"))


def test_explanation_screen(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("2", "enter"), size=(100, 30),
                wait=lambda app: isinstance(app.screen, ExplanationScreen)
                and app.screen.text is not None)


def test_pause_dialog(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("tab", "p"),
                wait=lambda app: isinstance(app.screen, OverrideDialog))


def test_sky_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("6",), size=(100, 30),
                wait=lambda app: app.snapshot.sky is not None)


def test_trends_view(snap_compare, fixed_db) -> None:
    assert shot(snap_compare, fixed_db, ("7",), size=(100, 30))


def test_replay_at_a_fixed_position(snap_compare, fixed_db) -> None:
    from control_center.ui.replay_app import build_replay

    app = build_replay(fixed_db, observer="audit", poll_interval=0.05)
    app.animation_level = "none"

    def at(index: int):
        return lambda: app.snapshot is not None and app.snapshot.replay is not None \
            and app.snapshot.replay.index == index

    async def run_before(pilot) -> None:
        await until(pilot, at(1), timeout=30, what="the replay")
        app.follower.seek_index(20)         # the second assignment, 23:12
        app.wake_follower()
        await until(pilot, at(20), timeout=30, what="event 20")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
