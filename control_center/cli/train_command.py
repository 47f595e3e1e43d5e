"""``openastro train NAME`` and ``openastro retrain``: new model versions in the registry.

``train`` runs the model's train entry point (``models.NAME.train:main``) into a
staging directory, stores the files by SHA-256 (``--models-dir``, default
``models/`` next to a file log), records ``ModelTrained`` and promotes the new
version only if it beats the version in force on its held-out promotion
metric. ``retrain`` runs the same from data accumulated in the log, on an
APScheduler schedule, until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from control_center.eventlog import DEFAULT_DB

__all__ = ["add_retrain_parser", "add_train_parser", "run_retrain", "run_train"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"log file or database URL (default: {DEFAULT_DB})")
    p.add_argument("--models-dir", metavar="DIR",
                   help="content-addressed store of model versions (default: models/ next to "
                        "the log file)")
    p.add_argument("--quick", action="store_true", help="toy-size training (seconds)")


def add_train_parser(commands: Any) -> None:
    p = commands.add_parser(
        "train", help="train a model, record it and promote it if it is better",
        description="Train one of our models (CPU, seeded), record ModelTrained in the log, "
                    "and promote the new version only if it beats the version in force on "
                    "its held-out promotion metric.")
    p.add_argument("name", help="model name (a package models/NAME/ with train.py)")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--from-log", action="store_true",
                   help="train on frames analysed in the log, labelled by observers' ratings")
    p.add_argument("--observer", default=_default_observer(),
                   help="who trains, recorded as the events' actor (default: $USER)")
    _common(p)
    p.set_defaults(func=run_train)


def add_retrain_parser(commands: Any) -> None:
    p = commands.add_parser(
        "retrain", help="retrain a model from the log on a schedule (APScheduler)",
        description="Retrain a model from the data accumulated in the log (frames and "
                    "observers' ratings) on a schedule, until interrupted. Each run is "
                    "recorded and promoted only if it beats the version in force.")
    p.add_argument("--model", required=True, help="model name")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--every", default="24h", metavar="DURATION",
                      help="interval: 90s, 30m, 24h, 7d (default 24h)")
    when.add_argument("--cron", metavar="'M H DOM MON DOW'", help="crontab schedule (UTC)")
    p.add_argument("--seed", type=int, help="seed of every run (default: the log's length)")
    p.add_argument("--now", action="store_true", help="run once at start, then on schedule")
    _common(p)
    p.set_defaults(func=run_retrain)


def _default_observer() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "observer"


def _fail(message: str) -> int:
    print(f"openastro: {message}", file=sys.stderr)
    return 2


def run_train(args: argparse.Namespace, *, catalogue: Any = None) -> int:
    from control_center.eventlog import EventLog, LogError
    from control_center.model_registry.registry import ModelRegistry, RegistryError
    from control_center.model_registry.retrain import train_from_log
    from control_center.model_registry.store import ModelStore, StoreError, default_store_dir
    from models.catalogue import Catalogue, CatalogueError

    catalogue = catalogue or Catalogue()
    try:
        catalogue.get(args.name)
        store = ModelStore(args.models_dir or default_store_dir(args.db))
        with EventLog.open(args.db) as log:
            registry = ModelRegistry(log, store, catalogue)
            actor = f"observer:{args.observer}"
            if args.from_log:
                outcome = train_from_log(registry, args.name, seed=args.seed, quick=args.quick,
                                         actor=actor)
            else:
                outcome = registry.train(args.name, seed=args.seed, quick=args.quick,
                                         actor=actor)
    except (CatalogueError, StoreError, LogError, RegistryError, ValueError) as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    verdict = "promoted" if outcome.promoted else "not promoted"
    print(f"{outcome.name} {outcome.version} ({outcome.sha256[:12]}) {verdict}: "
          f"{outcome.reason}")
    return 0


def run_retrain(args: argparse.Namespace, *, catalogue: Any = None) -> int:
    from control_center.model_registry.retrain import RetrainJob, parse_every, run_schedule
    from control_center.model_registry.store import StoreError, default_store_dir
    from models.catalogue import Catalogue, CatalogueError

    catalogue = catalogue or Catalogue()
    try:
        catalogue.get(args.model)
        trigger = ("cron", args.cron) if args.cron else ("interval", parse_every(args.every))
        job = RetrainJob(db=args.db, model=args.model,
                         models_dir=args.models_dir or default_store_dir(args.db),
                         seed=args.seed, quick=args.quick, catalogue=catalogue)
        return run_schedule(job, trigger, run_now=args.now)
    except (CatalogueError, StoreError, ValueError) as exc:
        return _fail(str(exc).splitlines()[0])
