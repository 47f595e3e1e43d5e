"""Helpers of the console's Pilot tests: wait for the console, build it without animations."""

from __future__ import annotations

import asyncio

from control_center.eventlog import EventLog


def last_position(db: str) -> int:
    with EventLog.open(db, create=False) as log:
        return log.last_position()


async def caught_up(pilot, app, position: int | None = None, timeout: float = 10.0) -> None:
    """Wait until the console has folded the log up to ``position`` (default: its end)
    and redrawn."""
    target = last_position(app.follower.url) if position is None else position
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while app.snapshot is None or app.snapshot.position < target:
        if loop.time() > deadline:
            got = None if app.snapshot is None else app.snapshot.position
            raise AssertionError(f"the console did not reach #{target} (at #{got}); "
                                 f"problem: {app.log_problem}")
        await pilot.pause(0.02)
    await pilot.pause()


async def until(pilot, predicate, timeout: float = 5.0, what: str = "condition") -> None:
    """Wait until ``predicate()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def console(db: str, *, observer: str = "ana", **kwargs):
    """The console on ``db``, without animations (tests wait for nothing that slides)."""
    from control_center.ui import build_console

    app = build_console(db, observer=observer, **kwargs)
    app.animation_level = "none"
    return app
