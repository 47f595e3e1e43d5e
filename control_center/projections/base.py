"""Projections: read models folded from the log, and where they are kept.

A :class:`Projection` folds recorded events into a JSON-able state. The
:class:`ProjectionStore` saves that state with the position it reached (table
``openastro_projections``), so the next run folds only the new events; delete
the row and the projection is rebuilt from the log, identical.

Examples
--------
>>> class Closures(Projection):
...     name, version = "closures", 1
...     handles = (SiteConditionsChanged,)          # decode only these
...     def __init__(self):
...         self.count = 0
...     def apply_event(self, event):
...         self.count += not event.open
...     def to_state(self):
...         return {"count": self.count}
...     def load_state(self, state):
...         self.count = state["count"]
>>> store = ProjectionStore(log)                    # doctest: +SKIP
>>> store.catch_up(Closures())                      # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from control_center.eventlog.dberrors import translate_db_error
from control_center.eventlog.records import Recorded
from control_center.eventlog.schema import projections_table

if TYPE_CHECKING:
    from control_center.eventlog.store import EventLog

__all__ = ["Projection", "ProjectionStore", "canonical_json"]


def canonical_json(state: dict[str, Any]) -> str:
    """The one JSON text of a state (sorted keys, no spaces): equal states, equal text."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Projection:
    """Base class of read models folded from the log.

    Subclasses set :attr:`name` and :attr:`version` (raise it when the state's
    meaning changes: saved states of another version are rebuilt), build their
    empty state in ``__init__`` (no arguments), and implement
    :meth:`apply_event`, :meth:`to_state` and :meth:`load_state` (or
    :meth:`from_state`).

    Attributes
    ----------
    name : str
        Key of the saved state.
    version : int
        Version of the state's layout.
    handles : tuple of type or None
        Event classes (with subclasses) the projection reads; others are
        skipped without being decoded. None: every event.
    envelope_only : bool
        The projection reads only each record's envelope (``topic``,
        ``position``, ``envelope``, ``actor``, ``sim_time``; never ``event``):
        payloads are then not even fetched.
    position : int
        Position of the last record folded (0: none).
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    handles: ClassVar[tuple[type, ...] | None] = None
    envelope_only: ClassVar[bool] = False
    position: int = 0

    def apply(self, recorded: Recorded) -> None:
        """Fold one recorded event: dispatch by type, skip unknown and unhandled types."""
        cls = recorded.event_type
        if cls is not None and (self.handles is None or issubclass(cls, self.handles)):
            self.apply_event(recorded.event)
        self.position = recorded.position

    def apply_event(self, event: Any) -> None:
        """Fold one decoded event (override)."""

    def to_state(self) -> dict[str, Any]:
        """The state as JSON-able, canonical data (override)."""
        raise NotImplementedError(f"{type(self).__name__}.to_state")

    def from_state(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`to_state` (default: :meth:`load_state`)."""
        self.load_state(state)

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`to_state` (override this or from_state)."""
        raise NotImplementedError(f"{type(self).__name__}.load_state")

    def reset(self) -> None:
        """Return to the empty state (default: run ``__init__`` again)."""
        type(self).__init__(self)
        self.position = 0


class ProjectionStore:
    """Saved projection states of one log (table ``openastro_projections``).

    Parameters
    ----------
    log : EventLog
        The log the projections are folded from (and stored in).
    """

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._table_ready = False

    def _ensure_table(self) -> None:
        if not self._table_ready:
            try:
                projections_table.create(self.log.engine, checkfirst=True)
            except SQLAlchemyError as e:
                raise translate_db_error(e, self.log.url) from e
            self._table_ready = True

    def saved(self, name: str) -> tuple[int, int, dict[str, Any]] | None:
        """``(version, position, state)`` saved under ``name``, or None."""
        self._ensure_table()
        t = projections_table.c
        query = select(t.version, t.position, t.state).where(t.name == name)
        try:
            with self.log.engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as e:
            raise translate_db_error(e, self.log.url) from e
        if row is None:
            return None
        return row[0], row[1], json.loads(row[2])

    def load(self, projection: Projection) -> bool:
        """Restore ``projection`` from its saved state if usable; True if restored.

        A saved state of another version, or beyond the end of the log, is
        ignored (the projection will be rebuilt).
        """
        saved = self.saved(projection.name)
        if saved is None:
            return False
        version, position, state = saved
        if version != projection.version or position > self.log.last_position():
            return False
        projection.reset()
        projection.from_state(state)
        projection.position = position
        return True

    def save(self, projection: Projection) -> None:
        """Save the projection's state and position (replacing any saved one)."""
        self._ensure_table()
        text = canonical_json(projection.to_state())
        t = projections_table.c
        try:
            with self.log.engine.begin() as conn:
                conn.execute(delete(projections_table).where(t.name == projection.name))
                conn.execute(insert(projections_table), {
                    "name": projection.name, "version": projection.version,
                    "position": projection.position, "state": text})
        except SQLAlchemyError as e:
            raise translate_db_error(e, self.log.url) from e

    def catch_up(self, projection: Projection, *, save: bool = True,
                 progress: Callable[[int], None] | None = None) -> int:
        """Bring ``projection`` up to the end of the log; return how many events it folded.

        A fresh projection (position 0) first takes its saved state, if any,
        so only events after the saved position are folded.
        """
        if projection.position == 0:
            self.load(projection)
        folded = self._fold(projection, progress)
        if save and (folded or self.saved(projection.name) is None):
            self.save(projection)
        return folded

    def rebuild(self, projection: Projection, *, save: bool = True,
                progress: Callable[[int], None] | None = None) -> int:
        """Fold ``projection`` from an empty state over the whole log."""
        projection.reset()
        folded = self._fold(projection, progress)
        if save:
            self.save(projection)
        return folded

    def drop(self, name: str) -> bool:
        """Delete the saved state of ``name``; True if there was one."""
        self._ensure_table()
        try:
            with self.log.engine.begin() as conn:
                result = conn.execute(delete(projections_table)
                                      .where(projections_table.c.name == name))
        except SQLAlchemyError as e:
            raise translate_db_error(e, self.log.url) from e
        return bool(result.rowcount)

    def _fold(self, projection: Projection,
              progress: Callable[[int], None] | None) -> int:
        apply = projection.apply
        folded = 0
        for recorded in self.log.read(after=projection.position,
                                      envelope_only=projection.envelope_only):
            apply(recorded)
            folded += 1
            if progress is not None and folded % 10000 == 0:
                progress(folded)
        return folded
