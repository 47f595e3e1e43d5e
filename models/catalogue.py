"""The project's models by name: train entry point, shipped files, promotion metric.

A model ``NAME`` is a package ``models/NAME/`` with a ``train.py`` whose
``main(argv) -> int`` accepts ``--seed``, ``--out DIR`` and ``--quick``, and
shipped files ``models/NAME/NAME-vN.onnx`` with a sibling ``NAME-vN.json``
holding at least ``name``, ``version``, ``sha256`` (of the .onnx bytes),
``metrics`` and ``promotion_metric`` (``{"name", "value", "higher_is_better"}``,
measured on held-out data). The newest shipped version is the one in force
until the registry promotes another.

A package may also hold several models trained by one ``train.py`` (the
scheduler's value network, policy and Bellman check in ``models/scheduler/``):
:data:`FAMILIES` lists them as ``{package: {model name: member}}``; the model's
files are ``models/PACKAGE/MEMBER-vN.onnx`` (+ ``.json``) and its entry point is
the package's ``train.main`` called with ``--model MEMBER`` first.

Optional, read from the train module:

- ``LOG_DATASET = "<builder>"``: the model can train from data accumulated in the
  event log (``openastro train NAME --from-log``); the registry builds that
  dataset with :mod:`models.datasets` and passes ``--data DIR`` to ``main``.

and from the metadata JSON:

- ``"runs_at"``: ``"site-node"`` (pushed to every site when promoted) or
  ``"control-center"``; default from :data:`RUNS_AT`.
- ``"input_summary"``: the training distribution of the model's inputs, for
  the distribution-shift check (:func:`models.trust.feature_summary`).

Examples
--------
>>> from models.catalogue import Catalogue
>>> cat = Catalogue()                                     # doctest: +SKIP
>>> cat.get("fusion").shipped[-1].version                 # doctest: +SKIP
'v1'
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FAMILIES", "RUNS_AT", "Catalogue", "CatalogueError", "ModelEntry", "ShippedModel",
           "read_metadata", "version_number"]

MODELS_DIR = Path(__file__).resolve().parent
RUNS_AT = {"anomaly": "site-node"}
"""Where each model is served when its metadata does not say (default control-center)."""
FAMILIES: dict[str, dict[str, str]] = {
    "scheduler": {"scheduler_value": "value", "scheduler_policy": "policy",
                  "scheduler_bellman": "bellman"},
}
"""Packages holding several models: package -> {model name -> member (file prefix and
``--model`` argument of the package's train.py)}."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION = re.compile(r"^v(\d+)$")


class CatalogueError(ValueError):
    """A model name is unknown or its files or metadata are missing or broken."""


def version_number(version: str) -> int:
    """``"v12"`` -> 12 (CatalogueError for anything else)."""
    m = _VERSION.match(str(version))
    if m is None:
        raise CatalogueError(f"version {version!r} is not of the form vN")
    return int(m.group(1))


@dataclass(frozen=True)
class ShippedModel:
    """One shipped version: its ONNX path and metadata (validated)."""

    name: str
    version: str
    onnx: Path
    metadata: dict[str, Any]

    @property
    def sha256(self) -> str:
        return str(self.metadata["sha256"])

    @property
    def promotion_metric(self) -> dict[str, Any]:
        return dict(self.metadata["promotion_metric"])

    @property
    def files(self) -> list[Path]:
        """The .onnx, .json and (if present) -check.npz files of this version."""
        stem = self.onnx.with_suffix("")
        check = stem.with_name(stem.name + "-check.npz")
        return [self.onnx, self.onnx.with_suffix(".json")] + ([check] if check.is_file() else [])


@dataclass(frozen=True)
class ModelEntry:
    """A model of the catalogue."""

    name: str
    package: str
    directory: Path
    shipped: tuple[ShippedModel, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()
    """Older shipped versions left out because their metadata is broken."""
    member: str | None = None
    """For a model of a :data:`FAMILIES` package: its file prefix and ``--model``."""

    @property
    def train_module(self) -> str:
        return f"{self.package}.train"

    @property
    def train_args(self) -> tuple[str, ...]:
        """Arguments the train entry point is always given first."""
        return ("--model", self.member) if self.member else ()

    @property
    def train_entry(self) -> str:
        return " ".join((f"{self.train_module}:main", *self.train_args))

    def train_main(self) -> Callable[[list[str] | None], int]:
        """The train entry point (imports the module: torch may be needed)."""
        module = self._module()
        main = getattr(module, "main", None)
        if not callable(main):
            raise CatalogueError(f"model {self.name!r}: {self.train_module} has no main()")
        if not self.member:
            return main
        first = list(self.train_args)

        def member_main(argv: list[str] | None = None) -> int:
            return main(first + list(argv or []))

        return member_main

    def log_dataset(self) -> str | None:
        """Name of the :mod:`models.datasets` builder the model trains on from the log."""
        value = getattr(self._module(), "LOG_DATASET", None)
        return str(value) if value else None

    def _module(self) -> Any:
        try:
            return importlib.import_module(self.train_module)
        except ImportError as exc:
            raise CatalogueError(f"model {self.name!r}: cannot import {self.train_module} "
                                 f"({exc})") from None

    @property
    def current(self) -> ShippedModel | None:
        """The newest shipped version (None if none ships)."""
        return self.shipped[-1] if self.shipped else None

    @property
    def runs_at(self) -> str:
        meta = self.current.metadata if self.current else {}
        return str(meta.get("runs_at") or RUNS_AT.get(self.name, "control-center"))

    def higher_is_better(self) -> bool | None:
        """Direction of the promotion metric (from the newest shipped version)."""
        return None if self.current is None else bool(
            self.current.promotion_metric["higher_is_better"])


def read_metadata(json_path: Path, *, check_hash: bool = True) -> dict[str, Any]:
    """Load and validate a model's metadata JSON (and the hash of its .onnx sibling).

    Raises
    ------
    CatalogueError
        Unreadable JSON, a missing key, a malformed promotion metric or a
        sha256 that does not match the .onnx bytes.
    """
    try:
        meta = json.loads(Path(json_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"{json_path}: metadata file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{json_path}: unreadable metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise CatalogueError(f"{json_path}: metadata is not a JSON object")
    missing = [k for k in ("name", "version", "sha256", "metrics", "promotion_metric")
               if k not in meta]
    if missing:
        raise CatalogueError(f"{json_path}: metadata lacks {', '.join(missing)}")
    pm = meta["promotion_metric"]
    if not (isinstance(pm, dict) and isinstance(pm.get("name"), str)
            and isinstance(pm.get("value"), int | float) and not isinstance(pm["value"], bool)
            and isinstance(pm.get("higher_is_better"), bool)):
        raise CatalogueError(f"{json_path}: promotion_metric must be "
                             '{"name": str, "value": float, "higher_is_better": bool}')
    if not isinstance(meta["metrics"], dict):
        raise CatalogueError(f"{json_path}: metrics must be an object")
    if check_hash:
        onnx = Path(json_path).with_suffix(".onnx")
        try:
            actual = hashlib.sha256(onnx.read_bytes()).hexdigest()
        except OSError as exc:
            raise CatalogueError(f"{onnx}: cannot read the model ({exc})") from None
        if actual != str(meta["sha256"]).lower():
            raise CatalogueError(f"{json_path}: sha256 {str(meta['sha256'])[:12]}... does not "
                                 f"match {onnx.name} ({actual[:12]}...)")
    return meta


class Catalogue:
    """Every model under ``root`` (default: this ``models`` package).

    Parameters
    ----------
    root : path, optional
        Directory holding one sub-package per model.
    package : str
        Dotted name of ``root`` (default ``"models"``).
    """

    def __init__(self, root: str | Path | None = None, package: str = "models",
                 families: dict[str, dict[str, str]] | None = None) -> None:
        self.root = Path(root) if root is not None else MODELS_DIR
        self.package = package
        self.families = FAMILIES if families is None else families

    def _where(self) -> dict[str, tuple[str, str | None]]:
        """Model name -> (package directory name, member or None)."""
        out: dict[str, tuple[str, str | None]] = {}
        for p in self.root.glob("*/train.py"):
            directory = p.parent.name
            if directory in self.families:
                for name, member in self.families[directory].items():
                    out[name] = (directory, member)
            elif _NAME.match(directory):
                out[directory] = (directory, None)
        return out

    def names(self) -> list[str]:
        """Models that have a ``train.py`` (sorted; a family's models by their names)."""
        return sorted(self._where())

    def get(self, name: str) -> ModelEntry:
        """The model ``name`` with its shipped versions (validated, oldest first).

        Raises
        ------
        CatalogueError
            Unknown model, or shipped files with missing or broken metadata.
        """
        where = self._where()
        if name not in where:
            raise CatalogueError(f"unknown model {name!r}; known: "
                                 f"{', '.join(sorted(where)) or 'none'}")
        folder, member = where[name]
        directory = self.root / folder
        prefix = member or name
        files = [p for p in directory.glob(f"{prefix}-v*.onnx")
                 if _VERSION.match(p.stem[len(prefix) + 1:])]
        files.sort(key=lambda p: version_number(p.stem[len(prefix) + 1:]))
        shipped, problems = [], []
        for i, onnx in enumerate(files):
            version = onnx.stem[len(prefix) + 1:]
            try:
                meta = read_metadata(onnx.with_suffix(".json"))
                if str(meta["version"]) not in (version, onnx.stem):
                    raise CatalogueError(f"{onnx.with_suffix('.json')}: version "
                                         f"{meta['version']!r} does not match the file name")
            except CatalogueError as exc:
                if i == len(files) - 1:
                    raise   # the newest version must be usable
                problems.append(str(exc))
                continue
            shipped.append(ShippedModel(name, version, onnx, meta))
        return ModelEntry(name, f"{self.package}.{folder}", directory, tuple(shipped),
                          tuple(problems), member)

    def entries(self) -> list[ModelEntry]:
        """Every model; a model with broken metadata raises CatalogueError."""
        return [self.get(n) for n in self.names()]
