"""The node's durable queue and outbox: one SQLite file (WAL) in the data directory.

Two tables:

``commands``
    Every observation ever submitted, keyed by ``observation_id``, with its state
    (``queued``, ``running``, ``done``, ``cancelled``). A resubmitted id is a
    duplicate: it is neither queued nor executed again. Commands left ``running``
    by a crash are queued again when the outbox is reopened.
``results``
    One row per finished observation: a strictly increasing sequence number
    (``AUTOINCREMENT``: never reused, even after pruning), the observation id
    (unique: a result is never stored twice) and the serialized result. A result
    is committed (``synchronous=FULL``) before anyone may stream it; rows up to
    the acknowledged sequence are pruned.

Payloads are opaque bytes (the node stores serialized protocol messages), so
this module knows nothing of gRPC. All methods are thread-safe.

Example
-------
>>> import tempfile, pathlib
>>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "outbox.sqlite")
>>> box.submit("obs-1", b"command").accepted
True
>>> box.next_command()
('obs-1', b'command')
>>> box.store_result("obs-1", b"result")
1
>>> [(r.seq, r.observation_id) for r in box.pending(0)]
[(1, 'obs-1')]
>>> box.ack(1), box.depth()
(1, 0)
>>> box.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Outbox", "OutboxError", "StoredResult", "Submission"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    observation_id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commands_state ON commands (state, position);
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    observation_id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('acked_seq', 0);
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or written (names the file)."""


@dataclass(frozen=True)
class Submission:
    """What happened to a submitted command."""

    accepted: bool
    duplicate: bool
    state: str
    position: int
    """Commands ahead of it (0: running or next); -1 once it is no longer queued."""


@dataclass(frozen=True)
class StoredResult:
    seq: int
    observation_id: str
    body: bytes


