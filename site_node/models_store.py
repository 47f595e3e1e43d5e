"""Models deployed to this node, kept on disk so a restart runs the same versions.

Layout under ``data_dir/models``: ``<sha256>.onnx`` per model file and
``manifest.json`` mapping each model name to its version, hash and deployment
time. Files are written to a temporary name and renamed, so a crash never
leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ModelRecord", "ModelStore", "check_model"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ModelRecord:
    name: str
    version: str
    sha256: str
    deployed: str
    """ISO time of deployment."""


def check_model(name: str, onnx: bytes, sha256: str) -> str:
    """Validate a deployment; returns the normalised hash or raises ValueError."""
    if not _NAME.match(name):
        raise ValueError(f"model name {name!r}: letters, digits and ._- only (max 64)")
    if not onnx:
        raise ValueError(f"model {name!r}: no bytes")
    actual = hashlib.sha256(onnx).hexdigest()
    if actual != sha256.strip().lower():
        raise ValueError(f"model {name!r}: sha256 mismatch (declared {sha256[:16]}..., "
                         f"bytes hash to {actual[:16]}...)")
    return actual


class ModelStore:
    """Deployed models of one node."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._manifest = self.directory / "manifest.json"

    def records(self) -> list[ModelRecord]:
        if not self._manifest.is_file():
            return []
        raw = json.loads(self._manifest.read_text(encoding="utf-8"))
        return [ModelRecord(**r) for r in raw.values()]

    def load(self, record: ModelRecord) -> bytes:
        return (self.directory / f"{record.sha256}.onnx").read_bytes()

    def save(self, name: str, version: str, sha256: str, onnx: bytes,
             deployed: str) -> ModelRecord:
        """Store a model that was already checked and swapped into the pipeline."""
        record = ModelRecord(name, version, sha256, deployed)
        _atomic_write(self.directory / f"{sha256}.onnx", onnx)
        records = {r.name: asdict(r) for r in self.records()}
        records[name] = asdict(record)
        _atomic_write(self._manifest, json.dumps(records, indent=2).encode())
        return record


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
