"""What readers of the log receive: a :class:`Recorded` event at a position.

An event whose type cannot be imported (say, from a plugin that is not
installed here) is read as an :class:`UnknownEvent` instead of crashing the
reader; ``log tail`` shows it as ``?<topic>`` and projections skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from control_center.eventlog.envelope import LogEvent
from control_center.eventlog.errors import LogError
from control_center.eventlog.fastjson import parse_envelope

__all__ = ["Recorded", "UnknownEvent", "VerifyReport"]


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """A record whose event class could not be resolved from its topic.

    Attributes
    ----------
    topic : str
        ``module:QualName`` of the missing class.
    position : int
        Global position (notification id) of the record.
    state : dict
        The decoded fields (envelope included, datetimes and UUIDs decoded).
    originator_id : UUID
        Stream of the record.
    originator_version : int
        Position in that stream.
    """

    topic: str
    position: int
    state: dict
    originator_id: UUID
    originator_version: int

    @property
    def type_name(self) -> str:
        """``"?" + topic``: how listings show an event of an unknown type."""
        return f"?{self.topic}"

    @property
    def actor(self) -> str:
        return str(self.state.get("actor", "?"))

    @property
    def sim_time(self) -> datetime | None:
        value = self.state.get("sim_time")
        return value if isinstance(value, datetime) else None

    @property
    def timestamp(self) -> datetime | None:
        value = self.state.get("timestamp")
        return value if isinstance(value, datetime) else None

    def payload(self) -> dict[str, Any]:
        """The record's fields without the envelope."""
        skip = {"timestamp", "sim_time", "actor", "causation_id", "correlation_id",
                "class_version"}
        return {k: v for k, v in self.state.items() if k not in skip}


