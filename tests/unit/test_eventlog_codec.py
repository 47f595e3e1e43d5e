"""The fast JSON paths give exactly what eventsourcing's transcoder gives."""

from __future__ import annotations

import enum
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper

from control_center.eventlog import LogEvent
from control_center.eventlog.codec import LogMapper, topic_of
from control_center.eventlog.errors import LogCorrupt
from control_center.eventlog.fastjson import (
    COMPRESSED_MARK,
    SPLIT_MARK,
    StateCodec,
    decompress_body,
    parse_envelope,
    uuid_from_db,
    uuid_from_hex,
)

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)


class Rich(LogEvent):
    numbers: list
    nested: dict
    when: datetime
    ref: uuid.UUID
    amount: Decimal
    text: str


def transcoder() -> JSONTranscoder:
    t = JSONTranscoder()
    Application.register_transcodings(None, t)  # type: ignore[arg-type]
    return t


def rich(**overrides) -> Rich:
    fields = {
        "originator_id": uuid.uuid4(), "originator_version": 3, "timestamp": T0,
        "sim_time": T0 + timedelta(hours=1), "actor": 'observer:ana "the \\ night"',
        "causation_id": uuid.uuid4(), "correlation_id": None,
        "numbers": [1, 2.5, -3e-9, None, True],
        "nested": {"a": [{"b": 1}], "_type_": "not special"},
        "when": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-3))),
        "ref": uuid.uuid4(), "amount": Decimal("1.10"), "text": '"_type_" ünïcode ✓',
    }
    fields.update(overrides)
    return Rich(**fields)


@pytest.mark.parametrize("event", [
    rich(),
    rich(nested={"deep": {"at": T0, "id": uuid.uuid4()}}),  # nested transcoded values
    rich(nested={}, text="_type_"),
    rich(numbers=[], correlation_id=uuid.uuid4()),
])
def test_same_bytes_and_objects_as_eventsourcing(event: Rich) -> None:
    reference = Mapper(transcoder=transcoder())
    ours = LogMapper(transcoder=transcoder())
    stored = reference.to_stored_event(event)
    assert ours.encode_body(event) == stored
    decoded = ours.decode(1, event.originator_id, 3, stored.topic, stored.state)
    assert decoded == reference.to_domain_event(stored) == event
    assert type(decoded) is Rich
    assert ours.codec.decode_state(stored.state) == transcoder().decode(stored.state)


class _Tag(str):
    """A str subclass."""


class _Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class _Colour(str, enum.Enum):
    RED = "red"


class Plain(LogEvent):
    table: dict
    extra: list


@pytest.mark.parametrize("table, extra", [
    ({"ra": [1.5, 2.25e-9, -0.0], "name": ["a", "ü ✓", None], "n": [1, 2**62, True]}, []),
    ({"ra": [float("nan"), 1.0]}, [float("inf")]),  # orjson would write null: not taken
    ({"deep": [{"id": uuid.uuid4(), "at": T0}]}, [("t", 1)]),  # nested transcoded values
    ({"big": [2**70]}, [{"k": {"k": [1.0, None, "x"]}}]),  # beyond orjson's integers
    ({"f": [__import__("numpy").float64(0.1)]}, []),  # a float subclass
    # Columns checked in one pass: whatever sneaks past is still written as the
    # transcoder would decode it back.
    ({"ids": [uuid.uuid4(), uuid.uuid4()]}, [[uuid.uuid4()]]),  # orjson would write strings
    ({"x": [1.0, float("nan")], "y": [1, float("inf")]}, [[0.5, float("-inf")]]),
    ({"n": [1, Decimal("1.5")], "m": [2.5, True, Decimal(2)]}, []),  # summable, not JSON
    ({"s": ["a", _Tag("b")], "e": [_Level.LOW, _Level.HIGH]}, [[1, _Level.LOW]]),
    ({"c": [_Colour.RED, _Colour.RED]}, [[None, None], [None, 1e308, 1e308]]),  # overflow
    ({"empty": [], "t": ("a", "b"), "mixed": ["a", 1, None, 2.5, True]}, [[]]),
])
def test_plain_states_take_the_fast_encoder_with_the_same_values(table, extra) -> None:
    """Whichever encoder writes a body, it decodes to what the transcoder decodes."""
    event = Plain(originator_id=uuid.uuid4(), originator_version=1, timestamp=T0,
                  sim_time=T0, actor="site:x", causation_id=None, correlation_id=None,
                  table=table, extra=extra)
    ours = LogMapper(transcoder=transcoder())
    body = ours.encode_body(event).state
    decoded = ours.decode(1, event.originator_id, 1, topic_of(Plain), body)
    reference = Mapper(transcoder=transcoder())
    expected = reference.to_domain_event(reference.to_stored_event(event))
    assert repr(decoded.table) == repr(expected.table)  # repr: NaN != NaN
    assert repr(decoded.extra) == repr(expected.extra)
    assert parse_envelope(body) == (T0, T0, "site:x")


