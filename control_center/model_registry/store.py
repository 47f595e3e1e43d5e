"""Content-addressed storage of model versions (ONNX bytes named by their SHA-256).

Layout under the store's directory: ``objects/<sha[:2]>/<sha>/`` holds one
version's files (``model.onnx`` and the train entry point's ``.json`` metadata
and ``-check.npz``, under their original names); ``staging/`` holds training
runs in progress. Files are written to a temporary name and renamed, so a crash
never leaves half a model; a version's ONNX bytes are checked against their
hash when read.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from control_center.eventlog.location import locate

__all__ = ["ModelStore", "StoreError", "default_store_dir"]

_SHA = re.compile(r"^[0-9a-f]{64}$")
MODEL_FILE = "model.onnx"


class StoreError(ValueError):
    """A missing version, a hash mismatch, or a store that cannot be written."""


def default_store_dir(db: str | Path) -> Path:
    """``<directory of the SQLite log>/models`` for a file log.

    Raises
    ------
    StoreError
        For a database server (PostgreSQL): give ``--models-dir``.
    """
    location = locate(db)
    if location.dialect != "sqlite" or location.sqlite_path is None:
        raise StoreError(f"{location.display}: the log is not a file; give --models-dir")
    return Path(location.sqlite_path).resolve().parent / "models"


class ModelStore:
    """Model versions by SHA-256 of their ONNX bytes.

    Parameters
    ----------
    directory : path
        Root of the store (created on first write).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _dir(self, sha256: str) -> Path:
        sha = sha256.strip().lower()
        if not _SHA.match(sha):
            raise StoreError(f"{sha256!r} is not a SHA-256 hex digest")
        return self.directory / "objects" / sha[:2] / sha

    def has(self, sha256: str) -> bool:
        return (self._dir(sha256) / MODEL_FILE).is_file()

    def put(self, onnx: bytes, files: dict[str, bytes] | None = None) -> tuple[str, dict[str, str]]:
        """Store ONNX bytes (and companion files); returns their SHA-256 and the files'
        ``{name: sha256}`` (``model.onnx`` included)."""
        sha = hashlib.sha256(onnx).hexdigest()
        target = self._dir(sha)
        everything = {MODEL_FILE: onnx, **(files or {})}
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name, data in everything.items():
                if Path(name).name != name or not name:
                    raise StoreError(f"file name {name!r} is not a plain name")
                _atomic_write(target / name, data)
        except OSError as exc:
            raise StoreError(f"cannot write the model store {self.directory}: {exc}") from None
        return sha, {n: hashlib.sha256(d).hexdigest() for n, d in sorted(everything.items())}

    def onnx(self, sha256: str) -> bytes:
        """The ONNX bytes of a version, checked against their hash."""
        path = self._dir(sha256) / MODEL_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"model {sha256[:12]}... is not in the store {self.directory}") \
                from None
        if hashlib.sha256(data).hexdigest() != sha256.strip().lower():
            raise StoreError(f"{path}: bytes do not match their hash (store corrupted)")
        return data

    def path(self, sha256: str, name: str = MODEL_FILE) -> Path:
        """Where a stored file of a version is."""
        return self._dir(sha256) / name

    def staging(self, prefix: str) -> Path:
        """A new, empty directory for one training run (remove it with :meth:`discard`)."""
        root = self.directory / "staging"
        try:
            root.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=prefix + "-", dir=root))
        except OSError as exc:
            raise StoreError(f"cannot write the model store {self.directory}: {exc}") from None

    @staticmethod
    def discard(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
