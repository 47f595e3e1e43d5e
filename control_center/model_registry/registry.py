"""The model registry: training runs recorded in the log, promotion on held-out metrics.

:class:`ModelRegistry` runs a model's train entry point into a staging
directory, stores the result by hash (:class:`~.store.ModelStore`), records
``ModelTrained``, and promotes the new version (``ModelPromoted``) only if it
beats the version in force on the model's promotion metric; otherwise it
records ``ModelRejected`` with both values. Until a version is promoted through
the log, the newest shipped version (``models/NAME/NAME-vN.json``) is in force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from control_center.eventlog.envelope import stream_id
from control_center.events.model import ModelPromoted, ModelRejected, ModelTrained
from control_center.model_registry.projection import ModelsInForce
from control_center.model_registry.store import ModelStore
from models.catalogue import Catalogue, read_metadata, version_number

__all__ = ["ACTOR", "Incumbent", "ModelRegistry", "RegistryError", "TrainOutcome",
           "beats", "model_stream"]

ACTOR = "control-center"


class RegistryError(RuntimeError):
    """A training run failed or produced unusable files."""


def model_stream(name: str) -> Any:
    """The log stream of one model's registry events."""
    return stream_id("model", name)


@dataclass(frozen=True)
class Incumbent:
    """The version in force: from the log, or shipped with the project."""

    version: str
    sha256: str
    promotion_metric: dict[str, Any]
    source: str
    """``"log"`` or ``"shipped"``."""


@dataclass(frozen=True)
class TrainOutcome:
    """What one ``train`` did."""

    name: str
    version: str
    sha256: str
    promoted: bool
    reason: str
    metric: dict[str, Any]
    previous: Incumbent | None


