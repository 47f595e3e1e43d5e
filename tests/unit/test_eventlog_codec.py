"""The fast JSON paths give exactly what eventsourcing's transcoder gives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper

from control_center.eventlog import LogEvent
from control_center.eventlog.codec import LogMapper, topic_of
from control_center.eventlog.fastjson import (
    COMPRESSED_MARK,
    StateCodec,
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
    assert len(body) > 64 and body[:1] == COMPRESSED_MARK
    assert parse_envelope(body) == (event.timestamp, event.sim_time, event.actor)
    assert mapper.decode(1, event.originator_id, 3, topic_of(Rich), body) == event
    assert parse_envelope(COMPRESSED_MARK + b"not zlib at all") is None


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
