"""The observer's console: a Textual terminal UI over the event log of a running network.

It reads only the event log, so it attaches to any control center's log
(``openastro ui --db URL``), several observers at once. Nothing in the core
imports this package; the CLI imports it lazily.

Public names (imported lazily, Textual only when used):

- :func:`run_console`: open the console on a log and return when the observer quits;
- :func:`build_console`: the app itself (for tests and embedding);
- ``control_center.ui.replay_app.build_replay``: the auditor's replay of a recorded night.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from control_center.ui.app import ObserverConsole

__all__ = ["build_console", "run_console"]


def build_console(db: str, *, observer: str, **kwargs: Any) -> ObserverConsole:
    """The console app on the log at ``db`` (see :func:`control_center.ui.app.build_console`)."""
    from control_center.ui.app import build_console as build

    return build(db, observer=observer, **kwargs)


def run_console(db: str, *, observer: str, poll_interval: float | None = None,
                background: Callable[[], Any] | None = None, replay: bool = False) -> int:
    """Run the console on the log at ``db`` until the observer quits; returns 0.

    Parameters
    ----------
    db : str
        The log (a SQLite path or a database URL). It may not exist yet: the
        console says so and keeps trying (the demo opens it before the night
        writes its first event).
    observer : str
        The observer's name, recorded with each override.
    poll_interval : float, optional
        Seconds between reads of the log (default 0.1).
    background : callable, optional
        Run in a daemon thread while the console is open, e.g. the demo's
        ``NightRun.run``; the console shows when it ends or fails. Quitting the
        console does not wait for it.
    replay : bool
        Play the log's last night back instead of following it (read-only;
        :mod:`control_center.ui.replay_app`).
    """
    from control_center.ui.app import DEFAULT_POLL_INTERVAL_S
    from control_center.ui.app import build_console as build

    interval = DEFAULT_POLL_INTERVAL_S if poll_interval is None else poll_interval
    if replay:
        from control_center.ui.replay_app import build_replay

        app = build_replay(db, observer=observer, poll_interval=interval)
    else:
        app = build(db, observer=observer, background=background, poll_interval=interval)
    app.run()
    return 0
