"""``openastro explain`` and ``openastro replay``: decisions for auditors.

Both open the log read-only (``create=False``); a missing or damaged log is a
one-line error with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from control_center.eventlog import DEFAULT_DB, LogError

__all__ = ["add_explain_parser", "add_replay_parser"]

EXIT_OK, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def add_explain_parser(commands: Any) -> None:
    p = commands.add_parser(
        "explain", help="explain one decision from the log",
        description="Print what a decision saw and did: its trigger, the state, every "
                    "candidate with score and uncertainty, the rejections grouped by "
                    "constraint, the choice, plugin and model versions, overrides in force.")
    p.add_argument("decision", metavar="DECISION_ID", help="decision id (or a unique prefix)")
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log file or database URL (default: {DEFAULT_DB})")
    p.add_argument("--all", action="store_true", help="list every scored candidate")
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    p.set_defaults(func=run_explain)


def add_replay_parser(commands: Any) -> None:
    p = commands.add_parser(
        "replay", help="re-run every decision in a log and compare",
        description="Re-run every decision of the log from its recorded inputs with the "
                    "installed plugins; report each decision that comes out differently.")
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log file or database URL (default: {DEFAULT_DB})")
    p.add_argument("--verify", action="store_true",
                   help="exit 1 if any decision differs (the check auditors run)")
    p.add_argument("--max-report", type=int, default=20, metavar="N",
                   help="print at most N differing decisions (default 20)")
    p.set_defaults(func=run_replay)


def _error(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def run_explain(args: argparse.Namespace) -> int:
    from control_center.audit import DecisionNotFound, explain_decision, format_explanation
    from control_center.eventlog import EventLog

    try:
        with EventLog.open(args.db, create=False) as log:
            explanation = explain_decision(log, args.decision)
    except (LogError, DecisionNotFound) as exc:
        return _error(str(exc))
    if args.json:
        print(json.dumps(explanation.to_dict(), indent=2, default=str))
    else:
        print(format_explanation(explanation, top=0 if args.all else 15))
    return EXIT_OK


def run_replay(args: argparse.Namespace) -> int:
    from control_center.audit import replay_log
    from control_center.eventlog import EventLog

    try:
        with EventLog.open(args.db, create=False) as log:
            report = replay_log(log)
    except LogError as exc:
        return _error(str(exc))
    for note in report.skipped:
        print(f"skipped: {note}")
    for mismatch in report.mismatches[:args.max_report]:
        print(mismatch)
    hidden = len(report.mismatches) - args.max_report
    if hidden > 0:
        print(f"... and {hidden} more")
    verdict = ("every decision came out the same" if report.ok else
               f"{len(report.mismatches)} decision(s) came out differently")
    print(f"replayed {report.decisions} decisions of {report.nights} night(s): {verdict}")
    if args.verify and (not report.ok or report.decisions == 0):
        if report.decisions == 0:
            print("nothing was replayed", file=sys.stderr)
        return EXIT_DIFFERENT
    return EXIT_OK
