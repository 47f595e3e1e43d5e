"""``openastro alert FILE...``: record alert notices (VOEvent 2.0, GCN JSON) in the log.

One line per file: accepted (with the alert id, kind and tiles), updated (a
new revision of an alert already recorded), retracted, duplicate (already
recorded: nothing appended) or rejected (with the reason). Exit code 1 when
any file was rejected, 2 when the log or the network file cannot be used
(one line naming the problem, as every command does).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from control_center.eventlog import DEFAULT_DB

__all__ = ["add_alert_parser", "format_outcome", "run_alert"]

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


def add_alert_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``alert`` command to ``commands`` (argparse subparsers); sets ``func``."""
    p = commands.add_parser(
        "alert", help="record alert notices (VOEvent, GCN JSON) in the log",
        description="Parse alert notices (VOEvent 2.0 XML, GCN Kafka JSON), tile their "
                    "localisations into the network's fields, check they are observable, and "
                    "record them in the log for the alert responder.")
    p.add_argument("files", nargs="+", metavar="FILE", help="notice files")
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log: SQLite file or SQLAlchemy URL (default {DEFAULT_DB})")
    p.add_argument("--network", metavar="FILE.toml",
                   help="network description (default: the shipped three-site network)")
    p.add_argument("--time", metavar="ISO",
                   help="when the notices were received (default: now); observability is "
                        "checked for the 24 h after it")
    p.add_argument("--max-tiles", type=int, default=50, metavar="N",
                   help="most tiles recorded per alert (default 50)")
    p.set_defaults(func=run_alert)
    return p


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def format_outcome(name: str, outcome) -> str:
    """One line for one notice."""
    event = outcome.event
    if outcome.status == "rejected":
        return f"rejected   {name}: {event.reason}"
    if outcome.status == "retracted":
        return f"retracted  {name}: {event.alert_id} withdraws {', '.join(event.retracts)}"
    if outcome.status == "duplicate":
        return f"duplicate  {name}: {event.alert_id} already recorded (nothing appended)"
    where = (f"{len(event.tiles)} tiles ({100 * (event.tiles_probability or 0):.1f} %)"
             if event.tiles else
             f"ra {event.ra_deg:.4f} dec {event.dec_deg:+.4f} err {event.error_deg or 0:.4f} deg")
    flag = "" if event.observable else "  NOT OBSERVABLE"
    label = "accepted " if outcome.status == "accepted" else "updated  "
    return (f"{label}  {name}: {event.alert_id} kind={event.kind} role={event.role} "
            f"rev={event.revision} priority={event.priority:g} {where}{flag}")


def run_alert(args: argparse.Namespace) -> int:
    """``openastro alert``: ingest each file, print one line each."""
    from control_center.alerts import ingest_outcome
    from control_center.clock import RealClock
    from control_center.eventlog import EventLog, LogError
    from control_center.network import NetworkFileError, load_network

    clock = RealClock()
    if args.time is None:
        received = clock.now()
    else:
        try:
            received = datetime.fromisoformat(args.time)
        except ValueError:
            return _fail(f"--time {args.time!r} is not an ISO date-time")
        received = received.replace(tzinfo=UTC) if received.tzinfo is None \
            else received.astimezone(UTC)
    if args.max_tiles < 1:
        return _fail(f"--max-tiles must be at least 1, got {args.max_tiles}")
    try:
        network = load_network(args.network)
    except NetworkFileError as exc:
        return _fail(str(exc))
    rejected = 0
    try:
        with EventLog.open(args.db, clock=clock, create=True) as log:
            for name in args.files:
                outcome = ingest_outcome(log, Path(name), network=network, sim_time=received,
                                         source=name, max_tiles=args.max_tiles)
                rejected += outcome.status == "rejected"
                print(format_outcome(name, outcome), flush=True)
    except LogError as exc:
        return _fail(str(exc))
    return EXIT_REJECTED if rejected else EXIT_OK
