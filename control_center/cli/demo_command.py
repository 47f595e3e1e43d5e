"""``openastro demo``: a simulated night of the network, then its report."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from control_center.eventlog import DEFAULT_DB

DEFAULT_START = "2026-03-21T18:00:00+00:00"


def add_demo_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="simulate a night of the network and print its report",
                            description="Run a simulated night of a multi-site network on the "
                                        "embedded log and print the night report.")
    p.add_argument("--network", metavar="FILE.toml", help="network description "
                   "(default: the shipped three-site network)")
    p.add_argument("--seed", type=int, default=1, help="seed of weather, programmes and "
                   "decisions (default 1)")
    p.add_argument("--hours", type=float, default=10.0, help="length of the night (default 10)")
    p.add_argument("--start", default=DEFAULT_START, help=f"UTC start (default {DEFAULT_START})")
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log: SQLite file or SQLAlchemy URL (default {DEFAULT_DB})")
    p.add_argument("--policy", default="greedy", help="policy plugin (default greedy)")
    p.add_argument("--scorer", default="value-formula", help="scorer plugin")
    p.add_argument("--in-process", action="store_true",
                   help="simulate the sites inside this process instead of starting one "
                        "site-node process per site (no frames, no edge inference)")
    p.add_argument("--frame-size", type=int, default=256, metavar="PIXELS",
                   help="side of the frames the simulated cameras render (default 256)")
    p.add_argument("--alerts", metavar="DIR",
                   help="watch DIR for VOEvent / GCN notices and act on each as it appears")
    p.add_argument("--no-simulated-alerts", action="store_true",
                   help="leave out the simulated alert stream (GRBs, gravitational waves)")
    p.add_argument("--models-dir", metavar="DIR",
                   help="model registry store: promoted models are pushed to the site nodes "
                        "from here (default: models/ next to a SQLite log)")
    p.add_argument("--headless", action="store_true", help="no terminal UI; print the report")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run_demo)


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return 2


def run_demo(args: argparse.Namespace) -> int:
    from control_center.eventlog import EventLog, LogError
    from control_center.network import NetworkFileError, load_network
    from control_center.plugin_api import Settings
    from control_center.plugin_host import PluginError, PluginHost
    from control_center.projections.night_report import NightReport

    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        return _fail(f"--start {args.start!r} is not an ISO date-time")
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    if not 0 < args.hours <= 24:
        return _fail(f"--hours must be in (0, 24], got {args.hours}")
    try:
        network = load_network(args.network)
    except NetworkFileError as exc:
        return _fail(str(exc))
    settings = Settings(policy=args.policy, scorer=args.scorer, seed=args.seed)
    try:
        host = PluginHost.load(settings, network)
    except PluginError as exc:
        return _fail(str(exc))
    try:
        # A simulated night can be run again from its seed: commits skip the fsync that a
        # live control center pays (an OS crash would lose only the last moments).
        log = EventLog.open(args.db, durable=False)
    except LogError as exc:
        return _fail(str(exc))

    from control_center.alerts import AlertFolder, AlertFolderError
    from control_center.night import NightRun
    from simulator import demo_requests
    from simulator.alerts import alert_stream

    if not 64 <= args.frame_size <= 4096:
        return _fail(f"--frame-size must be in [64, 4096], got {args.frame_size}")
    wall = time.perf_counter()
    end = start + timedelta(hours=args.hours)
    alerts = [] if args.no_simulated_alerts else [
        (a.when, a.payload, a.filename) for a in alert_stream(args.seed, start, end, network)]
    folder = None
    if args.alerts:
        try:
            folder = AlertFolder(args.alerts)
        except AlertFolderError as exc:
            return _fail(str(exc))
    links: dict = {}
    with log, ExitStack() as stack:
        run = NightRun(network, log, host, settings, links,
                       demo_requests(args.seed, network, n_science=200, n_survey=150,
                                     campaign_night=start),
                       start=start, hours=args.hours, seed=args.seed, alerts=alerts,
                       alert_folder=folder)
        try:
            links.update(_in_process_links(network, args.seed, start, end) if args.in_process
                         else _site_node_links(stack, run, network, args, start, end))
        except (OSError, RuntimeError, TimeoutError) as exc:
            return _fail(f"cannot start the site nodes: {exc}")
        gc.freeze()   # the set-up's objects live all night: keep them out of collections
        if args.headless or args.json or not (sys.stdin.isatty() and sys.stdout.isatty()):
            night = run.run()
        else:
            night = _night_in_console(run, args.db)
            if night is None:
                return 1   # the night failed (the console showed why); the log keeps it all
        report = NightReport()
        for recorded in log.read():
            report.apply(recorded)
        figures = report.report(str(night))
        figures["events"] = log.last_position()
    figures["wall_seconds"] = round(time.perf_counter() - wall, 2)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(format_report(figures, log_url=args.db))
    return 0


def _night_in_console(run, db: str):
    """Run the night in a background thread under the observer's console.

    When the observer quits before dawn the night is stopped (its end is
    recorded as interrupted) and waited for before the sites are closed.
    Returns the night id.
    """
    import threading

    from control_center.cli.ui_command import default_observer
    from control_center.ui import run_console

    started, finished, result = threading.Event(), threading.Event(), {}

    def night() -> None:
        started.set()
        try:
            result["night"] = run.run()
        finally:
            finished.set()

    run_console(db, observer=default_observer(), background=night)
    run.stop()
    if started.is_set():
        finished.wait()
    return result.get("night")


def _in_process_links(network, seed: int, start: datetime, end: datetime) -> dict:
    from control_center.sites.local import InProcessSiteLink
    from simulator import SimulatedNetwork

    simulated = SimulatedNetwork(network, seed, start, end)
    return {name: InProcessSiteLink(site) for name, site in simulated.links().items()}


def _site_node_links(stack: ExitStack, run, network, args, start: datetime,
                     end: datetime) -> dict:
    """Start one site-node process per site (TLS, a token each) and link to it."""
    from control_center.sites.link import GrpcSiteLink
    from control_center.sites.processes import LocalSiteNodes

    nodes = stack.enter_context(LocalSiteNodes(
        [s.name for s in network.sites], seed=args.seed, network=args.network,
        frame_shape=(args.frame_size, args.frame_size), durable=False))
    links = {}
    for site in network.sites:
        address = nodes.addresses[site.name]
        client = nodes.client(site.name,
                              on_health_change=run.health_listener(site.name, address))
        stack.callback(client.close)
        link = GrpcSiteLink(client, site.name, start=start, end=end)
        stack.callback(link.close)
        links[site.name] = link
    _model_services(stack, run, {name: link.client for name, link in links.items()}, args)
    return links


def _model_services(stack: ExitStack, run, clients: dict, args) -> None:
    """Push promoted models to the site nodes and watch their inputs for drift."""
    from control_center.model_registry.services import ModelServices
    from control_center.model_registry.store import ModelStore, StoreError, default_store_dir

    try:
        directory = args.models_dir or default_store_dir(args.db)
    except StoreError as e:
        print(f"openastro demo: model distribution off ({e})", file=sys.stderr)
        return
    stack.enter_context(ModelServices(run.log, clients, store=ModelStore(directory)))


def format_report(figures: dict, log_url: str = "") -> str:
    """The night report as a plain-text table."""
    head = (f"Night report: {figures['network']}  {figures['start'][:16]} -> "
            f"{figures['end'][:16]} UTC  seed {figures['seed']}  policy {figures['policy']}")
    columns = ("site", "dark h", "weather-lost h", "completed", "failed", "dark used",
               "science value")
    rows = []
    totals = [0.0, 0.0, 0, 0, 0.0]
    for name, s in figures["sites"].items():
        rows.append((name, f"{s['dark_hours']:.2f}", f"{s['weather_lost_hours']:.2f}",
                     str(s["completed"]), str(s["failed"]), f"{100 * s['dark_time_used']:.1f}%",
                     f"{s['science_value']:.1f}"))
        totals[0] += s["dark_hours"]
        totals[1] += s["weather_lost_hours"]
        totals[2] += s["completed"]
        totals[3] += s["failed"]
        totals[4] += s["science_value"]
    rows.append(("total", f"{totals[0]:.2f}", f"{totals[1]:.2f}", str(totals[2]),
                 str(totals[3]), "", f"{totals[4]:.1f}"))
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    out = [head, "", line(columns), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    tail = f"\n{figures.get('events', 0)} events in the log"
    if log_url:
        tail += f" ({log_url})"
    if "wall_seconds" in figures:
        tail += f"; simulated in {figures['wall_seconds']} s"
    out.append(tail)
    return "\n".join(out)
