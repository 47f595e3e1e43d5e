"""Fast paths for eventsourcing's JSON format (same bytes in, same objects out).

eventsourcing's :class:`~eventsourcing.persistence.JSONTranscoder` writes a
datetime as ``{"_type_": "datetime_iso", "_data_": "..."}`` and a UUID as
``{"_type_": "uuid_hex", "_data_": "..."}``, through a Python hook called for
every such object (and, when decoding, for *every* dict). Event envelopes
hold two datetimes and up to three UUIDs, so the hooks dominate. Here:

- :func:`encode_state` converts the top-level datetimes and UUIDs before the
  C encoder runs (nested ones still go through the hook): the same JSON. A
  state holding only JSON's own types (str keys, finite floats) is written by
  orjson, ~10x faster; it may spell a float differently (``1e-05`` /
  ``0.00001``), never with another value. orjson itself refuses every other
  type (:data:`_ORJSON_OPTIONS`) but UUIDs, Enums and NaN, which it would
  write differently: only those are looked for, a column of a table (a list
  of one scalar type) in one C-level pass (``"".join``, ``sum``);
- :func:`decode_state` runs orjson's decoder (the standard one for ``NaN``
  and integers of 19 digits or more, which orjson refuses or reads as floats) without a hook and converts the
  top-level ``{"_type_", "_data_"}`` values; when the body holds any other
  ``"_type_"`` mark it falls back to the full transcoder: identical result;
- :func:`parse_envelope` reads ``timestamp``, ``sim_time`` and ``actor`` from
  the front of a body with one regular expression, without decoding the rest
  (of a compressed body only the first bytes are decompressed);
- :func:`uuid_from_db` / :func:`uuid_from_hex` build UUIDs without the
  checks of ``UUID.__init__`` and remember recent ones; :func:`event_id_of`
  is ``LogEvent.event_id`` without them.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from datetime import datetime
from hashlib import sha1 as _sha1
from typing import Any
from uuid import UUID, SafeUUID

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex

__all__ = ["COMPRESSED_MARK", "SPLIT_MARK", "StateCodec", "compress_body", "decompress_body",
           "event_id_of", "parse_envelope", "uuid_from_db", "uuid_from_hex"]

COMPRESSED_MARK = b"Z"
"""First byte of a zlib-compressed body (a JSON body always starts with ``{``)."""
SPLIT_MARK = b"Y"
"""First byte of a compressed body whose envelope is kept plain: ``Y``, the envelope's
length (2 bytes, big-endian), the envelope (the JSON up to the actor), then the rest
of the JSON zlib-compressed. The envelope reads without decompressing anything."""
_ENVELOPE_PREFIX = 1024
"""Bytes of a compressed body decompressed to read its envelope."""

_TYPE_MARK = b'"_type_"'
_json_loads = json.loads
_orjson_loads = orjson.loads
_OrjsonDecodeError = orjson.JSONDecodeError
_orjson_dumps = orjson.dumps
_OrjsonEncodeError = orjson.JSONEncodeError
_SCALARS = frozenset((str, int, float, bool, type(None)))
_STR_ONLY = frozenset((str,))
_INF = float("inf")
_fromiso = datetime.fromisoformat
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown
_UUID_CACHE: dict[Any, UUID] = {}
_UUID_CACHE_MAX = 100_000


def _remember(key: Any, value: UUID) -> UUID:
    if len(_UUID_CACHE) >= _UUID_CACHE_MAX:
        _UUID_CACHE.clear()
    _UUID_CACHE[key] = value
    return value


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def _has_long_integer(body: bytes) -> bool:
    """A run of 19 digits or more not after a decimal point: perhaps an integer beyond
    64 bits, which orjson would read as a float."""
    digits = body.translate(_DIGITS_AS_ZERO)
    at = digits.find(_LONG_RUN)
    while at >= 0:
        start = at
        while start and digits[start - 1] == 48:  # "0": walk back to the run's start
            start -= 1
        if not start or digits[start - 1] != 46:  # not a fraction (".")
            return True
        end = at + len(_LONG_RUN)
        while end < len(digits) and digits[end] == 48:
            end += 1
        at = digits.find(_LONG_RUN, end)
    return False


def _loads(body: bytes) -> Any:
    if not _has_long_integer(body):
        try:
            return _orjson_loads(body)
        except _OrjsonDecodeError:
            pass  # NaN or Infinity: the standard decoder reads them
    return _json_loads(body)


def _finite(values: Iterable[Any]) -> bool:
    """No float in ``values`` is NaN or infinite."""
    try:
        total = sum(values)
    except TypeError:  # not only numbers: look at each float
        return all(-_INF < v < _INF for v in values if type(v) is float)
    return total - total == 0  # NaN and infinities propagate (an overflow says False too)


def _refuse(value: Any) -> Any:
    """orjson's ``default``: any type orjson does not write itself goes to the transcoder."""
    raise TypeError


_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
                   | orjson.OPT_PASSTHROUGH_DATACLASS)
