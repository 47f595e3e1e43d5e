"""The write path: chain the records and insert them with the head, in one transaction.

Inside eventsourcing's datastore transaction the chain head row of
``openastro_log_meta`` is locked first (a no-op ``UPDATE ... RETURNING``: on
PostgreSQL a row lock held to commit, like ``SELECT ... FOR UPDATE``; on
SQLite the database write lock, taken before anything is read). The chain
then continues from that head, whatever another writer did since our last
write; the records are inserted and the head moved before the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    case,
    event,
    func,
    insert,
    select,
    text,
    update,
)

from control_center.eventlog.chain import GENESIS, seal
from control_center.eventlog.schema import meta_table

__all__ = ["ChainWriter", "relax_durability"]

_m = meta_table.c
_LOCK_HEAD = (update(meta_table).where(_m.key == "head_hash").values(value=_m.value)
              .returning(_m.value))
_MOVE_HEAD = (update(meta_table).where(_m.key.in_(["head_position", "head_hash"]))
              .values(value=case((_m.key == "head_position", bindparam("position")),
                                 else_=bindparam("hash"))))
_LAST_ROWID = text("SELECT last_insert_rowid()")


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


class ChainWriter:
    """Inserts chained records into one events table (statements built once).

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
        self._insert_returning = insert(table).returning(c.id, sort_by_parameter_order=True)
        self._sqlite_insert = (f"INSERT INTO {table.name} (originator_id, originator_version, "
                               "topic, state) VALUES (?, ?, ?, ?)")

    def write(self, conn: Connection, bodies: Sequence[StoredEvent]) -> list[tuple]:
        """Chain ``bodies`` after the locked head, insert them and move the head.

        Returns one ``(position, originator_id, originator_version, topic, state)``
        row per body, as the readers select them.
        """
        value = conn.execute(_LOCK_HEAD).scalar()
        prev = bytes.fromhex(value) if value else GENESIS
        rows = []
        for s in bodies:
            state, prev = seal(prev, s.originator_id, s.originator_version, s.topic, s.state)
            rows.append((s.originator_id, s.originator_version, s.topic, state))
        positions = self._insert(conn, rows)
        conn.execute(_MOVE_HEAD, {"position": str(positions[-1]), "hash": prev.hex()})
        return [(p, *r) for p, r in zip(positions, rows, strict=True)]

    def _insert(self, conn: Connection, rows: list[tuple]) -> list[int]:
        if self.dialect == "sqlite":
            # One executemany straight to the driver (ids stored as 16 bytes, as
            # eventsourcing's UUIDType does on SQLite). Under the write lock SQLite gives
            # the rows consecutive ids (max(rowid) + 1 each): the last one tells all.
            conn.exec_driver_sql(self._sqlite_insert,
                                 [(oid.bytes, v, t, s) for oid, v, t, s in rows])
            last = conn.execute(_LAST_ROWID).scalar()
            return list(range(last - len(rows) + 1, last + 1))
        params = [{"originator_id": oid, "originator_version": v, "topic": t, "state": s}
                  for oid, v, t, s in rows]
        return list(conn.execute(self._insert_returning, params).scalars())
