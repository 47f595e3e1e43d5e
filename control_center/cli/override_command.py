"""``openastro override``: an observer's override, recorded in a running network's log.

The same functions the terminal UI calls (:mod:`control_center.overrides`). The
network is the one the log's latest night recorded (``--network`` otherwise);
the override's simulated time is the log's latest.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from control_center.eventlog import DEFAULT_DB, LogError

__all__ = ["add_override_parser"]


def add_override_parser(commands: Any) -> None:
    p = commands.add_parser(
        "override", help="pause, resume, veto, force, reprioritise, rate, acknowledge",
        description="Record an observer's override in the log of a running network; the "
                    "decision loop honours it at its next decision.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                       help=f"log file or database URL (default: {DEFAULT_DB})")
        q.add_argument("--observer", default=_default_observer(),
                       help="your name, recorded with the override (default: $USER)")
        q.add_argument("--network", metavar="FILE.toml",
                       help="network file, when the log has no night yet")
        q.add_argument("--reason", default="", help="why (shown in every explanation)")

    for name, text in (("pause", "pause a telescope or a whole site"),
                       ("resume", "resume a paused telescope or site")):
        q = actions.add_parser(name, help=text)
        where = q.add_mutually_exclusive_group(required=True)
        where.add_argument("--site")
        where.add_argument("--telescope")
        common(q)
    q = actions.add_parser("veto", help="veto a request (on one telescope or everywhere)")
    q.add_argument("request_id")
    q.add_argument("--telescope")
    common(q)
    q = actions.add_parser("force", help="force a queued request onto a telescope")
    q.add_argument("request_id")
    q.add_argument("--telescope", required=True)
    common(q)
    q = actions.add_parser("priority", help="change a request's priority (0-10)")
    q.add_argument("request_id")
    q.add_argument("priority", type=float)
    common(q)
    q = actions.add_parser("rate", help="rate an observation: good or bad science")
    q.add_argument("observation_id")
    q.add_argument("rating", choices=("good", "bad"))
    common(q)
    q = actions.add_parser("ack", help="acknowledge an alert")
    q.add_argument("alert_id")
    common(q)
    p.set_defaults(func=run_override)


def _default_observer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "observer"


def run_override(args: argparse.Namespace) -> int:
    from control_center import overrides
    from control_center.eventlog import EventLog
    from control_center.network import NetworkFileError

    try:
        with EventLog.open(args.db, create=False) as log:
            network, sim_time = _network_and_time(log, args.network)
            common = {"observer": args.observer, "sim_time": sim_time}
            action = args.action
            if action in ("pause", "resume"):
                event = getattr(overrides, action)(log, network, site=args.site,
                                                   telescope=args.telescope,
                                                   reason=args.reason, **common)
            elif action == "veto":
                event = overrides.veto(log, network, request_id=args.request_id,
                                       telescope=args.telescope, reason=args.reason, **common)
            elif action == "force":
                event = overrides.force(log, network, request_id=args.request_id,
                                        telescope=args.telescope, reason=args.reason, **common)
            elif action == "priority":
                event = overrides.set_priority(log, request_id=args.request_id,
                                               priority=args.priority, reason=args.reason,
                                               **common)
            elif action == "rate":
                event = overrides.rate(log, observation_id=args.observation_id,
                                       rating=args.rating, note=args.reason, **common)
            else:
                event = overrides.acknowledge_alert(log, alert_id=args.alert_id,
                                                    note=args.reason, **common)
    except (LogError, NetworkFileError, overrides.OverrideError) as exc:
        print(f"openastro: error: {exc}", file=sys.stderr)
        return 2
    print(f"recorded {event.type_name} by {args.observer}")
    return 0


def _network_and_time(log, network_file: str | None):
    """The network of the log's latest night (else the file) and the log's latest time."""
    from control_center.clock import RealClock
    from control_center.events import NightStarted
    from control_center.network import load_network, network_from_dict

    network = None
    for recorded in log.read_reverse(types=[NightStarted], limit=1):
        if recorded.event.network:
            network = network_from_dict(recorded.event.network, recorded.event.network_source)
    if network is None or network_file:
        network = load_network(network_file)
    latest = next(iter(log.read_reverse(limit=1)), None)
    return network, latest.sim_time if latest is not None else RealClock().now()