"""With these options and :func:`_refuse`, orjson writes only str, int (to 64 bits),
float, bool, None, dict (str keys), list, tuple, UUID and Enum, and refuses the
rest (subclasses, datetimes, dataclasses, numpy, Decimal...)."""
_join = "".join
_NONE = type(None)


def _column_plain(values: list | tuple) -> bool:
    """The usual column of a table: all str, all
    finite numbers, or all None (one C-level pass). A str or int subclass let
    through is refused by orjson (:data:`_ORJSON_OPTIONS`)."""
    first = type(values[0])
    if first is str:
        try:
            _join(values)
        except TypeError:
            return False
        return True
    if first is float or first is int:
        try:
            total = sum(values)
        except TypeError:
            return False
        # int, float, bool and their subclasses (an IntEnum is written as its int by
        # both encoders); Decimal, Fraction, numpy numbers... are refused by orjson.
        return type(total) in _NUMBERS and total - total == 0
    if first is _NONE:
        return values.count(None) == len(values)
    return False


_NUMBERS = frozenset((int, float, bool))


def _orjson_safe(value: dict | list | tuple) -> bool:
    """orjson with :data:`_ORJSON_OPTIONS` writes ``value`` as the transcoder would
    decode it back, or refuses it: no UUID, Enum or non-finite float inside (which
    orjson writes differently, with no error). A list of one scalar type (a column
    of a table) is checked in one pass."""
    values = value.values() if type(value) is dict else value
    types = set(map(type, values))
    if types <= _SCALARS:
        return float not in types or _finite(values)
    for v in values:
        t = type(v)
        if t is list or t is tuple:
            if v and not _column_plain(v) and not _orjson_safe(v):
                return False
        elif t is dict:
            if not _orjson_safe(v):
                return False
        elif t is float:
            if not -_INF < v < _INF:
                return False
        elif t not in _SCALARS:
            return False  # UUID, Enum, datetime...: the transcoder writes them
    return True


def uuid_from_hex(text: str) -> UUID:
    """``UUID(text)`` for a 32-digit hex string, faster (other forms: via ``UUID``)."""
    u = _UUID_CACHE.get(text)
    if u is not None:
        return u
    if len(text) != 32:
        return _remember(text, UUID(text))
    u = _new(UUID)
    _set(u, "int", int(text, 16))
    _set(u, "is_safe", _UNKNOWN)
    return _remember(text, u)


def event_id_of(originator_id: UUID, originator_version: int) -> UUID:
    """``uuid5(originator_id, str(originator_version))`` (``LogEvent.event_id``), faster."""
    digest = _sha1(originator_id.bytes + str(originator_version).encode()).digest()
    value = (int.from_bytes(digest[:16], "big") & _UUID5_CLEAR) | _UUID5_SET
    u = _new(UUID)
    _set(u, "int", value)
    _set(u, "is_safe", _UNKNOWN)
    return u


_UUID5_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID5_SET = (0x8000 << 48) | (5 << 76)


def uuid_from_db(value: Any) -> UUID:
    """A UUID from a raw database value: 16 bytes (SQLite), text (PostgreSQL) or UUID."""
    t = type(value)
    if t is UUID:
        return value
    if t is not bytes and t is not str:
        if isinstance(value, UUID):
            return value
        value = bytes(value) if isinstance(value, bytearray | memoryview) else str(value)
    u = _UUID_CACHE.get(value)
    if u is not None:
        return u
    if type(value) is bytes:
        if len(value) != 16:
            raise ValueError(f"a stream id must be 16 bytes, got {len(value)}")
        u = _new(UUID)
        _set(u, "int", int.from_bytes(value, "big"))
        _set(u, "is_safe", _UNKNOWN)
        return _remember(value, u)
    return _remember(value, UUID(value))