def beats(new: dict[str, Any], old: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether promotion metric ``new`` beats ``old`` (strictly), and why in words."""
    value = float(new["value"])
    if not math.isfinite(value):
        return False, f"{new['name']} is {value} (not a number)"
    if old is None:
        return True, f"{new['name']} {value:.4g}; no version in force"
    if old["name"] != new["name"] or bool(old["higher_is_better"]) != \
            bool(new["higher_is_better"]):
        return False, (f"promotion metric {new['name']} is not comparable with the one in "
                       f"force ({old['name']})")
    prev = float(old["value"])
    better = value > prev if new["higher_is_better"] else value < prev
    word = "beats" if better else "does not beat"
    sense = "higher" if new["higher_is_better"] else "lower"
    return better, f"{new['name']} {value:.4g} {word} {prev:.4g} ({sense} is better)"


class ModelRegistry:
    """Model versions recorded in an event log.

    Parameters
    ----------
    log : EventLog
        Where ``ModelTrained`` / ``ModelPromoted`` / ``ModelRejected`` go.
    store : ModelStore
        Content-addressed storage of the versions' files.
    catalogue : Catalogue, optional
        The models (default: the project's ``models`` package).
    """

    def __init__(self, log: Any, store: ModelStore, catalogue: Catalogue | None = None) -> None:
        self.log = log
        self.store = store
        self.catalogue = catalogue or Catalogue()

    # -- reading ----------------------------------------------------------------------

    def state(self) -> ModelsInForce:
        """The registry folded from the whole log."""
        projection = ModelsInForce()
        for recorded in self.log.read(types=ModelsInForce.handles):
            projection.apply(recorded)
        return projection

    def incumbent(self, name: str, state: ModelsInForce | None = None) -> Incumbent | None:
        """The version in force (log first, then the newest shipped one; None if neither)."""
        state = state or self.state()
        current = state.in_force(name)
        if current is not None:
            return Incumbent(current["version"], current["sha256"],
                             dict(current.get("promotion_metric") or {}), "log")
        shipped = self.catalogue.get(name).current
        if shipped is None:
            return None
        return Incumbent(shipped.version, shipped.sha256, shipped.promotion_metric, "shipped")

    def next_version(self, name: str, state: ModelsInForce | None = None) -> str:
        """One above every shipped and recorded version of ``name``."""
        state = state or self.state()
        known = [version_number(s.version) for s in self.catalogue.get(name).shipped]
        model = state.models.get(name, {"versions": {}})
        known += [version_number(v) for v in model["versions"]]
        return f"v{max(known, default=0) + 1}"

    # -- training ---------------------------------------------------------------------

    def train(self, name: str, *, seed: int = 0, quick: bool = False,
              data_dir: Path | None = None, training_data: dict[str, Any] | None = None,
              sim_time: datetime | None = None, actor: str = ACTOR,
              extra_args: list[str] | None = None) -> TrainOutcome:
        """Train ``name`` (its ``main``), record the version and promote it if it is better.

        Parameters
        ----------
        seed, quick
            Passed to the train entry point (``--seed``, ``--quick``).
        data_dir : Path, optional
            A dataset built from the log, passed as ``--data``.
        training_data : dict, optional
            Description of the data recorded with ``ModelTrained`` (source,
            counts...); ``seed`` and ``quick`` are added.
        sim_time : datetime, optional
            Time of the events (default: the log's clock).

        Raises
        ------
        CatalogueError, RegistryError, StoreError
        """
        entry = self.catalogue.get(name)
        main = entry.train_main()
        staging = self.store.staging(name)
        try:
            argv = ["--seed", str(seed), "--out", str(staging)]
            if quick:
                argv.append("--quick")
            if data_dir is not None:
                argv += ["--data", str(data_dir)]
            argv += list(extra_args or ())
            try:
                code = main(argv)
            except SystemExit as exc:     # argparse refusing an argument
                code = exc.code if isinstance(exc.code, int) else 2
            if code:
                raise RegistryError(f"training {name} failed (exit code {code}; "
                                    f"arguments {' '.join(argv)})")
            meta_path = _the_output(staging, name)
            meta = read_metadata(meta_path)
            onnx = meta_path.with_suffix(".onnx").read_bytes()
            companions = {p.name: p.read_bytes() for p in staging.iterdir()
                          if p.is_file() and p.suffix != ".onnx"}
            sha, files = self.store.put(onnx, companions)
        finally:
            self.store.discard(staging)
        data = {"source": "simulator", **(training_data or {}), "seed": seed, "quick": quick}
        return self.record(name, sha, meta, data, files=files, sim_time=sim_time, actor=actor)

    def record(self, name: str, sha256: str, metadata: dict[str, Any],
               training_data: dict[str, Any], *, files: dict[str, str] | None = None,
               sim_time: datetime | None = None, actor: str = ACTOR) -> TrainOutcome:
        """Record a stored version as trained, then promote or reject it (one batch)."""
        if not self.store.has(sha256):
            raise RegistryError(f"model {sha256[:12]}... is not in the store")
        state = self.state()
        version = self.next_version(name, state)
        previous = self.incumbent(name, state)
        metric = dict(metadata["promotion_metric"])
        better, why = beats(metric, previous.promotion_metric if previous else None)
        if previous is not None and sha256 == previous.sha256:
            better, why = False, f"identical to {previous.version} (same sha256)"
        when = sim_time or self.log.clock.now()
        stream = model_stream(name)
        with self.log.batch(actor=actor, sim_time=when) as batch:
            trained = batch.add(ModelTrained, stream=stream, name=name, version=version,
                                sha256=sha256, metrics=_plain(metadata.get("metrics", {})),
                                promotion_metric=metric, training_data=_plain(training_data),
                                files=files or {"model.onnx": sha256})
            prev_name = previous.version if previous else ""
            reason = why if previous is None else f"{why} ({previous.version}, in force)"
            if better:
                batch.add(ModelPromoted, stream=stream, causation=trained, name=name,
                          version=version, sha256=sha256, previous=prev_name,
                          previous_sha256=previous.sha256 if previous else "", reason=reason)
            else:
                batch.add(ModelRejected, stream=stream, causation=trained, name=name,
                          version=version, sha256=sha256, current=prev_name, reason=reason)
        return TrainOutcome(name, version, sha256, better, reason, metric, previous)


def _the_output(staging: Path, name: str) -> Path:
    found = sorted(p for p in staging.glob("*.json") if p.with_suffix(".onnx").is_file())
    if len(found) != 1:
        raise RegistryError(f"training {name} wrote {len(found)} model files (.onnx with a .json)"
                            f" in {staging}; expected exactly one")
    return found[0]


def _plain(value: Any) -> Any:
    """JSON-able copy (numpy scalars -> floats, tuples -> lists, non-finite -> None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else None

