"""Where a log lives: a SQLite file or a database URL, checked before opening.

:func:`locate` turns what the user typed (a path or an SQLAlchemy URL) into
the URL to connect to and the form to show (password masked).
:func:`check_sqlite_file` rejects a missing, foreign, unreadable or truncated
file *before* SQLite or SQLAlchemy touch it, so a rejected file is never
modified.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from control_center.eventlog.errors import LogCorrupt, LogUnavailable

__all__ = ["CONNECT_TIMEOUT_S", "LogLocation", "check_sqlite_file", "locate"]

CONNECT_TIMEOUT_S = 5
"""Seconds to wait for a database server before giving up."""

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class LogLocation:
    """A resolved log location.

    Attributes
    ----------
    url : str
        SQLAlchemy URL to connect to.
    display : str
        What to show users: the file path, or the URL with its password masked.
    dialect : str
        ``"sqlite"`` or ``"postgresql"``.
    sqlite_path : Path or None
        Absolute path of a SQLite file (None for PostgreSQL or in-memory SQLite).
    """

    url: str
    display: str
    dialect: str
    sqlite_path: Path | None = None


def locate(target: str | Path) -> LogLocation:
    """Resolve a path or an SQLAlchemy URL into a :class:`LogLocation`.

    Parameters
    ----------
    target : str or Path
        A file path (``openastro.db``) or a URL (``sqlite:///x.db``,
        ``postgresql://user:pw@host/db``, ``postgresql+psycopg2://...``).

    Raises
    ------
    LogUnavailable
        If the URL cannot be parsed or names an unsupported database.

    Examples
    --------
    >>> locate("postgresql://me:secret@db.example/astro").display
    'postgresql://me:***@db.example/astro'
    """
    text = str(target)
    if isinstance(target, Path) or "://" not in text:
        path = Path(text).expanduser().absolute()
        return LogLocation(f"sqlite:///{path}", str(path), "sqlite", path)

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except ArgumentError as e:
        raise LogUnavailable(text, f"not a database URL ({e})") from None
    display = url.render_as_string(hide_password=True)
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or "memory" in str(url.query.get("mode", "")):
            return LogLocation(text, display, "sqlite", None)
        path = Path(database).expanduser().absolute()
        if database.startswith("file:"):
            return LogLocation(text, display, "sqlite", None)
        return LogLocation(url.set(database=str(path)).render_as_string(hide_password=False),
                           display, "sqlite", path)
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg2")
        if "connect_timeout" not in url.query:
            url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
        return LogLocation(url.render_as_string(hide_password=False), display, "postgresql")
    raise LogUnavailable(display, f"unsupported database {backend!r} "
                                  "(use a SQLite file or PostgreSQL)")


def check_sqlite_file(location: LogLocation, *, create: bool) -> None:
    """Reject a SQLite file that cannot be an OpenAstro log, without touching it.

    Parameters
    ----------
    location : LogLocation
        A SQLite location (others are ignored).
    create : bool
        Whether a missing file may be created.

    Raises
    ------
    LogUnavailable
        Missing file (with ``create=False``), missing directory, a directory,
        unreadable file, empty file (with ``create=False``), not a SQLite file.
    LogCorrupt
        A SQLite file shorter than its header says (truncated).
    """
    path = location.sqlite_path
    if path is None:
        return
    shown = location.display
    if not path.exists():
        if not create:
            raise LogUnavailable(shown, "no such file")
        if not path.parent.is_dir():
            raise LogUnavailable(shown, f"directory {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK):
            raise LogUnavailable(shown, f"permission denied: cannot create a file in "
                                        f"{path.parent}")
        return
    if path.is_dir():
        raise LogUnavailable(shown, "is a directory, not a log file")
    try:
        with path.open("rb") as f:
            header = f.read(100)
        size = path.stat().st_size
    except PermissionError:
        raise LogUnavailable(shown, "permission denied") from None
    except OSError as e:
        raise LogUnavailable(shown, f"cannot read file ({e.strerror or e})") from None
    if not header:
        if not create:
            raise LogUnavailable(shown, "empty file, not an event log")
        return
    if not header.startswith(_SQLITE_MAGIC):
        raise LogUnavailable(shown, "file is not a database")
    if len(header) < 100:
        raise LogCorrupt(shown, f"file is truncated ({size} bytes, shorter than a "
                                "SQLite header)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    size_valid = header[24:28] == header[92:96]
    wal = path.with_name(path.name + "-wal")
    wal_busy = wal.exists() and wal.stat().st_size > 0
    expected = page_size * pages
    if size_valid and pages and size < expected and not wal_busy:
        raise LogCorrupt(shown, f"file is truncated ({size} of {expected} bytes); "
                                "restore it from a backup")
