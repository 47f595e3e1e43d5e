"""The event log: OpenAstro's append-only, hash-chained source of truth.

Public names:

- :class:`EventLog` (``EventLog.open(url)``), :class:`Batch`;
- :class:`Recorded`, :class:`UnknownEvent`, :class:`VerifyReport`;
- :class:`LogEvent` and :func:`stream_id` (the envelope of every event);
- the errors :class:`LogError`, :class:`LogUnavailable`, :class:`LogSchemaTooNew`,
  :class:`LogCorrupt`;
- ``DEFAULT_DB`` (the log file used when none is given) and
  ``LOG_SCHEMA_VERSION``.

The database layer (SQLAlchemy) is imported only when one of the classes that
need it is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from control_center.eventlog.envelope import LogEvent, stream_id
from control_center.eventlog.errors import (
    LogCorrupt,
    LogError,
    LogSchemaTooNew,
    LogUnavailable,
)

if TYPE_CHECKING:
    from control_center.eventlog.batch import Batch
    from control_center.eventlog.records import Recorded, UnknownEvent, VerifyReport
    from control_center.eventlog.store import EventLog

__all__ = [
    "DEFAULT_DB",
    "LOG_SCHEMA_VERSION",
    "Batch",
    "EventLog",
    "LogCorrupt",
    "LogError",
    "LogEvent",
    "LogSchemaTooNew",
    "LogUnavailable",
    "Recorded",
    "UnknownEvent",
    "VerifyReport",
    "stream_id",
]

DEFAULT_DB = "openastro.db"
"""Log file used by the commands when ``--db`` is not given (in the current directory)."""

LOG_SCHEMA_VERSION = 1
"""Layout version of the logs this code writes; a log with a newer one is refused."""

_LAZY = {
    "EventLog": "control_center.eventlog.store",
    "Batch": "control_center.eventlog.batch",
    "Recorded": "control_center.eventlog.records",
    "UnknownEvent": "control_center.eventlog.records",
    "VerifyReport": "control_center.eventlog.records",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
