"""``openastro models list|show NAME``: the model registry as the log records it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from control_center.eventlog import DEFAULT_DB

__all__ = ["add_models_parser", "run_models"]


def add_models_parser(commands: Any) -> None:
    p = commands.add_parser("models", help="model versions, metrics and which is in force",
                            description="Show the model registry kept in the event log.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("list", "every model, its version in force and where it came from"),
                       ("show", "one model's versions, metrics, deployments and staleness")):
        q = actions.add_parser(name, help=text)
        if name == "show":
            q.add_argument("name")
        q.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                       help=f"log file or database URL (default: {DEFAULT_DB})")
        q.add_argument("--json", action="store_true", help="machine-readable output")
    q = actions.add_parser(
        "check", help="check the sites' recent frames for distribution shift",
        description="Fold the log's analysed frames per site and compare them, window by "
                    "window, with the training inputs of the models in force; record "
                    "ModelStale and RetrainingProposed where they drifted.")
    q.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log file or database URL (default: {DEFAULT_DB})")
    q.add_argument("--models-dir", metavar="DIR", help="the registry's model store")
    q.add_argument("--window", type=int, default=200, help="frames per site per comparison")
    p.set_defaults(func=run_models)


def _rows(name: str, entry: Any, model: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for s in entry.shipped if entry is not None else ():
        pm = s.promotion_metric
        rows.append({"version": s.version, "sha256": s.sha256, "status": "shipped",
                     "metric": pm["name"], "value": pm["value"], "reason": "",
                     "data": "shipped with the project"})
    for v in model.get("versions", {}).values():
        pm = v.get("promotion_metric") or {}
        data = v.get("training_data") or {}
        rows.append({"version": v["version"], "sha256": v["sha256"],
                     "status": v.get("status", "?"), "metric": pm.get("name", ""),
                     "value": pm.get("value"), "reason": v.get("reason", ""),
                     "data": ", ".join(f"{k}={data[k]}" for k in ("source", "seed", "quick",
                                                                   "frames", "rated_bad")
                                       if k in data)})
    in_force = model.get("in_force") or (entry.current.version if entry and entry.current
                                         else None)
    for r in rows:
        r["in_force"] = r["version"] == in_force and (r["status"] != "shipped"
                                                      or not model.get("in_force"))
    return rows


def run_models(args: argparse.Namespace, *, catalogue: Any = None) -> int:
    from control_center.eventlog import EventLog, LogError
    from control_center.model_registry.projection import ModelsInForce
    from control_center.projections.base import ProjectionStore
    from models.catalogue import Catalogue, CatalogueError

    catalogue = catalogue or Catalogue()
    if args.action == "check":
        return _check(args, catalogue)
    try:
        with EventLog.open(args.db, create=False) as log:
            state = ModelsInForce()
            ProjectionStore(log).catch_up(state, save=False)
    except LogError as exc:
        print(f"openastro: {exc}", file=sys.stderr)
        return 2
    names = sorted(set(catalogue.names()) | set(state.models))
    entries, problems = {}, {}
    for n in names:
        try:
            entries[n] = catalogue.get(n)
        except CatalogueError as exc:
            entries[n], problems[n] = None, str(exc)
    if args.action == "show":
        if args.name not in names:
            print(f"openastro: unknown model {args.name!r}; known: {', '.join(names)}",
                  file=sys.stderr)
            return 2
        names = [args.name]
    out = {}
    for n in names:
        model = state.models.get(n, {})
        out[n] = {"versions": _rows(n, entries[n], model),
                  "deployments": model.get("deployments", {}), "stale": model.get("stale", {}),
                  "problem": problems.get(n, "")}
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    for n, info in out.items():
        current = next((r for r in info["versions"] if r["in_force"]), None)
        head = f"{n}: in force {current['version']} ({current['status']})" if current \
            else f"{n}: no version in force"
        print(head + (f"  [metadata problem: {info['problem']}]" if info["problem"] else ""))
        if args.action == "list":
            continue
        for r in info["versions"]:
            mark = "*" if r["in_force"] else " "
            value = "-" if r["value"] is None else f"{r['value']:.4g}"
            print(f" {mark} {r['version']:<5} {r['status']:<9} {r['sha256'][:12]}  "
                  f"{r['metric']}={value}  {r['data']}  {r['reason']}".rstrip())
        for site, d in sorted(info["deployments"].items()):
            print(f"   site {site}: {d['version']} {'deployed' if d['ok'] else 'FAILED'} "
                  f"({d['message']})")
        for site, s in sorted(info["stale"].items()):
            print(f"   site {site}: STALE {s['statistic']} {s['value']:.3g} > "
                  f"{s['threshold']:.3g} on {s['feature']} ({s['n']} frames)")
    return 0


def _check(args: argparse.Namespace, catalogue: Any) -> int:
    from control_center.eventlog import EventLog, LogError
    from control_center.events.model import ModelStale
    from control_center.model_registry.shift import ShiftMonitor
    from control_center.model_registry.store import ModelStore, StoreError, default_store_dir

    try:
        store = ModelStore(args.models_dir or default_store_dir(args.db))
        with EventLog.open(args.db, create=False) as log:
            before = log.last_position()
            monitor = ShiftMonitor(log, store=store, catalogue=catalogue, window=args.window)
            watched = sorted(monitor.summaries())
            frames = monitor.catch_up()
            stale = [r.event for r in log.read(after=before, types=(ModelStale,))]
    except (LogError, StoreError, ValueError) as exc:
        print(f"openastro: {exc}", file=sys.stderr)
        return 2
    print(f"{frames} events checked against {', '.join(watched) or 'no model with an '}"
          f"{'' if watched else 'input_summary'}; {len(stale)} newly stale")
    for e in stale:
        print(f"  {e.name} {e.version} stale at {e.site}: PSI {e.value:.3f} > {e.threshold:g} "
              f"on {e.feature} ({e.n} frames)")
    return 0
