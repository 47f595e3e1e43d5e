"""``openastro ui``: the observer's console on the log of a running control center.

The console reads only the log, so it attaches to any control center's log
(a SQLite file or a PostgreSQL URL), several observers at once. Textual is
imported only when the command runs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from control_center.eventlog import DEFAULT_DB

__all__ = ["add_ui_parser", "default_observer", "run_ui"]

EXIT_ERROR = 2


def add_ui_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``ui`` command to ``commands`` (the subparsers of ``openastro``)."""
    p = commands.add_parser(
        "ui", help="the observer's console: a terminal UI over a running network's log",
        description="Open the observer's console on an event log: the network, decisions, "
                    "log, queue and alerts, live; overrides are recorded in the log with the "
                    "observer's name; --replay plays a recorded night back.")
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log: SQLite file or SQLAlchemy URL (default {DEFAULT_DB})")
    p.add_argument("--observer", metavar="NAME", default=None,
                   help="your name, recorded with each override (default: $USER)")
    p.add_argument("--poll", type=float, default=0.1, metavar="SECONDS",
                   help="how often to read new events (default 0.1)")
    p.add_argument("--replay", action="store_true",
                   help="play the log's last night back from the log alone (read-only): "
                        "space plays/pauses, . and , step, + and - change the speed, "
                        "t jumps to a time, j to a decision")
    p.set_defaults(func=run_ui)
    return p


def default_observer() -> str:
    """``$USER``, else the login name, else ``observer``."""
    name = os.environ.get("USER", "").strip()
    if not name:
        try:
            name = getpass.getuser().strip()
        except (OSError, KeyError):
            name = ""
    return name or "observer"


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def run_ui(args: argparse.Namespace) -> int:
    """Check the log and the terminal, then run the console until the observer quits."""
    from control_center.eventlog import EventLog, LogError

    observer = (args.observer if args.observer is not None else default_observer()).strip()
    if not observer or any(c.isspace() for c in observer):
        return _fail(f"--observer must be one word, got {observer!r}")
    if not 0.01 <= args.poll <= 10:
        return _fail(f"--poll must be in [0.01, 10] seconds, got {args.poll}")
    try:
        EventLog.open(args.db, create=False).close()
    except LogError as exc:
        return _fail(str(exc))
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _fail("openastro ui needs an interactive terminal "
                     "(for a plain stream of events use: openastro log tail --follow)")
    from control_center.ui import run_console

    return run_console(args.db, observer=observer, poll_interval=args.poll,
                       replay=getattr(args, "replay", False))
