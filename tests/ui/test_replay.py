"""Replay for auditors: a recorded night played back from the log alone.

The model's tests compare the replay at a position with the live folds fed
the same records; the Pilot tests drive the keys an auditor uses.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from logbuilder import START
from textual.widgets import Input
from ui_helpers import until

from control_center.eventlog import EventLog
from control_center.ui.model import ConsoleState
from control_center.ui.model.replay import ReplayFollower, parse_jump_time
from control_center.ui.replay_app import ReplayConsole, build_replay
from control_center.ui.screens.jump_dialog import JumpDialog
from control_center.ui.views.live_table import LiveTable

TOTAL = 35
"""Events of the test night (``logbuilder.demo_log``)."""


def loaded(db: str, **kwargs) -> ReplayFollower:
    follower = ReplayFollower(db, **kwargs)
    for _ in range(20):
        follower.poll()
        if not follower.status.loading:
            return follower
    raise AssertionError("the replay did not finish indexing")


def live_view(db: str, position: int):
    """What the live console's folds hold after the log's first ``position`` events."""
    state = ConsoleState(db)
    with EventLog.open(db, create=False) as log:
        state.fold(list(log.read(after=0, limit=position)))
    return state.snapshot()


def same_view(a, b) -> None:
    assert a.position == b.position and a.sim_time == b.sim_time
    for part in ("sites", "decisions", "tail", "requests", "alerts", "trends", "night"):
        assert getattr(a, part) == getattr(b, part), part


# -- the model --------------------------------------------------------------------------------

def test_the_replay_opens_paused_on_the_nights_first_event(demo_db) -> None:
    db, _ = demo_db
    f = loaded(db)
    status = f.status
    assert (status.index, status.total, status.position, status.playing) == (1, TOTAL, 1, False)
    assert status.clock == START
    assert f.snapshot().night is not None and f.snapshot().replay == status


def test_each_position_shows_what_the_live_folds_showed_there_forward_and_back(demo_db
                                                                               ) -> None:
    db, _ = demo_db
    f = loaded(db, spacing=8)              # cached folds every 8 events
    for index in (12, 20, TOTAL, 19, 7, 3, 26, 25):
        f.seek_index(index)
        f.poll()
        assert f.status.index == index
        same_view(f.snapshot(), live_view(db, index))
    assert set(f._checkpoints) == {8, 16, 24, 32}


def test_stepping_moves_one_event_and_stops_at_the_ends(demo_db) -> None:
    db, _ = demo_db
    f = loaded(db)
    f.step(-1)
    f.poll()
    assert f.status.index == 0 and f.snapshot().position == 0
    for _ in range(3):
        f.step(+1)
    f.poll()
    assert f.status.index == 3
    f.seek_index(10_000)
    f.poll()
    assert f.status.index == TOTAL and f.status.at_end


def test_playing_advances_by_simulated_time_at_the_chosen_speed(demo_db) -> None:
    db, _ = demo_db
    f = loaded(db, tick_s=0.1)
    f.faster()
    f.faster()                              # 100x -> 10000x: 1000 s of night per tick
    assert f.status.speed == "10000x"
    assert f.toggle_play()
    f.poll()                                # 23:00:00 -> 23:16:40
    assert f.status.clock == datetime(2026, 3, 21, 23, 16, 40, tzinfo=UTC)
    assert f.status.index == 34             # everything up to the rejected notice at 23:16
    f.poll()                                # past the end: the replay stops there
    assert f.status.index == TOTAL and not f.status.playing


def test_events_per_second_mode_advances_that_many_events_per_tick(demo_db) -> None:
    db, _ = demo_db
    f = loaded(db, tick_s=0.5)
    assert f.toggle_mode() == "10 ev/s"
    f.toggle_play()
    f.poll()
    assert f.status.index == 6              # 1 + 10 ev/s x 0.5 s
    f.poll()
    assert f.status.index == 11


def test_jumps_to_a_time_and_to_a_decision(demo_db) -> None:
    db, ids = demo_db
    f = loaded(db)
    assert f.seek_time(datetime(2026, 3, 21, 23, 12, tzinfo=UTC)) == 20   # the 23:12 batch
    f.poll()
    assert f.snapshot().sim_time.minute == 12
    decision = ids["decisions"][1]
    assert f.seek_decision(decision[:8].upper()) == decision
    f.poll()
    assert f.status.index == 20             # its outcome and the assignment it made
    assert f.snapshot().decisions[-1].decision_id == decision
    assert f.seek_decision("ffffffff") is None
    shared = next(c for c in "0123456789abcdef"
                  if sum(d.startswith(c) for d in ids["decisions"]) > 1)
    with pytest.raises(LookupError, match="give more of the id"):
        f.seek_decision(shared)


def test_jump_times_are_read_within_the_night() -> None:
    start, end = datetime(2026, 3, 21, 22, 0, tzinfo=UTC), datetime(2026, 3, 22, 6, tzinfo=UTC)
    assert parse_jump_time("23:30", start, end) == datetime(2026, 3, 21, 23, 30, tzinfo=UTC)
    assert parse_jump_time("02:10:05", start, end) == datetime(2026, 3, 22, 2, 10, 5,
                                                               tzinfo=UTC)
    assert parse_jump_time("2026-03-22T01:00", start, end).hour == 1
    for bad, problem in (("12:00", "not within the night"), ("25:00", "not a time"),
                         ("soon", "not a time"), ("", "give a time")):
        with pytest.raises(ValueError, match=problem):
            parse_jump_time(bad, start, end)


# -- the console -------------------------------------------------------------------------------

def replay_console(db: str) -> ReplayConsole:
    app = build_replay(db, observer="audit", poll_interval=0.05)
    app.animation_level = "none"
    return app


async def at_index(pilot, app, index: int) -> None:
    await until(pilot, lambda: app.snapshot is not None and app.snapshot.replay is not None
                and app.snapshot.replay.index == index and not app.snapshot.replay.loading,
                timeout=30, what=f"the replay at event {index}")
    await pilot.pause()


def status_text(app) -> str:
    return str(app.query_one("#status").render())


def test_stepping_shows_the_state_at_that_event(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = replay_console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await at_index(pilot, app, 1)
            assert "REPLAY" in status_text(app) and "event 1/35" in status_text(app)
            for _ in range(11):
                await pilot.press("full_stop")
            await at_index(pilot, app, 12)  # the first assignment: pachon-1m on NGC1234
            scopes = app.view("network").query_one("#telescopes", LiveTable)
            assert "NGC1234 g" in str(scopes.get_row("pachon-1m"))
            assert "event 12/35" in status_text(app) and "23:01:00" in status_text(app)
            await pilot.press("full_stop", "full_stop")
            await at_index(pilot, app, 14)  # ...completed
            assert "completed NGC1234" in str(scopes.get_row("pachon-1m"))
            await pilot.press("comma", "comma")
            await at_index(pilot, app, 12)  # and back
            assert "completed" not in str(scopes.get_row("pachon-1m"))

    asyncio.run(scenario())


def test_jumping_to_a_decision_selects_it_in_the_decisions_view(demo_db) -> None:
    db, ids = demo_db
    decision = ids["decisions"][2]          # la-palma: no feasible candidate

    async def scenario() -> None:
        app = replay_console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await at_index(pilot, app, 1)
            await pilot.press("j")
            await until(pilot, lambda: isinstance(app.screen, JumpDialog), timeout=15, what="the dialog")
            app.screen.query_one(Input).value = decision[:10]
            await pilot.press("enter")
            await at_index(pilot, app, 25)
            table = app.view("decisions").query_one(LiveTable)
            await until(pilot, lambda: table.selected_key == decision, timeout=15, what="the selection")
            assert app.query_one("#views").active == "decisions"
            assert "no assignment" in str(table.get_row(decision))
            await pilot.press("enter")      # and it explains, as live
            from control_center.ui.screens.explanation import ExplanationScreen
            await until(pilot, lambda: isinstance(app.screen, ExplanationScreen),
                        timeout=30, what="the explanation")

    asyncio.run(scenario())


def test_jump_to_a_time_speed_and_play_to_the_end(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = replay_console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await at_index(pilot, app, 1)
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, JumpDialog), timeout=15, what="the dialog")
            await pilot.press(*"23:14", "enter")
            await at_index(pilot, app, 27)  # the alert and its follow-up request
            assert "23:14:00" in status_text(app)
            await pilot.press("t", *"noon", "enter")
            await until(pilot, lambda: any("not a time" in n.message
                                           for n in app._notifications), timeout=15, what="a notice")
            await pilot.press("plus", "plus")
            await until(pilot, lambda: "10000x" in status_text(app), timeout=15, what="the speed")
            await pilot.press("space")
            await at_index(pilot, app, 35)
            assert "end of the night" in status_text(app) and "paused" in status_text(app)

    asyncio.run(scenario())


def test_overrides_are_refused_in_a_replay_and_nothing_is_recorded(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = replay_console(db)
        async with app.run_test(size=(100, 30)) as pilot:
            await at_index(pilot, app, 1)
            await pilot.press("full_stop")
            await pilot.press("tab", "p")
            await until(pilot, lambda: any("read-only" in n.message
                                           for n in app._notifications), timeout=15, what="the notice")
            assert not isinstance(app.screen, JumpDialog) and len(app.screen_stack) == 1

    asyncio.run(scenario())
    with EventLog.open(db, create=False) as log:
        assert log.last_position() == TOTAL


def test_the_command_takes_replay(demo_db, monkeypatch) -> None:
    import argparse

    from control_center.cli import ui_command

    seen = {}
    monkeypatch.setattr("control_center.ui.run_console",
                        lambda db, **kw: seen.update(db=db, **kw) or 0)
    monkeypatch.setattr(ui_command.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(ui_command.sys.stdout, "isatty", lambda: True, raising=False)
    parser = argparse.ArgumentParser(prog="openastro")
    ui_command.add_ui_parser(parser.add_subparsers())
    args = parser.parse_args(["ui", "--db", demo_db[0], "--replay"])
    assert args.func(args) == 0 and seen["replay"] is True
