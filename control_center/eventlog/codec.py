"""From events to stored bodies and back.

:class:`LogMapper` is eventsourcing's :class:`~eventsourcing.persistence.Mapper`
(same JSON format, same ``class_version`` / ``upcast_v<n>_v<n+1>`` upcasting)
with these additions:

- stored states carry the 64-byte chain header (see :mod:`.chain`), stripped
  before decoding;
- a record written by a newer class version than the code's raises
  :class:`~control_center.eventlog.errors.LogSchemaTooNew` instead of loading
  silently, and a record whose class cannot be imported becomes an
  :class:`~control_center.eventlog.records.UnknownEvent`;
- encoding and decoding take the fast paths of :mod:`.fastjson` (same bytes,
  same objects), and each topic is resolved once;
- bodies longer than :data:`COMPRESS_ABOVE` bytes (the candidate tables of a
  decision) are stored zlib-compressed behind a marker byte (a JSON body
  always starts with ``{``): ``Y`` keeps the envelope plain in front, so
  readers of envelopes decompress nothing; ``Z`` (the whole body compressed)
  is what earlier versions wrote and still reads. The chain hashes the stored
  bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from control_center.eventlog.chain import HEADER_SIZE
from control_center.eventlog.envelope import LogEvent
from control_center.eventlog.errors import LogCorrupt, LogSchemaTooNew
from control_center.eventlog.fastjson import (
    StateCodec,
    compress_body,
    decompress_body,
    uuid_from_db,
)
from control_center.eventlog.records import UnknownEvent

__all__ = ["COMPRESS_ABOVE", "LogMapper", "TypeInfo", "topic_of"]

COMPRESS_ABOVE = 4096
"""Bodies longer than this are stored compressed."""

_new = object.__new__
_set = object.__setattr__


def topic_of(cls: type) -> str:
    """Topic (``module:QualName``) under which events of ``cls`` are stored."""
    return get_topic(cls)


class TypeInfo:
    """What decoding needs to know about one event class, resolved once per topic."""

    __slots__ = ("class_version", "cls", "name", "upcasters")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name: str = cls.__name__
        self.class_version: int = getattr(cls, "class_version", 1)
        self.upcasters: dict[int, Callable[[dict], Any]] = {}
        for v in range(1, self.class_version):
            upcast = getattr(cls, f"upcast_v{v}_v{v + 1}", None)
            if upcast is not None:
                self.upcasters[v] = upcast


class LogMapper(Mapper):
    """Mapper of chained OpenAstro records (see module docstring).

    Parameters
    ----------
    transcoder : Transcoder
        Must be a :class:`~eventsourcing.persistence.JSONTranscoder`.
    compressor, cipher
        Not supported (the chain hashes the stored body); must be None.
    """

    def __init__(self, transcoder: Transcoder, compressor: Any = None,
                 cipher: Any = None) -> None:
        if compressor is not None or cipher is not None:
            raise ValueError("the OpenAstro log supports neither compression nor a cipher")
        if not isinstance(transcoder, JSONTranscoder):
            raise TypeError("the OpenAstro log needs a JSONTranscoder")
        super().__init__(transcoder=transcoder)
        self.url = "?"
        self.codec = StateCodec(transcoder)
        self._types: dict[str, TypeInfo | None] = {}

    # -- encoding ---------------------------------------------------------------------

    def encode_body(self, event: LogEvent) -> StoredEvent:
        """Return the stored event of ``event`` with its plain JSON body (no header).

        Same bytes as :meth:`Mapper.to_stored_event`.
        """
        cls = type(event)
        state = dict(event.__dict__)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        body = self.codec.encode_state(state)
        if len(body) > COMPRESS_ABOVE:
            body = compress_body(body)
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=get_topic(cls), state=body)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """Unchained stored event (the chain is added by the log when it inserts)."""
        return self.encode_body(domain_event)

    # -- decoding ---------------------------------------------------------------------

    def type_info(self, topic: str) -> TypeInfo | None:
        """Resolve ``topic`` once; None when its class cannot be imported."""
        try:
            return self._types[topic]
        except KeyError:
            pass
        try:
            cls = resolve_topic(topic)
        except (TopicError, ImportError, AttributeError, ValueError):
            info = None
        else:
            info = TypeInfo(cls) if isinstance(cls, type) else None
        self._types[topic] = info
        return info

    def decode(self, position: int, originator_id: Any, originator_version: int,
               topic: str, body: bytes) -> LogEvent | UnknownEvent:
        """Decode one record's body (header already stripped).

        Parameters
        ----------
        position : int
            Global position (for messages and unknown events).
        originator_id : UUID, bytes or str
            Stream id as a UUID or as the database returned it.
        originator_version : int
            Version in the stream.
        topic : str
            Topic of the event class.
        body : bytes
            JSON body.

        Raises
        ------
        LogSchemaTooNew
            If the record was written by a newer version of its class.
        LogCorrupt
            If the body cannot be decoded.
        """
        try:
            body = decompress_body(body)
            state = self.codec.decode_state(body)
        except (ValueError, TypeError, zlib.error) as e:  # JSON, utf-8, zlib, transcoding
            raise LogCorrupt(self.url, f"record {position} ({topic}): body cannot be "
                                       f"decoded ({e})") from e
        stream = uuid_from_db(originator_id)
        info = self._types[topic] if topic in self._types else self.type_info(topic)
        if info is None:
            return UnknownEvent(topic, position, state, stream, originator_version)
        stored_version = state.pop("class_version", 1)
        if stored_version != info.class_version:
            self._upcast(info, state, stored_version, position)
        state["originator_id"] = stream
        state["originator_version"] = originator_version
        event = _new(info.cls)
        _set(event, "__dict__", state)
        return event

    def _upcast(self, info: TypeInfo, state: dict, stored_version: int,
                position: int) -> None:
        if stored_version > info.class_version:
            raise LogSchemaTooNew(
                self.url,
                f"record {position} ({info.name}) was written with class_version "
                f"{stored_version}, this OpenAstro knows only up to {info.class_version}; "
                "upgrade OpenAstro (or the plugin that defines it) to read this log")
        for v in range(stored_version, info.class_version):
            upcast = info.upcasters.get(v)
            if upcast is None:
                raise LogSchemaTooNew(
                    self.url, f"record {position} ({info.name}) has class_version {v} but "
                    f"{info.cls.__qualname__} has no upcast_v{v}_v{v + 1}")
            upcast(state)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """Decode a chained stored event (as eventsourcing's event store calls it)."""
        originator_id = stored_event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        return self.decode(0, originator_id, stored_event.originator_version,
                           stored_event.topic, bytes(stored_event.state)[HEADER_SIZE:])
