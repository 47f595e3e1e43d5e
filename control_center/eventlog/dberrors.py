"""Turn database driver errors into one-line :class:`LogError` messages."""

from __future__ import annotations

from control_center.eventlog.errors import LogCorrupt, LogError, LogUnavailable

__all__ = ["root_message", "translate_db_error"]


def root_message(exc: BaseException) -> str:
    """First line of the deepest cause of ``exc`` (the driver's own words)."""
    seen: set[int] = set()
    while True:
        nxt = exc.__cause__ or getattr(exc, "orig", None)
        if not isinstance(nxt, BaseException) or id(nxt) in seen:
            break
        seen.add(id(exc))
        exc = nxt
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else text
    if "(Background on this error" in first:
        first = first.split("(Background on this error")[0].strip()
    return first


def translate_db_error(exc: BaseException, url: str) -> LogError:
    """Return the :class:`LogError` that describes a database exception.

    Parameters
    ----------
    exc : BaseException
        An SQLAlchemy, DB-API or eventsourcing persistence error.
    url : str
        Display form of the log's location.
    """
    if isinstance(exc, LogError):
        return exc
    message = root_message(exc)
    low = message.lower()
    if "file is not a database" in low:
        return LogUnavailable(url, "file is not a database")
    if "malformed" in low or "disk image" in low or "database corruption" in low:
        return LogCorrupt(url, f"database file is corrupt ({message}); restore it from a "
                               "backup")
    if "readonly" in low or "read-only" in low or "permission denied" in low:
        return LogUnavailable(url, f"permission denied ({message})")
    if "unable to open database" in low:
        return LogUnavailable(url, f"cannot open the file ({message})")
    if any(s in low for s in ("could not connect", "connection refused", "timeout expired",
                              "could not translate host", "connection to server",
                              "name or service not known")):
        return LogUnavailable(url, f"cannot connect to the database server ({message})")
    if "password authentication failed" in low or "does not exist" in low:
        return LogUnavailable(url, message)
    return LogUnavailable(url, f"database error ({message})")
