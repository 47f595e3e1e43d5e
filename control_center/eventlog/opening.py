"""Checks made when a log is opened, and the creation of a new one.

Everything is read first (which tables exist, the log's schema version);
tables are created only when the database holds no log at all and creating
is allowed. A log that is refused is never modified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from control_center.eventlog.dberrors import translate_db_error
from control_center.eventlog.errors import LogCorrupt, LogSchemaTooNew, LogUnavailable
from control_center.eventlog.schema import (
    EVENTS_TABLE,
    LOG_SCHEMA_VERSION,
    META_TABLE,
    PROJECTIONS_TABLE,
    initial_meta,
    meta_table,
    metadata,
)

if TYPE_CHECKING:
    from control_center.eventlog.store import EventLog

__all__ = ["prepare_storage", "read_meta"]


def read_meta(log: EventLog) -> dict[str, str]:
    """Return the rows of ``openastro_log_meta`` as a dict."""
    try:
        with log.engine.connect() as conn:
            return {k: v for k, v in conn.execute(select(meta_table.c.key, meta_table.c.value))}
    except SQLAlchemyError as e:
        raise translate_db_error(e, log.url) from e


def prepare_storage(log: EventLog, *, create: bool) -> None:
    """Check the database behind ``log``; create a new log's tables if allowed.

    Raises
    ------
    LogUnavailable
        Unreachable server, not a database, or no log here and ``create`` is False.
    LogCorrupt
        A damaged database or a partial set of OpenAstro tables.
    LogSchemaTooNew
        The log was written by a newer OpenAstro.
    """
    url = log.url
    try:
        with log.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            meta = None
            if META_TABLE in tables:
                rows = conn.execute(select(meta_table.c.key, meta_table.c.value))
                meta = {k: v for k, v in rows}
    except SQLAlchemyError as e:
        raise translate_db_error(e, url) from e

    if meta is not None:
        _check_meta(meta, url)
        if EVENTS_TABLE not in tables:
            raise LogCorrupt(url, f"table {EVENTS_TABLE} is missing")
        if PROJECTIONS_TABLE not in tables and create:
            _create_tables(log, events=False)
        return
    if EVENTS_TABLE in tables:
        raise LogCorrupt(url, f"has a table {EVENTS_TABLE} but no {META_TABLE}: "
                              "not written by OpenAstro, or damaged")
    if not create:
        raise LogUnavailable(url, f"no OpenAstro event log here (no {META_TABLE} table)")
    _create_tables(log, events=True)
    _insert_initial_meta(log)


def _check_meta(meta: dict[str, str], url: str) -> None:
    raw = meta.get("schema_version")
    try:
        version = int(raw) if raw is not None else None
    except ValueError:
        version = None
    if version is None:
        raise LogCorrupt(url, f"{META_TABLE} has no valid schema_version ({raw!r})")
    if version > LOG_SCHEMA_VERSION:
        raise LogSchemaTooNew(url, f"log schema version {version} is newer than this "
                                   f"OpenAstro supports ({LOG_SCHEMA_VERSION}); upgrade "
                                   "OpenAstro to open it")
    for key in ("head_position", "head_hash"):
        if key not in meta:
            raise LogCorrupt(url, f"{META_TABLE} has no {key}")


def _create_tables(log: EventLog, *, events: bool) -> None:
    try:
        if events:
            log.recorder.create_table()
        metadata.create_all(log.engine, checkfirst=True)
    except SQLAlchemyError as e:
        raise translate_db_error(e, log.url) from e


def _insert_initial_meta(log: EventLog) -> None:
    rows = [{"key": k, "value": v}
            for k, v in initial_meta(log.clock.now().isoformat()).items()]
    try:
        with log.recorder.transaction(commit=True) as session:
            session.execute(insert(meta_table), rows)
    except Exception as e:  # eventsourcing wraps driver errors
        cause = e.__cause__
        if isinstance(cause, IntegrityError) or type(e).__name__ == "IntegrityError":
            return  # another process created the log at the same moment
        raise translate_db_error(e, log.url) from e