class StateCodec:
    """Encode and decode event states exactly like a given :class:`JSONTranscoder`.

    Parameters
    ----------
    transcoder : JSONTranscoder
        The transcoder whose format to follow (and to fall back on).
    """

    def __init__(self, transcoder: JSONTranscoder) -> None:
        self.transcoder = transcoder
        base = transcoder.encoder
        # The transcoder's encoder without the circular-reference check (an event is a
        # tree; the check costs a dict operation per container): same bytes out.
        self._encode = json.JSONEncoder(
            skipkeys=base.skipkeys, ensure_ascii=base.ensure_ascii, check_circular=False,
            allow_nan=base.allow_nan, sort_keys=base.sort_keys, indent=base.indent,
            separators=(base.item_separator, base.key_separator), default=base.default,
        ).encode
        self._names = transcoder.names
        self._datetime = isinstance(transcoder.types.get(datetime), DatetimeAsISO)
        self._uuid = isinstance(transcoder.types.get(UUID), UUIDAsHex)
        self._dt_name = transcoder.types[datetime].name if self._datetime else None
        self._uuid_name = transcoder.types[UUID].name if self._uuid else None

    def encode_state(self, state: dict[str, Any]) -> bytes:
        """Encode ``state`` (modified in place) as the transcoder would."""
        safe = True  # orjson writes it as the transcoder would decode it back
        dt_mark, uuid_mark = self._datetime, self._uuid
        for key, value in state.items():
            t = type(value)
            if t is str or t is int or t is bool or value is None:
                continue
            if t is datetime and dt_mark:
                state[key] = {"_type_": self._dt_name, "_data_": value.isoformat()}
            elif t is UUID and uuid_mark:
                state[key] = {"_type_": self._uuid_name, "_data_": value.hex}
            elif not safe:
                continue
            elif t is float:
                safe = -_INF < value < _INF
            elif t is list or t is tuple:
                safe = not value or _column_plain(value) or _orjson_safe(value)
            elif t is dict:
                safe = _orjson_safe(value)
            else:
                safe = False
        if safe:
            try:
                return _orjson_dumps(state, _refuse, _ORJSON_OPTIONS)
            except _OrjsonEncodeError:  # beyond 64 bits, a subclass, a datetime inside...
                pass
        return self._encode(state).encode("utf8")

    def decode_state(self, body: bytes) -> dict[str, Any]:
        """Decode a JSON body as the transcoder would."""
        state = _loads(body)
        marks = body.count(_TYPE_MARK)
        if not marks:
            return state
        found = 0
        dt_name, uuid_name, names = self._dt_name, self._uuid_name, self._names
        for key, value in state.items():
            if type(value) is dict and len(value) == 2 and "_type_" in value \
                    and "_data_" in value:
                name, data = value["_type_"], value["_data_"]
                if name == dt_name and type(data) is str:
                    state[key] = _fromiso(data)
                elif name == uuid_name and type(data) is str:
                    state[key] = uuid_from_hex(data)
                else:
                    transcoding = names.get(name)
                    if transcoding is None:
                        break
                    state[key] = transcoding.decode(data)
                found += 1
        if found != marks:
            return self.transcoder.decode(body)
        return state


_ENVELOPE = re.compile(
    rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"([^"\\]*)"\},'
    rb'"sim_time":\{"_type_":"datetime_iso","_data_":"([^"\\]*)"\},'
    rb'"actor":"((?:[^"\\]|\\.)*)"')


def compress_body(body: bytes) -> bytes:
    """``body`` (JSON) compressed, its envelope kept plain (:data:`SPLIT_MARK`) when it
    starts the usual way."""
    m = _ENVELOPE.match(body)
    if m is None or m.end() > 0xFFFF:
        return COMPRESSED_MARK + zlib.compress(body, 1)
    end = m.end()
    return SPLIT_MARK + end.to_bytes(2, "big") + body[:end] + zlib.compress(body[end:], 1)


def decompress_body(body: bytes) -> bytes:
    """The JSON of a stored body, compressed either way or not at all.

    Raises
    ------
    zlib.error, ValueError
        When a compressed body is damaged.
    """
    mark = body[:1]
    if mark == COMPRESSED_MARK:
        return zlib.decompress(body[1:])
    if mark == SPLIT_MARK:
        end = 3 + int.from_bytes(body[1:3], "big")
        if len(body) < end:
            raise ValueError("compressed body shorter than its envelope")
        return body[3:end] + zlib.decompress(body[end:])
    return body


def parse_envelope(body: bytes) -> tuple[datetime, datetime, str] | None:
    """``(timestamp, sim_time, actor)`` read from the front of a body, or None.

    None means the body does not start the usual way (then decode it fully).
    """
    if body[:1] == SPLIT_MARK:
        body = body[3:3 + int.from_bytes(body[1:3], "big")]
    elif body[:1] == COMPRESSED_MARK:
        try:
            body = zlib.decompressobj().decompress(memoryview(body)[1:], _ENVELOPE_PREFIX)
        except zlib.error:
            return None  # decoding the whole body will report it
    m = _ENVELOPE.match(body)
    if m is None:
        return None
    ts, sim, actor = m.groups()
    try:
        actor_text = actor.decode("utf-8") if b"\\" not in actor else json.loads(b'"' + actor + b'"')
        return _fromiso(ts.decode("ascii")), _fromiso(sim.decode("ascii")), actor_text
    except ValueError:
        return None