class Outbox:
    """Durable command queue and result outbox.

    Parameters
    ----------
    path : Path
        The SQLite file (created with its directory).
    """

    def __init__(self, path: str | Path, *, durable: bool = True) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            # A crash left these half done: their results were never committed.
            self._db.execute("UPDATE commands SET state='queued' WHERE state='running'")
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"{self.path}: cannot open the outbox ({exc})") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the file; safe to call twice."""
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction (the caller holds the lock)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _one(self, sql: str, args: tuple = ()) -> object:
        row = self._db.execute(sql, args).fetchone()
        return row[0] if row else None

    # -- commands ------------------------------------------------------------------------

    def submit(self, observation_id: str, body: bytes) -> Submission:
        """Queue a command unless its id is known; a known id is a duplicate."""
        with self._lock, self._tx():
            state = self._one("SELECT state FROM commands WHERE observation_id=?",
                              (observation_id,))
            if state is None:
                self._db.execute("INSERT INTO commands (observation_id, body, state) "
                                 "VALUES (?, ?, 'queued')", (observation_id, body))
                state, duplicate = "queued", False
            else:
                duplicate = True
            return Submission(True, duplicate, str(state), self._position(observation_id))

    def _position(self, observation_id: str) -> int:
        row = self._db.execute("SELECT position, state FROM commands WHERE observation_id=?",
                               (observation_id,)).fetchone()
        if row is None or row[1] not in ("queued", "running"):
            return -1
        if row[1] == "running":
            return 0
        ahead = self._one("SELECT COUNT(*) FROM commands WHERE state='queued' AND position<?",
                          (row[0],))
        running = self._one("SELECT COUNT(*) FROM commands WHERE state='running'")
        return int(ahead) + int(running)

    def next_command(self) -> tuple[str, bytes] | None:
        """The oldest queued command, now marked running; None when the queue is empty."""
        with self._lock, self._tx():
            row = self._db.execute("SELECT observation_id, body FROM commands "
                                   "WHERE state='queued' ORDER BY position LIMIT 1").fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE commands SET state='running' WHERE observation_id=?",
                             (row[0],))
            return str(row[0]), bytes(row[1])

    def cancel(self, observation_id: str) -> tuple[str | None, bool]:
        """Cancel a queued command; returns its state afterwards (None if unknown) and
        whether this call cancelled it."""
        with self._lock, self._tx():
            changed = self._db.execute("UPDATE commands SET state='cancelled' "
                                       "WHERE observation_id=? AND state='queued'",
                                       (observation_id,)).rowcount > 0
            state = self._one("SELECT state FROM commands WHERE observation_id=?",
                              (observation_id,))
            return (None if state is None else str(state)), changed

    def state(self, observation_id: str) -> str | None:
        with self._lock:
            state = self._one("SELECT state FROM commands WHERE observation_id=?",
                              (observation_id,))
            return None if state is None else str(state)

    def queue_length(self) -> int:
        """Commands queued or running."""
        with self._lock:
            return int(self._one("SELECT COUNT(*) FROM commands "
                                 "WHERE state IN ('queued', 'running')"))

    def running(self) -> str | None:
        with self._lock:
            value = self._one("SELECT observation_id FROM commands WHERE state='running' "
                              "ORDER BY position LIMIT 1")
            return None if value is None else str(value)

    # -- results -------------------------------------------------------------------------

    def store_result(self, observation_id: str, body: bytes) -> int:
        """Commit a result (and mark its command done); returns its sequence.

        A result already stored for ``observation_id`` is kept as it is and its
        sequence returned: nothing is stored twice.
        """
        with self._lock:
            try:
                with self._tx():
                    seq = self._one("SELECT seq FROM results WHERE observation_id=?",
                                    (observation_id,))
                    if seq is None:
                        seq = self._db.execute(
                            "INSERT INTO results (observation_id, body) VALUES (?, ?)",
                            (observation_id, body)).lastrowid
                    self._db.execute("UPDATE commands SET state='done' "
                                     "WHERE observation_id=? AND state!='cancelled'",
                                     (observation_id,))
                    return int(seq)
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.path}: cannot store the result of "
                                  f"{observation_id!r} ({exc})") from None

    def pending(self, after_seq: int, *, limit: int = 1000,
                observation_id: str | None = None) -> list[StoredResult]:
        """Stored results with a sequence above ``after_seq``, in order."""
        sql = "SELECT seq, observation_id, body FROM results WHERE seq>?"
        args: tuple = (after_seq,)
        if observation_id:
            sql += " AND observation_id=?"
            args += (observation_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq LIMIT ?", (*args, limit)).fetchall()
        return [StoredResult(int(s), str(o), bytes(b)) for s, o, b in rows]

    def ack(self, up_to: int) -> int:
        """Everything up to ``up_to`` was received: prune it; returns the acked sequence.

        The acknowledged sequence never decreases, and never passes the newest result.
        """
        with self._lock, self._tx():
            last = int(self._one("SELECT COALESCE(MAX(seq), 0) FROM results") or 0)
            stored = int(self._one("SELECT seq FROM sqlite_sequence WHERE name='results'") or 0)
            current = int(self._one("SELECT value FROM meta WHERE key='acked_seq'"))
            acked = max(current, min(int(up_to), max(last, stored)))
            self._db.execute("UPDATE meta SET value=? WHERE key='acked_seq'", (acked,))
            self._db.execute("DELETE FROM results WHERE seq<=?", (acked,))
            return acked

    def acked_seq(self) -> int:
        with self._lock:
            return int(self._one("SELECT value FROM meta WHERE key='acked_seq'"))

    def last_seq(self) -> int:
        """Sequence of the newest result ever stored (0 if none)."""
        with self._lock:
            return int(self._one("SELECT seq FROM sqlite_sequence WHERE name='results'") or 0)

    def depth(self) -> int:
        """Results stored and not yet acknowledged."""
        with self._lock:
            return int(self._one("SELECT COUNT(*) FROM results"))
