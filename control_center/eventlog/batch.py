"""A unit of work: events built together and saved in one transaction.

Examples
--------
>>> with log.batch(actor="control-center", sim_time=now) as b:   # doctest: +SKIP
...     trig = b.add(DecisionTriggered, stream=decision, trigger="timer",
...                  site="la-palma", telescope="t1", inputs={})
...     b.add(NoAssignment, stream=decision, causation=trig,
...           policy="greedy", reason="closed")
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from control_center.eventlog.envelope import LogEvent
from control_center.eventlog.fastjson import event_id_of
from control_center.eventlog.records import Recorded

if TYPE_CHECKING:
    from control_center.eventlog.store import EventLog

__all__ = ["Batch"]

E = TypeVar("E", bound=LogEvent)

_BATCH_DEFAULT: Any = object()
_EVENT_ID = LogEvent.event_id


def _require_aware(when: datetime, what: str) -> None:
    if when.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {when!r}")


def causation_id_of(cause: Any) -> UUID | None:
    """The ``causation_id`` for a cause given as an event, a Recorded, a UUID or None."""
    if cause is None or isinstance(cause, UUID):
        return cause
    if isinstance(cause, Recorded):
        cause = cause.event
    if isinstance(cause, LogEvent) and type(cause).event_id is not _EVENT_ID:
        return cause.event_id  # a subclass with its own notion of event id
    originator_id = getattr(cause, "originator_id", None)
    version = getattr(cause, "originator_version", None)
    if isinstance(originator_id, UUID) and isinstance(version, int):
        return event_id_of(originator_id, version)  # == LogEvent.event_id
    raise TypeError(f"causation must be a LogEvent, a Recorded or a UUID, not {cause!r}")


class Batch:
    """Events added inside a ``with log.batch(...)`` block.

    On leaving the block without an exception every added event is saved in
    one transaction; on an exception nothing is saved and the log's stream
    versions are restored. Use :meth:`EventLog.batch` to create one.

    Attributes
    ----------
    events : list of LogEvent
        The events added so far, in order.
    recorded : list of Recorded
        After a successful save: the events with their positions and hashes.
    """

    def __init__(self, log: EventLog, *, actor: str, sim_time: datetime,
                 correlation_id: UUID | None = None) -> None:
        _require_aware(sim_time, "sim_time")
        self._log = log
        self.actor = actor
        self.sim_time = sim_time
        self.correlation_id = correlation_id
        self.events: list[LogEvent] = []
        self.recorded: list[Recorded] = []
        self._previous_versions: dict[UUID, int | None] = {}
        self._state = "new"

    def add(self, event_class: type[E], *, stream: UUID, causation: Any = None,
            actor: str | None = None, sim_time: datetime | None = None,
            correlation_id: UUID | None = _BATCH_DEFAULT, new_stream: bool = False,
            **fields: Any) -> E:
        """Build the next event of ``stream`` and keep it for saving.

        Parameters
        ----------
        event_class : type of LogEvent
            The event type.
        stream : UUID
            Stream the event belongs to; it gets the stream's next version.
        causation : LogEvent, Recorded, UUID or None
            The event that caused this one (its ``event_id`` is recorded).
        actor, sim_time : optional
            Override the batch's actor and simulated time.
        correlation_id : UUID or None, optional
            Defaults to the batch's correlation id.
        new_stream : bool
            True declares that ``stream`` had no events before this batch (a
            fresh decision or observation id): its first event gets version 1
            without a look-up in the database, a round trip saved per new
            stream. If the stream does exist after all, the save fails with
            eventsourcing's ``IntegrityError`` and nothing is saved.
        **fields
            The event's own fields.

        Returns
        -------
        LogEvent
            The event (not yet saved).
        """
        if self._state != "open":
            raise RuntimeError("Batch.add() is only allowed inside its 'with' block")
        if not (isinstance(event_class, type) and issubclass(event_class, LogEvent)):
            raise TypeError(f"{event_class!r} is not a LogEvent subclass")
        if not isinstance(stream, UUID):
            raise TypeError(f"stream must be a UUID, not {stream!r}")
        when = self.sim_time if sim_time is None else sim_time
        _require_aware(when, "sim_time")
        log = self._log
        with log._versions_lock:
            version = log._next_version(stream, self._previous_versions, new_stream)
            try:
                event = event_class(
                    originator_id=stream,
                    originator_version=version,
                    timestamp=log.clock.now(),
                    sim_time=when,
                    actor=self.actor if actor is None else actor,
                    causation_id=causation_id_of(causation),
                    correlation_id=(self.correlation_id if correlation_id is _BATCH_DEFAULT
                                    else correlation_id),
                    **fields,
                )
            except BaseException:
                log._versions[stream] = version - 1
                raise
        self.events.append(event)
        return event

    def __enter__(self) -> Self:
        if self._state != "new":
            raise RuntimeError("a Batch can be used only once")
        self._state = "open"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._state = "closed"
        if exc_type is not None:
            self._restore_versions()
            return
        if not self.events:
            return
        try:
            self.recorded = self._log._write(self.events)
        except BaseException:
            self._restore_versions()
            raise

    def _restore_versions(self) -> None:
        log = self._log
        with log._versions_lock:
            for stream, previous in self._previous_versions.items():
                if previous is None:
                    log._versions.pop(stream, None)
                else:
                    log._versions[stream] = previous
