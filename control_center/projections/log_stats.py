"""What the log holds: counts per event type and per actor, and its time span.

Reads only the envelope of each record (type, actor, times), never the
payload, so it folds at the speed of the database scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.utils import resolve_topic

from control_center.eventlog.records import Recorded
from control_center.projections.base import Projection

__all__ = ["LogStats", "type_name_of_topic"]


def type_name_of_topic(topic: str) -> str:
    """Class name behind ``topic``; ``"?<topic>"`` when it cannot be imported."""
    try:
        cls = resolve_topic(topic)
    except Exception:  # noqa: BLE001 - any import failure means "unknown here"
        return f"?{topic}"
    return getattr(cls, "__name__", f"?{topic}")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


class LogStats(Projection):
    """Counts of events per type, per actor and per kind of actor, and the log's span.

    Events of unknown types (a plugin not installed here) are counted too,
    under ``"?<topic>"``: they are records of the log all the same.

    Examples
    --------
    >>> stats = LogStats()
    >>> stats.to_state()["events"]
    0
    """

    name = "log-stats"
    version = 1
    envelope_only = True

    def __init__(self) -> None:
        self.events = 0
        self.first_position: int | None = None
        self.last_position: int | None = None
        self.first_sim_time: datetime | None = None
        self.last_sim_time: datetime | None = None
        self.first_wall_time: datetime | None = None
        self.last_wall_time: datetime | None = None
        self.by_topic: dict[str, int] = {}
        self.by_actor: dict[str, int] = {}

    def apply(self, recorded: Recorded) -> None:
        """Count one record (envelope only)."""
        wall, sim, actor = recorded.envelope
        topic = recorded.topic
        by_topic = self.by_topic
        by_topic[topic] = by_topic.get(topic, 0) + 1
        by_actor = self.by_actor
        by_actor[actor] = by_actor.get(actor, 0) + 1
        if not self.events:
            self.first_position = recorded.position
            self.first_sim_time = sim
            self.first_wall_time = wall
        self.events += 1
        self.last_position = self.position = recorded.position
        self.last_sim_time = sim
        self.last_wall_time = wall

    def by_type(self) -> dict[str, int]:
        """Counts per event class name (``"?<topic>"`` for unknown classes)."""
        out: dict[str, int] = {}
        for topic, n in self.by_topic.items():
            name = type_name_of_topic(topic)
            out[name] = out.get(name, 0) + n
        return dict(sorted(out.items()))

    def by_actor_kind(self) -> dict[str, int]:
        """Counts per kind of actor: ``plugin``, ``observer``, ``site``, ``control-center``."""
        out: dict[str, int] = {}
        for actor, n in self.by_actor.items():
            kind = actor.partition(":")[0]
            out[kind] = out.get(kind, 0) + n
        return dict(sorted(out.items()))

    def to_state(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "first_position": self.first_position,
            "last_position": self.last_position,
            "first_sim_time": _iso(self.first_sim_time),
            "last_sim_time": _iso(self.last_sim_time),
            "first_wall_time": _iso(self.first_wall_time),
            "last_wall_time": _iso(self.last_wall_time),
            "by_topic": dict(sorted(self.by_topic.items())),
            "by_type": self.by_type(),
            "by_actor": dict(sorted(self.by_actor.items())),
            "by_actor_kind": self.by_actor_kind(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.events = int(state["events"])
        self.first_position = state["first_position"]
        self.last_position = state["last_position"]
        self.first_sim_time = _dt(state["first_sim_time"])
        self.last_sim_time = _dt(state["last_sim_time"])
        self.first_wall_time = _dt(state["first_wall_time"])
        self.last_wall_time = _dt(state["last_wall_time"])
        self.by_topic = dict(state["by_topic"])
        self.by_actor = dict(state["by_actor"])
