"""Retraining from data accumulated in the log, on an APScheduler schedule.

:func:`train_from_log` builds the model's log dataset (its train module names
the builder in ``LOG_DATASET``, see :mod:`models.datasets`) from every
analysed frame and observer's rating in the log, trains on it, and records the
version like any other (promoted only if it beats the one in force).
:class:`RetrainJob` is the scheduled job (one call = one run: open the log,
train, close); :func:`build_scheduler` / :func:`run_schedule` put it on an
interval or crontab schedule.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from control_center.model_registry.registry import ModelRegistry, RegistryError, TrainOutcome
from control_center.model_registry.store import ModelStore
from models.catalogue import Catalogue, CatalogueError
from models.datasets import LOG_BUILDERS

__all__ = ["RetrainJob", "build_scheduler", "parse_every", "run_schedule", "train_from_log"]

_log = logging.getLogger(__name__)
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"24h"``, ``"7d"`` -> timedelta (ValueError otherwise)."""
    m = _EVERY.match(str(text))
    if m is None or float(m.group(1)) <= 0:
        raise ValueError(f"--every {text!r}: give a positive duration such as 90s, 30m, 24h, 7d")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def train_from_log(registry: ModelRegistry, name: str, *, seed: int = 0,
                   quick: bool = False, actor: str = "control-center") -> TrainOutcome:
    """Train ``name`` on the dataset its train module builds from the log.

    Raises
    ------
    CatalogueError
        The model cannot train from the log (no ``LOG_DATASET``).
    ValueError
        The log holds nothing to train on.
    """
    entry = registry.catalogue.get(name)
    builder_name = entry.log_dataset()
    if builder_name is None:
        raise CatalogueError(f"model {name!r} cannot train from the log: its train module "
                             "defines no LOG_DATASET")
    builder = LOG_BUILDERS.get(builder_name)
    if builder is None:
        raise CatalogueError(f"model {name!r}: unknown LOG_DATASET {builder_name!r}; known: "
                             f"{', '.join(sorted(LOG_BUILDERS))}")
    data_dir = registry.store.staging(f"{name}-data")
    try:
        records = registry.log.read(type_names=("FrameAnalyzed", "ObservationRated"))
        description = builder(records, data_dir)
        return registry.train(name, seed=seed, quick=quick, data_dir=data_dir,
                              training_data=description, actor=actor)
    finally:
        registry.store.discard(data_dir)


class RetrainJob:
    """One scheduled retraining of ``model`` from the log at ``db`` (call it to run once).

    Parameters
    ----------
    db : str
        The log (opened for each run, closed after).
    model : str
        Model name.
    models_dir : path
        The registry's model store.
    seed : int, optional
        Seed of every run; default: the log's last position (a new seed whenever
        new data arrived, the same one for the same log).
    quick : bool
        Toy-size training.
    catalogue : Catalogue, optional
    """

    def __init__(self, *, db: str, model: str, models_dir: str | Path, seed: int | None = None,
                 quick: bool = False, catalogue: Catalogue | None = None) -> None:
        self.db, self.model, self.seed, self.quick = db, model, seed, quick
        self.store = ModelStore(models_dir)
        self.catalogue = catalogue or Catalogue()
        self.runs: list[TrainOutcome | str] = []

    def __call__(self) -> TrainOutcome | None:
        from control_center.eventlog import EventLog, LogError

        try:
            with EventLog.open(self.db, create=False) as log:
                seed = self.seed if self.seed is not None else log.last_position()
                registry = ModelRegistry(log, self.store, self.catalogue)
                outcome = train_from_log(registry, self.model, seed=seed, quick=self.quick)
        except (CatalogueError, RegistryError, LogError, ValueError, OSError) as exc:
            message = f"retraining {self.model} skipped: {exc}"
            _log.warning("%s", message)
            self.runs.append(message)
            return None
        _log.info("retrained %s %s: %s", outcome.name, outcome.version, outcome.reason)
        self.runs.append(outcome)
        return outcome


def build_scheduler(job: RetrainJob, trigger: tuple[str, Any], *, blocking: bool = True,
                    run_now: bool = False) -> Any:
    """An APScheduler scheduler with ``job`` on ``("interval", timedelta)`` or
    ``("cron", "M H DOM MON DOW")`` (UTC); not started."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind, value = trigger
    if kind == "interval":
        trig = IntervalTrigger(seconds=value.total_seconds(), timezone="UTC")
    elif kind == "cron":
        try:
            trig = CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"--cron {value!r}: {exc}") from None
    else:
        raise ValueError(f"unknown trigger {kind!r}")
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone="UTC")
    scheduler.add_job(job, trig, id=f"retrain-{job.model}", max_instances=1, coalesce=True,
                      misfire_grace_time=3600)
    if run_now:
        scheduler.add_job(job, id=f"retrain-{job.model}-now", max_instances=1)
    return scheduler


def run_schedule(job: RetrainJob, trigger: tuple[str, Any], *, run_now: bool = False) -> int:
    """Run the schedule until interrupted (Ctrl-C); returns 0."""
    scheduler = build_scheduler(job, trigger, blocking=True, run_now=run_now)
    print(f"retraining {job.model} on {trigger[0]} {trigger[1]}; Ctrl-C stops", flush=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
    return 0
