"""``openastro log``: look into the event log (tail, stats, verify).

Every subcommand opens the log with ``create=False``: a missing or damaged
log is reported on one line (``openastro: error: ...``, exit code 2) and
never created or modified.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from control_center.eventlog import DEFAULT_DB, LogError
from control_center.events.summary import payload_summary

if TYPE_CHECKING:
    from control_center.eventlog import EventLog, Recorded

__all__ = ["add_log_parser", "format_line", "run_stats", "run_tail", "run_verify"]

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def add_log_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``log`` command and its subcommands to ``subparsers``.

    Each subcommand sets ``func``, which takes the parsed arguments and returns
    the exit code.
    """
    log = subparsers.add_parser(
        "log", help="inspect the event log (tail, stats, verify)",
        description="Inspect the event log: the source of truth of everything that happened.")
    commands = log.add_subparsers(dest="log_command", metavar="SUBCOMMAND", required=True)

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                       help=f"log file or database URL (default: {DEFAULT_DB})")

    tail = commands.add_parser("tail", help="show the latest events, one per line",
                               description="Show the latest events, one line each.")
    db_option(tail)
    tail.add_argument("-n", "--lines", type=int, default=20, metavar="N",
                      help="how many events (default: 20)")
    tail.add_argument("--type", action="append", dest="types", metavar="T",
                      help="only events of this type (class name; repeatable)")
    tail.add_argument("--actor", metavar="A",
                      help="only events by this actor (e.g. 'site:la-palma', or a kind: 'site')")
    tail.add_argument("-f", "--follow", action="store_true",
                      help="keep printing new events as they are appended")
    tail.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    tail.add_argument("--follow-for", type=float, default=None, help=argparse.SUPPRESS)
    tail.set_defaults(func=run_tail)

    stats = commands.add_parser("stats", help="count events per type and actor",
                                description="Count the events per type and per actor.")
    db_option(stats)
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    stats.set_defaults(func=run_stats)

    verify = commands.add_parser(
        "verify", help="check the hash chain (edits, deletions, reordering)",
        description="Check the log's hash chain: exit 0 when intact, 1 naming the first bad "
                    "record otherwise.")
    db_option(verify)
    verify.add_argument("--expect-head", metavar="HASH",
                        help="a head hash kept elsewhere: fail unless it is still in the chain")
    verify.set_defaults(func=run_verify)
    return log


# -- helpers ----------------------------------------------------------------------------


def _error(exc: BaseException) -> int:
    print(f"openastro: error: {exc}", file=sys.stderr)
    return EXIT_ERROR


def _open(db: str) -> EventLog:
    from control_center.eventlog import EventLog

    return EventLog.open(db, create=False)


def format_line(recorded: Recorded, width: int | None = None) -> str:
    """One line of ``log tail``: position, sim time, type, actor, payload summary."""
    event = recorded.event
    sim = recorded.sim_time
    when = sim.strftime("%Y-%m-%d %H:%M:%S") if isinstance(sim, datetime) else "?"
    summary = payload_summary(event.payload())
    line = f"{recorded.position:>7}  {when}  {recorded.type_name:<22}  {recorded.actor:<18}  " \
           f"{summary}"
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 40)] + "…"
    return line.rstrip()


def _actor_matches(actor: str, wanted: str | None) -> bool:
    return wanted is None or actor == wanted or actor.startswith(wanted + ":")


def _latest(log: EventLog, n: int, types: list[str] | None,
            actor: str | None) -> list[Recorded]:
    picked: list[Recorded] = []
    if n <= 0:
        return picked
    for recorded in log.read_reverse(type_names=types):
        if _actor_matches(recorded.actor, actor):
            picked.append(recorded)
            if len(picked) >= n:
                break
    picked.reverse()
    return picked


def _follow(log: EventLog, after: int, args: argparse.Namespace) -> Iterator[Recorded]:
    from control_center.clock import RealClock

    clock = RealClock()
    deadline = None if args.follow_for is None else clock.monotonic() + args.follow_for
    while deadline is None or clock.monotonic() < deadline:
        for recorded in log.read(after=after, type_names=args.types):
            after = recorded.position
            if _actor_matches(recorded.actor, args.actor):
                yield recorded
        time.sleep(max(args.interval, 0.01))


# -- subcommands ------------------------------------------------------------------------


def run_tail(args: argparse.Namespace) -> int:
    """``openastro log tail``: the latest events, optionally following new ones."""
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else None
    try:
        with _open(args.db) as log:
            last = log.last_position()
            for recorded in _latest(log, args.lines, args.types, args.actor):
                print(format_line(recorded, width))
            if args.follow:
                sys.stdout.flush()
                for recorded in _follow(log, last, args):
                    print(format_line(recorded, width), flush=True)
    except LogError as e:
        return _error(e)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        sys.stdout = None  # type: ignore[assignment]  # silence the flush at exit
        return EXIT_OK
    return EXIT_OK


def _stats(log: EventLog) -> Any:
    from control_center.projections.base import ProjectionStore
    from control_center.projections.log_stats import LogStats

    store = ProjectionStore(log)
    stats = LogStats()
    try:
        store.load(stats)
    except LogError:
        stats = LogStats()
    for recorded in log.read(after=stats.position):
        stats.apply(recorded)
    try:
        store.save(stats)
    except LogError:
        pass  # a read-only log: the counts are still right, just not kept
    return stats


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else "-"


def run_stats(args: argparse.Namespace) -> int:
    """``openastro log stats``: counts per type and per actor, and the log's span."""
    try:
        with _open(args.db) as log:
            stats = _stats(log)
            url = log.url
    except LogError as e:
        return _error(e)
    if args.json:
        print(json.dumps({"log": url, **stats.to_state()}, indent=2))
        return EXIT_OK
    print(f"event log   {url}")
    if not stats.events:
        print("events      0")
        return EXIT_OK
    print(f"events      {stats.events:,} (positions {stats.first_position:,}"
          f"–{stats.last_position:,})")
    print(f"sim time    {_fmt_time(stats.first_sim_time)} → {_fmt_time(stats.last_sim_time)}")
    print(f"wall time   {_fmt_time(stats.first_wall_time)} → {_fmt_time(stats.last_wall_time)}")
    for title, counts in (("by type", stats.by_type()), ("by actor kind", stats.by_actor_kind()),
                          ("by actor", dict(sorted(stats.by_actor.items())))):
        print(f"\n{title}:")
        for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key:<32} {n:>10,}")
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """``openastro log verify``: exit 0 if the hash chain is intact, 1 if not."""
    show = sys.stderr.isatty()

    def progress(n: int) -> None:
        print(f"\rverified {n:,} records…", end="", file=sys.stderr, flush=True)

    try:
        with _open(args.db) as log:
            report = log.verify(progress if show else None, expect_head=args.expect_head)
            url = log.url
    except LogError as e:
        return _error(e)
    if show:
        print("\r\033[K", end="", file=sys.stderr)
    if report.ok:
        print(f"ok: {url}: {report.records:,} records, head {report.head_hash}")
        return EXIT_OK
    print(f"FAILED: {url}: {report.problem} ({report.records:,} records verified before it)")
    return EXIT_FAILED
