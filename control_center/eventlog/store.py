"""The event log: an eventsourcing application over SQLAlchemy.

One table (``openastro_events``, eventsourcing's stored-events table) holds
every event; its notification id is the global position. Each record's state
carries a hash chain (:mod:`.chain`); the chain head lives in
``openastro_log_meta`` and moves in the same transaction as every insert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import Environment, EnvType
from sqlalchemy import Engine, Table, create_engine, select
from sqlalchemy.exc import SQLAlchemyError

from control_center.clock import Clock, RealClock
from control_center.eventlog.batch import Batch
from control_center.eventlog.chain import HEADER_SIZE
from control_center.eventlog.codec import LogMapper
from control_center.eventlog.dberrors import translate_db_error
from control_center.eventlog.envelope import LogEvent
from control_center.eventlog.fastjson import parse_envelope
from control_center.eventlog.location import LogLocation, check_sqlite_file, locate
from control_center.eventlog.opening import prepare_storage
from control_center.eventlog.reading import (
    ENVELOPE_PREFIX,
    RowFilter,
    decode_row,
    iter_rows,
    raw_stream_column,
    topics_of_types,
)
from control_center.eventlog.records import Recorded, VerifyReport
from control_center.eventlog.writing import ChainWriter, PostgresChainWriter, relax_durability

__all__ = ["EventLog"]


_log = logging.getLogger(__name__)

Listener = Callable[[Recorded], None]


class EventLog(Application):
    """The append-only, hash-chained log of every OpenAstro event.

    Open one with :meth:`open`; don't call the constructor directly.

    Examples
    --------
    >>> with EventLog.open(tmp / "openastro.db") as log:              # doctest: +SKIP
    ...     with log.batch(actor="control-center", sim_time=t) as b:
    ...         b.add(NightEnded, stream=night, reason="dawn")
    ...     [r.event.type_name for r in log.read()]
    ['NightEnded']
    """

    name = "openastro"

    def __init__(self, env: EnvType | None = None, *, location: LogLocation,
                 clock: Clock, durable: bool = True) -> None:
        self.location = location
        self.clock = clock
        self.durable = durable
        self._closed = False
        self._listeners: list[Listener] = []
        self._versions: dict[UUID, int] = {}
        self._versions_lock = threading.RLock()
        self._write_lock = threading.Lock()
        super().__init__(env=env)
        self.mapper.url = location.display
        self._engine: Engine = self.factory.datastore.engine
        if not durable:
            relax_durability(self._engine, location.dialect)
        self._table: Table = self.recorder.events_record_cls.__table__
        self._writer = ChainWriter(self._table, location.dialect)
        self._pg_writer: PostgresChainWriter | None = None
        self._lookup_engine = self._engine
        if location.dialect == "postgresql":
            # Connections in autocommit for single statements: no BEGIN / ROLLBACK round
            # trips (a pool of their own: switching a connection costs a round trip too).
            self._lookup_engine = create_engine(location.url, isolation_level="AUTOCOMMIT")
            if not durable:
                relax_durability(self._lookup_engine, location.dialect)
            self._pg_writer = PostgresChainWriter(self._engine, self._lookup_engine,
                                                  self._table, location.display)

    # -- opening and closing ----------------------------------------------------------

    @classmethod
    def open(cls, url: str | Path, *, clock: Clock | None = None, create: bool = True,
             durable: bool = True) -> EventLog:
        """Open (or create) the log at ``url``.

        Parameters
        ----------
        url : str or Path
            A SQLite file path, or an SQLAlchemy URL (``sqlite:///...``,
            ``postgresql://...``, ``postgresql+psycopg2://...``).
        clock : Clock, optional
            Source of the events' wall-clock ``timestamp`` (default: ``RealClock()``).
        create : bool
            Create a missing log. With False a missing file or an empty
            database is refused (the ``log`` commands use this).
        durable : bool
            True (default): a commit returns once the events are on disk.
            False: skip the disk flush of each commit (SQLite
            ``synchronous=NORMAL`` in WAL mode, PostgreSQL
            ``synchronous_commit=off``): faster appends, and an OS crash
            or power cut may lose the last commits, but never corrupts the log.

        Raises
        ------
        LogUnavailable, LogCorrupt, LogSchemaTooNew
            When the log cannot be used; a rejected log is left untouched.
        """
        location = locate(url)
        if location.dialect == "sqlite":
            check_sqlite_file(location, create=create)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "SQLALCHEMY_URL": location.url,
            "CREATE_TABLE": "no",
        }
        log = cls(env=env, location=location, clock=clock or RealClock(), durable=durable)
        try:
            prepare_storage(log, create=create)
        except BaseException:
            log.close()
            raise
        return log

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Configuration comes only from ``env`` (never from ``os.environ``)."""
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> LogMapper:
        return LogMapper(transcoder=self.construct_transcoder())

    @property
    def url(self) -> str:
        """Where the log lives, for display (password masked)."""
        return self.location.display

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for projection storage and tools, not for writing events)."""
        return self._engine

    @property
    def events_table(self) -> Table:
        """eventsourcing's stored-events table of this log."""
        return self._table

    def close(self) -> None:
        """Close the log and its database connections (idempotent)."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        super().close()
        for name in ("_engine", "_lookup_engine"):
            engine = getattr(self, name, None)
            if engine is not None:
                engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventLog({self.url!r})"

    # -- writing ----------------------------------------------------------------------

    def batch(self, *, actor: str, sim_time: datetime,
              correlation_id: UUID | None = None) -> Batch:
        """Start a unit of work whose events are saved together (see :class:`Batch`).

        Parameters
        ----------
        actor : str
            Default actor of the events (``"plugin:<name>"``, ``"site:<name>"``...).
        sim_time : datetime
            Default simulated time of the events (timezone-aware).
        correlation_id : UUID, optional
            Default correlation id of the events.
        """
        return Batch(self, actor=actor, sim_time=sim_time, correlation_id=correlation_id)

    def append(self, events: Sequence[LogEvent]) -> list[int]:
        """Save already-built events in one transaction; return their positions.

        The events' stream versions must follow the streams' current versions
        (a clash raises eventsourcing's ``IntegrityError`` and saves nothing).
        """
        for event in events:
            if not isinstance(event, LogEvent):
                raise TypeError(f"{event!r} is not a LogEvent")
        if not events:
            return []
        try:
            recorded = self._write(events)
        except BaseException:
            with self._versions_lock:
                for event in events:
                    self._versions.pop(event.originator_id, None)
            raise
        with self._versions_lock:
            for event in events:
                if event.originator_version > self._versions.get(event.originator_id, 0):
                    self._versions[event.originator_id] = event.originator_version
        return [r.position for r in recorded]

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Refused: eventsourcing's ``save`` would bypass the hash chain.

        Use :meth:`batch` or :meth:`append`.
        """
        raise TypeError("EventLog.save() would bypass the hash chain; use log.batch() or "
                        "log.append()")

    def _next_version(self, stream: UUID, previous: dict[UUID, int | None],
                      new: bool = False) -> int:
        """Reserve the next version of ``stream`` (caller holds ``_versions_lock``).

        ``new``: the stream has no events before this batch, so its first
        version is 1 without asking the database (a stream that does exist
        makes the save fail with eventsourcing's ``IntegrityError``).
        """
        current = self._versions.get(stream)
        if stream not in previous:
            previous[stream] = current
        if new and previous[stream] is not None:
            raise ValueError(f"stream {stream} is not new: it has {previous[stream]} "
                             "event(s) already")
        if current is None:
            current = 0 if new else self._max_version(stream)
        self._versions[stream] = current + 1
        return current + 1

    def _max_version(self, stream: UUID) -> int:
        try:
            with self._lookup_engine.connect() as conn:
                return conn.execute(self._writer.max_version, {"stream": stream}).scalar() or 0
        except SQLAlchemyError as e:
            raise translate_db_error(e, self.url) from e

    def _write(self, events: Sequence[LogEvent]) -> list[Recorded]:
        """Chain and insert ``events`` in one transaction, then notify listeners.

        The chain always continues from the head read (and locked) inside the
        transaction (see :mod:`.writing`), so a head moved by another writer
        since our last write is picked up before anything is sealed.
        """
        bodies = [self.mapper.encode_body(e) for e in events]
        if self._pg_writer is not None:
            with self._write_lock:
                rows = self._pg_writer.write(bodies)
        else:
            with self._write_lock, self.recorder.transaction(commit=True) as session:
                rows = self._writer.write(session.connection(), bodies)
        recorded = [decode_row(self.mapper, row) for row in rows]
        if self._listeners:
            self._notify_listeners(recorded)
        return recorded

    # -- listening --------------------------------------------------------------------

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(recorded)`` for every event saved by this instance.

        Listeners run after each successful commit, in log order, in the
        writer's thread. A listener that raises is logged and skipped; the
        others still run. Returns a function that unsubscribes.
        """
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _notify_listeners(self, recorded: list[Recorded]) -> None:
        for r in recorded:
            for listener in list(self._listeners):
                try:
                    listener(r)
                except Exception:  # noqa: BLE001 - one listener's bug must not stop the rest
                    _log.exception("event-log listener %r failed on record %d",
                                   listener, r.position)

    # -- reading ----------------------------------------------------------------------

    def read(self, after: int = 0, limit: int | None = None, *,
             types: Sequence[type] | None = None,
             type_names: Sequence[str] | None = None,
             envelope_only: bool = False) -> Iterator[Recorded]:
        """Yield recorded events in global order, from position ``after + 1``.

        Parameters
        ----------
        after : int
            Last position already seen (0: from the start).
        limit : int, optional
            Yield at most this many.
        types : sequence of type, optional
            Keep only these event classes (and their subclasses).
        type_names : sequence of str, optional
            Keep only events whose class has one of these names.
        envelope_only : bool
            Fetch only each record's envelope (type, position, actor, times): much
            less to read when payloads are large; reading ``.event`` then raises
            :class:`~control_center.eventlog.errors.LogError`.
        """
        row_filter = self._filter(types, type_names)
        if envelope_only:
            yield from self._scan_envelopes(after=after, limit=limit, row_filter=row_filter)
        else:
            yield from self._scan(after=after, limit=limit, row_filter=row_filter)

    def read_reverse(self, before: int | None = None, limit: int | None = None, *,
                     types: Sequence[type] | None = None,
                     type_names: Sequence[str] | None = None) -> Iterator[Recorded]:
        """Like :meth:`read`, newest first, from position ``before - 1`` (default: the end)."""
        yield from self._scan(before=before, reverse=True, limit=limit,
                              row_filter=self._filter(types, type_names))

    @staticmethod
    def _filter(types: Sequence[type] | None,
                type_names: Sequence[str] | None) -> RowFilter | None:
        if types is None and type_names is None:
            return None
        return RowFilter(topics=topics_of_types(types) if types is not None else None,
                         type_names=type_names)

    def _scan(self, *, limit: int | None = None, **kwargs: Any) -> Iterator[Recorded]:
        if limit is not None and limit <= 0:
            return
        mapper = self.mapper
        count = 0
        for rows in iter_rows(self._engine, self._table, self.url, **kwargs):
            for row in rows:
                yield decode_row(mapper, row)
                count += 1
                if limit is not None and count >= limit:
                    return

    def _scan_envelopes(self, *, after: int, limit: int | None,
                        row_filter: RowFilter | None) -> Iterator[Recorded]:
        mapper = self.mapper
        count = 0
        for rows in iter_rows(self._engine, self._table, self.url, after=after,
                              row_filter=row_filter, prefix=ENVELOPE_PREFIX):
            for position, _stream, _version, topic, state in rows:
                if type(state) is not bytes:
                    state = bytes(state)
                envelope = parse_envelope(state[HEADER_SIZE:])
                if envelope is None:  # an unusual body: read it whole
                    yield next(self._scan(after=position - 1, limit=1))
                else:
                    yield Recorded.envelope_only(position, state[32:64], topic, envelope,
                                                 mapper)
                count += 1
                if limit is not None and count >= limit:
                    return

    def stream(self, stream_id: UUID) -> list[LogEvent]:
        """All events of one stream, in stream order (unknown types as UnknownEvent)."""
        c = self._table.c
        query = select(c.id, raw_stream_column(self._engine, self._table), c.originator_version,
                       c.topic, c.state) \
            .where(c.originator_id == stream_id).order_by(c.originator_version)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as e:
            raise translate_db_error(e, self.url) from e
        return [decode_row(self.mapper, row).event for row in rows]  # type: ignore[misc]

    def last_position(self) -> int:
        """Position of the newest event (0 for an empty log)."""
        try:
            with self._lookup_engine.connect() as conn:
                return conn.execute(self._writer.last_position).scalar() or 0
        except SQLAlchemyError as e:
            raise translate_db_error(e, self.url) from e

    def verify(self, progress: Callable[[int], None] | None = None, *,
               expect_head: str | None = None) -> VerifyReport:
        """Check the hash chain of the whole log (see :func:`.verify.verify_log`)."""
        from control_center.eventlog.verify import verify_log

        return verify_log(self, progress=progress, expect_head=expect_head)

