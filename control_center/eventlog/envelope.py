"""The envelope every event in the log carries.

An event belongs to one stream (``originator_id``) at one position in it
(``originator_version``); the log also gives it one global position (the
notification id) across all streams. Besides its own fields every event
records when it happened in simulated time and on the wall clock, who acted,
and which event caused it.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import DomainEvent

__all__ = ["STREAM_NAMESPACE", "LogEvent", "stream_id"]

STREAM_NAMESPACE = UUID("6f1c2f8e-4c1a-5b7e-9a51-0a57a0c0ffee")
"""Namespace of the name-based (uuid5) ids of streams and events."""


@functools.lru_cache(maxsize=4096)
def stream_id(kind: str, name: str) -> UUID:
    """Deterministic id of a named stream, e.g. ``stream_id("site", "la-palma")``.

    Remembered (the same few site and telescope streams are named for every event).
    """
    return uuid.uuid5(STREAM_NAMESPACE, f"{kind}:{name}")


class LogEvent(DomainEvent):
    """Base class of every event in the OpenAstro log (plugins subclass it too).

    Attributes
    ----------
    originator_id : UUID
        The stream this event belongs to.
    originator_version : int
        Position in that stream, from 1.
    timestamp : datetime
        Wall-clock time of recording (from the log's clock, never read directly).
    sim_time : datetime
        Time in the (possibly simulated) world the event is about.
    actor : str
        Who acted: ``"plugin:<name>"``, ``"observer:<name>"``, ``"site:<name>"``,
        or ``"control-center"``.
    causation_id : UUID or None
        ``event_id`` of the event that caused this one.
    correlation_id : UUID or None
        Id shared by every event of one unit of work (a decision, a night).

    Notes
    -----
    Versioning: a class that changes its fields raises ``class_version`` and adds
    a static method ``upcast_v<n>_v<n+1>(state: dict)`` that rewrites an older
    record in place; old logs then load as the new class.
    """

    class_version: ClassVar[int] = 1

    sim_time: datetime
    actor: str
    causation_id: UUID | None
    correlation_id: UUID | None

    @property
    def event_id(self) -> UUID:
        """Deterministic id of this event: derived from its stream and position."""
        return uuid.uuid5(self.originator_id, str(self.originator_version))

    @property
    def wall_time(self) -> datetime:
        return self.timestamp

    @property
    def type_name(self) -> str:
        return type(self).__name__

    def payload(self) -> dict:
        """The event's own fields (without the envelope)."""
        skip = _ENVELOPE_FIELDS
        return {k: v for k, v in vars(self).items() if k not in skip}


_ENVELOPE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "sim_time",
                              "actor", "causation_id", "correlation_id"})