def test_envelope_is_read_from_the_front_of_the_body() -> None:
    event = rich()
    body = LogMapper(transcoder=transcoder()).encode_body(event).state
    assert parse_envelope(body) == (event.timestamp, event.sim_time, event.actor)
    assert parse_envelope(b'{"sim_time":1,"timestamp":2}') is None
    assert parse_envelope(b"[]") is None


def test_envelope_of_a_compressed_body_without_decoding_it() -> None:
    event = rich(numbers=list(range(3000)))  # a body long enough to be compressed
    mapper = LogMapper(transcoder=transcoder())
    body = mapper.encode_body(event).state
    assert body[:1] == SPLIT_MARK and len(body) < len(mapper.codec.encode_state(
        dict(event.__dict__))) / 2
    envelope = (event.timestamp, event.sim_time, event.actor)
    assert parse_envelope(body) == envelope
    assert parse_envelope(body[:300]) == envelope  # what an envelope-only read fetches
    assert mapper.decode(1, event.originator_id, 3, topic_of(Rich), body) == event
    assert parse_envelope(COMPRESSED_MARK + b"not zlib at all") is None
    with pytest.raises(LogCorrupt, match="record 1"):
        mapper.decode(1, event.originator_id, 3, topic_of(Rich), body[:-10])


def test_bodies_compressed_whole_by_earlier_versions_still_read() -> None:
    event = rich(numbers=list(range(3000)))
    mapper = LogMapper(transcoder=transcoder())
    plain = decompress_body(mapper.encode_body(event).state)
    legacy = COMPRESSED_MARK + zlib.compress(plain)
    assert decompress_body(legacy) == plain
    assert parse_envelope(legacy) == (event.timestamp, event.sim_time, event.actor)
    assert mapper.decode(1, event.originator_id, 3, topic_of(Rich), legacy) == event


def test_state_codec_falls_back_for_unregistered_types() -> None:
    codec = StateCodec(transcoder())
    with pytest.raises(TypeError):
        codec.encode_state({"x": object()})


def test_uuid_helpers() -> None:
    u = uuid.uuid4()
    assert uuid_from_hex(u.hex) == u and uuid_from_hex(str(u)) == u
    assert uuid_from_db(u.bytes) == u and uuid_from_db(str(u)) == u and uuid_from_db(u) is u
    assert uuid_from_db(memoryview(u.bytes)) == u
    assert hash(uuid_from_hex(u.hex)) == hash(u) and uuid_from_hex(u.hex).version == 4
    with pytest.raises(ValueError):
        uuid_from_db(b"short")


def test_mapper_refuses_compression_and_ciphers() -> None:
    with pytest.raises(ValueError):
        LogMapper(transcoder=transcoder(), compressor=object())


def _candidate_table(n: int) -> dict:
    return {"request_id": [f"survey-SUR{i:04d}" for i in range(n)],
            "ra_deg": [i * 0.4375 for i in range(n)], "dec_deg": [-30.5 + i / 8 for i in range(n)],
            "exposure_s": [30.0] * n, "priority": [i % 10 for i in range(n)],
            "not_before": [None] * n, "open": [i % 2 == 0 for i in range(n)]}


def test_a_candidate_table_takes_the_fast_encoder_and_keeps_its_bytes(monkeypatch) -> None:
    """Columns of one scalar type are written by orjson (the transcoder is never
    called), with the very bytes the transcoder writes: logs stay as they were."""
    event = Plain(originator_id=uuid.uuid4(), originator_version=1, timestamp=T0,
                  sim_time=T0, actor="control-center", causation_id=uuid.uuid4(),
                  correlation_id=None, table=_candidate_table(300), extra=[])
    reference = Mapper(transcoder=transcoder()).to_stored_event(event)
    ours = LogMapper(transcoder=transcoder())

    def refuse(_state):
        raise AssertionError("the slow encoder was used")

    monkeypatch.setattr(ours.codec, "_encode", refuse)
    body = ours.encode_body(event).state
    assert body[:1] == SPLIT_MARK  # large: compressed behind its plain envelope
    assert decompress_body(body) == reference.state
    decoded = ours.decode(1, event.originator_id, 1, topic_of(Plain), body)
    assert decoded == event


def test_one_odd_value_in_a_column_sends_the_state_to_the_transcoder(monkeypatch) -> None:
    table = _candidate_table(50)
    table["ra_deg"][37] = float("nan")
    event = Plain(originator_id=uuid.uuid4(), originator_version=1, timestamp=T0,
                  sim_time=T0, actor="control-center", causation_id=None,
                  correlation_id=None, table=table, extra=[])
    ours = LogMapper(transcoder=transcoder())
    calls = []
    slow = ours.codec._encode
    monkeypatch.setattr(ours.codec, "_encode", lambda state: calls.append(1) or slow(state))
    decoded = ours.decode(1, event.originator_id, 1, topic_of(Plain),
                          ours.encode_body(event).state)
    assert calls == [1]
    assert repr(decoded.table) == repr(table)  # NaN kept (orjson would write null)
