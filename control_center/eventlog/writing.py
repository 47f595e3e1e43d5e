"""The write path: chain the records and insert them with the head, in one transaction.

The chain head (``head_hash`` and ``head_position`` in ``openastro_log_meta``)
moves in the same transaction as the records it covers, and every writer
takes the head row's lock before it allocates positions, so the records of
several writers form one chain in one total order.

- SQLite (:class:`ChainWriter`), inside eventsourcing's datastore
  transaction: a no-op ``UPDATE ... RETURNING`` of the head takes the
  database write lock before anything is read; the records, chained after
  that head, are inserted with one ``executemany``; the head is moved.
- PostgreSQL (:class:`PostgresChainWriter`): one statement per batch, run
  in autocommit (so it is its own transaction, one round trip with its
  commit). It locks the head row (``SELECT ... FOR UPDATE``), inserts the
  records chained after the head this writer expects only if the locked head
  *is* that one, and moves the head. When another writer moved the head in
  between, nothing is inserted and the statement returns the current head:
  the records are chained again after it and sent again. After a few such
  misses (a busy log) the batch is written the pessimistic way: lock the head
  in an explicit transaction, chain after it, insert, commit. The statement is
  prepared once per connection (``PREPARE``) and takes the batch as arrays, so
  the server neither parses nor plans it again, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError as EventsourcingIntegrityError
from eventsourcing.persistence import StoredEvent
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError, SQLAlchemyError

from control_center.eventlog.chain import GENESIS, seal
from control_center.eventlog.dberrors import translate_db_error
from control_center.eventlog.errors import LogCorrupt
from control_center.eventlog.schema import META_TABLE

__all__ = ["OPTIMISTIC_TRIES", "ChainWriter", "PostgresChainWriter", "relax_durability"]

OPTIMISTIC_TRIES = 3
"""Single-statement attempts of a PostgreSQL batch before it locks the head first."""

# SQLite statements, run straight on the driver (compiling a SQLAlchemy statement
# costs more than running it): take the write lock with a no-op update of the head,
# read the last rowid, move the head (position and hash in one statement).
_LOCK_HEAD = (f"UPDATE {META_TABLE} SET value = value WHERE key = 'head_hash' "
              "RETURNING value")
_LAST_ROWID = "SELECT last_insert_rowid()"
_MOVE_HEAD = (f"UPDATE {META_TABLE} SET value = CASE key WHEN 'head_position' THEN ? "
              "ELSE ? END WHERE key IN ('head_position', 'head_hash')")

Row = tuple[Any, int, str, bytes]
"""``(originator_id, originator_version, topic, state)`` of one chained record."""


def relax_durability(engine: Engine, dialect: str) -> None:
    """Make every new connection of ``engine`` commit without waiting for the disk."""
    statement = ("PRAGMA synchronous=NORMAL" if dialect == "sqlite"
                 else "SET synchronous_commit TO off")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        if dialect != "sqlite":
            dbapi_connection.commit()  # keep the session setting past the first rollback


def chain_rows(prev: bytes, bodies: Sequence[StoredEvent]) -> tuple[list[Row], bytes]:
    """Chain ``bodies`` after the record hash ``prev``; return the rows and the new head."""
    rows = []
    for s in bodies:
        state, prev = seal(prev, s.originator_id, s.originator_version, s.topic, s.state)
        rows.append((s.originator_id, s.originator_version, s.topic, state))
    return rows, prev


class ChainWriter:
    """Inserts chained records into one events table (statements built once).

    Used for SQLite, inside eventsourcing's datastore transaction.

    Parameters
    ----------
    table : Table
        eventsourcing's stored-events table.
    dialect : str
        ``"sqlite"`` or ``"postgresql"``.
    """

    def __init__(self, table: Table, dialect: str) -> None:
        c = table.c
        self.dialect = dialect
        # Building a statement costs more than running it: build each one once.
        self.max_version = select(func.max(c.originator_version)) \
            .where(c.originator_id == bindparam("stream"))
        self.last_position = select(func.max(c.id))
        self._sqlite_insert = (f"INSERT INTO {table.name} (originator_id, originator_version, "
                               "topic, state) VALUES (?, ?, ?, ?)")

    def write(self, conn: Connection, bodies: Sequence[StoredEvent]) -> list[tuple]:
        """Chain ``bodies`` after the locked head, insert them and move the head.

        Returns one ``(position, originator_id, originator_version, topic, state)``
        row per body, as the readers select them.
        """
        value = conn.exec_driver_sql(_LOCK_HEAD).scalar()
        rows, head = chain_rows(bytes.fromhex(value) if value else GENESIS, bodies)
        # One executemany straight to the driver (ids stored as 16 bytes, as
        # eventsourcing's UUIDType does on SQLite). Under the write lock SQLite gives
        # the rows consecutive ids (max(rowid) + 1 each): the last one tells all.
        conn.exec_driver_sql(self._sqlite_insert,
                             [(oid.bytes, v, t, s) for oid, v, t, s in rows])
        last = conn.exec_driver_sql(_LAST_ROWID).scalar()
        positions = range(last - len(rows) + 1, last + 1)
        conn.exec_driver_sql(_MOVE_HEAD, (str(last), head.hex()))
        return [(p, *r) for p, r in zip(positions, rows, strict=True)]


class PostgresChainWriter:
    """Writes chained batches to PostgreSQL, one statement per batch (see module docstring).

    Not thread-safe: the log serialises its writes.

    Parameters
    ----------
    engine : Engine
        The log's engine (psycopg2), for the locked path.
    autocommit : Engine
        An engine on the same database whose connections are in autocommit.
    table : Table
        eventsourcing's stored-events table.
    url : str
        Display form of the log's location, for error messages.
    """

    def __init__(self, engine: Engine, autocommit: Engine, table: Table, url: str) -> None:
        self._engine = engine
        self._autocommit = autocommit
        self._url = url
        self._head: str | None = None  # head hash (hex) after this writer's last commit
        self._prepare = _append_statement(table.name)

    def write(self, bodies: Sequence[StoredEvent]) -> list[tuple]:
        """Chain and insert ``bodies`` in one transaction; return the rows as readers see them.

        Raises
        ------
        eventsourcing.persistence.IntegrityError
            When a stream version is already taken (nothing is saved).
        LogError
            When the database fails (nothing is saved, or the whole batch is).
        """
        try:
            with self._autocommit.connect() as conn:
                for _ in range(OPTIMISTIC_TRIES):
                    if self._head is None:
                        self._head = conn.exec_driver_sql(
                            f"SELECT value FROM {META_TABLE} WHERE key = 'head_hash'").scalar()
                    rows, head = chain_rows(bytes.fromhex(self._head), bodies)
                    result = self._insert(conn, rows, expect=self._head, head=head)
                    if result is not None:
                        self._head = head.hex()
                        return result
            return self._write_locked(bodies)
        except IntegrityError as e:
            self._head = None
            raise EventsourcingIntegrityError(e) from e
        except SQLAlchemyError as e:
            self._head = None  # the commit may or may not have happened
            raise translate_db_error(e, self._url) from e
        except BaseException:
            self._head = None
            raise

    def _write_locked(self, bodies: Sequence[StoredEvent]) -> list[tuple]:
        """Lock the head in an explicit transaction first: always succeeds (or fails)."""
        with self._engine.begin() as conn:
            value = conn.exec_driver_sql(
                f"SELECT value FROM {META_TABLE} WHERE key = 'head_hash' FOR UPDATE").scalar()
            rows, head = chain_rows(bytes.fromhex(value), bodies)
            result = self._insert(conn, rows, expect=value, head=head, autocommit=False)
            if result is None:  # cannot happen while we hold the lock
                raise LogCorrupt(self._url, "the chain head changed under its lock")
        self._head = head.hex()
        return result

    def _insert(self, conn: Connection, rows: list[Row], *, expect: str, head: bytes,
                autocommit: bool = True) -> list[tuple] | None:
        """Run the batch statement; None when the head was not ``expect`` (nothing written).

        ``autocommit``: ``conn`` is in autocommit (a failed statement may be retried).
        """
        ids, versions, topics, states = [], [], [], []
        for oid, version, topic, state in rows:
            ids.append(str(oid))
            versions.append(version)
            topics.append(topic)
            states.append(state)
        params = (ids, versions, topics, states, expect, head.hex())
        if not conn.info.get(_PREPARED):
            self._prepare_on(conn)
        try:
            result = conn.exec_driver_sql(_EXECUTE, params).all()
        except DBAPIError as e:
            # The session lost its prepared statement (DISCARD ALL, a pooler): again.
            if _LOST not in str(e.orig) or not autocommit:
                raise
            self._prepare_on(conn)
            result = conn.exec_driver_sql(_EXECUTE, params).all()
        current, first_id = result[0]
        if first_id is None:
            self._head = current
            return None
        positions = [r[1] for r in result]
        if len(positions) != len(rows):
            raise LogCorrupt(self._url, f"inserted {len(positions)} of {len(rows)} records")
        return [(p, *r) for p, r in zip(positions, rows, strict=True)]

    def _prepare_on(self, conn: Connection) -> None:
        try:
            conn.exec_driver_sql(self._prepare)
        except ProgrammingError as e:
            if "already exists" not in str(e.orig):
                raise
            conn.exec_driver_sql("DEALLOCATE openastro_append")
            conn.exec_driver_sql(self._prepare)
        conn.info[_PREPARED] = True


_PREPARED = "openastro_append_prepared"
_LOST = 'prepared statement "openastro_append" does not exist'
_EXECUTE = "EXECUTE openastro_append (%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s, %s)"


def _append_statement(table: str) -> str:
    """``PREPARE`` of the batch statement (arrays of ids, versions, topics, states; the
    expected head; the new head), prepared once per connection: no parsing or planning
    per batch, and the same statement for any batch size."""
    return (
        "PREPARE openastro_append (uuid[], bigint[], text[], bytea[], text, text) AS "
        f"WITH head AS MATERIALIZED (SELECT value FROM {META_TABLE} "
        "WHERE key = 'head_hash' FOR UPDATE), "
        f"ins AS (INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "SELECT v.o, v.v, v.t, v.s FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS v(o, v, t, s, n) "
        "WHERE (SELECT value FROM head) = $5 ORDER BY v.n RETURNING id), "
        f"moved AS (UPDATE {META_TABLE} SET value = CASE key WHEN 'head_hash' THEN $6 "
        "ELSE (SELECT max(id) FROM ins)::text END "
        "WHERE key IN ('head_hash', 'head_position') AND EXISTS (SELECT 1 FROM ins)) "
        "SELECT head.value, ins.id FROM head LEFT JOIN ins ON true ORDER BY ins.id")