class Recorded:
    """One event as stored in the log, at its global position.

    Immutable. Built by the log's readers, it decodes its event only when
    :attr:`event` is first read; :attr:`topic`, :attr:`event_type`,
    :attr:`type_name`, :attr:`actor`, :attr:`sim_time` and :attr:`wall_time`
    are available without decoding the payload, so a projection that skips
    most types (or needs only the envelope) folds much faster.

    Parameters
    ----------
    position : int
        Global position (the notification id), increasing across all streams.
    event : LogEvent or UnknownEvent, optional
        The event, when already decoded.
    record_hash : bytes
        The record's 32-byte chain hash.

    Attributes
    ----------
    position : int
    record_hash : bytes
    topic : str
        Topic (``module:QualName``) of the event's class.
    """

    __slots__ = ("_env", "_event", "_mapper", "_raw", "position", "record_hash", "topic")

    def __init__(self, position: int, event: LogEvent | UnknownEvent | None = None,
                 record_hash: bytes = b"", *, topic: str | None = None,
                 raw: tuple[Any, int, bytes] | None = None, mapper: Any = None) -> None:
        if event is None and (raw is None or mapper is None or topic is None):
            raise TypeError("Recorded needs an event, or topic + raw + mapper")
        if topic is None:
            topic = event.topic if isinstance(event, UnknownEvent) else _topic(type(event))
        init = object.__setattr__
        init(self, "position", position)
        init(self, "record_hash", record_hash)
        init(self, "topic", topic)
        init(self, "_event", event)
        init(self, "_raw", raw)
        init(self, "_mapper", mapper)
        init(self, "_env", None)

    @classmethod
    def lazy(cls, position: int, record_hash: bytes, topic: str, raw: tuple[Any, int, bytes],
             mapper: Any) -> Recorded:
        """A record to decode on first use (what readers build, one per row: kept cheap)."""
        self = _new(cls)
        _set_position(self, position)
        _set_hash(self, record_hash)
        _set_topic(self, topic)
        _set_event(self, None)
        _set_raw(self, raw)
        _set_mapper(self, mapper)
        _set_env(self, None)
        return self

    @classmethod
    def envelope_only(cls, position: int, record_hash: bytes, topic: str,
                      envelope: tuple[Any, Any, str], mapper: Any) -> Recorded:
        """A record read for its envelope only (its payload was not fetched)."""
        self = cls.lazy(position, record_hash, topic, None, mapper)  # type: ignore[arg-type]
        _set_env(self, envelope)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Recorded is immutable")

    @property
    def event(self) -> LogEvent | UnknownEvent:
        """The decoded event (upcast to the current class version).

        Raises
        ------
        LogSchemaTooNew
            If the record was written by a newer version of its class.
        """
        event = self._event
        if event is None:
            if self._raw is None:
                raise LogError(getattr(self._mapper, "url", "?"),
                               f"record {self.position} was read for its envelope only "
                               "(a projection with envelope_only = True read a payload)")
            originator_id, version, body = self._raw
            event = self._mapper.decode(self.position, originator_id, version, self.topic, body)
            object.__setattr__(self, "_event", event)
        return event

    @property
    def event_type(self) -> type | None:
        """The event's class, or None when it cannot be imported (no decoding)."""
        if self._event is not None:
            return None if isinstance(self._event, UnknownEvent) else type(self._event)
        info = self._mapper.type_info(self.topic)
        return None if info is None else info.cls

    @property
    def type_name(self) -> str:
        """Class name of the event, ``"?<topic>"`` when the class is unknown."""
        cls = self.event_type
        return f"?{self.topic}" if cls is None else cls.__name__

    def _envelope(self) -> tuple[Any, Any, str]:
        env = self._env
        if env is None:
            if self._event is None:
                env = parse_envelope(self._raw[2])
            if env is None:
                event = self.event
                env = (event.timestamp, event.sim_time, event.actor)
            object.__setattr__(self, "_env", env)
        return env

    @property
    def envelope(self) -> tuple[datetime, datetime, str]:
        """``(wall_time, sim_time, actor)``, read without decoding the payload."""
        return self._env or self._envelope()

    @property
    def actor(self) -> str:
        """Who acted (from the envelope, without decoding the payload)."""
        return self._envelope()[2]

    @property
    def sim_time(self) -> datetime | None:
        """Simulated time of the event (from the envelope)."""
        return self._envelope()[1]

    @property
    def wall_time(self) -> datetime | None:
        """Wall-clock time of recording (from the envelope)."""
        return self._envelope()[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Recorded):
            return NotImplemented
        return (self.position, self.record_hash, self.topic) == \
            (other.position, other.record_hash, other.topic)

    def __hash__(self) -> int:
        return hash((self.position, self.record_hash))

    def __repr__(self) -> str:
        return (f"Recorded(position={self.position}, type={self.type_name}, "
                f"record_hash={self.record_hash.hex()[:16]}...)")


_new = object.__new__
_set_position = Recorded.position.__set__  # type: ignore[attr-defined]
_set_hash = Recorded.record_hash.__set__  # type: ignore[attr-defined]
_set_topic = Recorded.topic.__set__  # type: ignore[attr-defined]
_set_event = Recorded._event.__set__  # type: ignore[attr-defined]
_set_raw = Recorded._raw.__set__  # type: ignore[attr-defined]
_set_mapper = Recorded._mapper.__set__  # type: ignore[attr-defined]
_set_env = Recorded._env.__set__  # type: ignore[attr-defined]


def _topic(cls: type) -> str:
    from eventsourcing.utils import get_topic

    return get_topic(cls)


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :meth:`EventLog.verify`.

    Attributes
    ----------
    ok : bool
        True when every check passed.
    records : int
        Records checked.
    head_hash : str
        Hex hash of the last record checked (64 zeros for an empty log).
    first_bad_position : int or None
        Position of the first record that failed a check, if any.
    problem : str
        One line describing the first problem ("" when ok).
    """

    ok: bool
    records: int
    head_hash: str
    first_bad_position: int | None = None
    problem: str = ""
