"""Parsing PostgreSQL's binary COPY output of the events table (no server needed)."""

from __future__ import annotations

import struct
import uuid

import pytest

from control_center.eventlog.pgcopy import CopyFormatError, page_query, parse_copy

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def copy_stream(rows: list[tuple], *, extension: bytes = b"") -> bytes:
    """A binary COPY of ``(id, uuid, version, topic, state)`` rows, as the server sends it."""
    out = [SIGNATURE, struct.pack(">ii", 0, len(extension)), extension]
    for position, stream, version, topic, state in rows:
        topic_bytes = topic.encode("utf-8")
        out.append(struct.pack(">hiqi16siqi", 5, 8, position, 16, stream.bytes, 8, version,
                               len(topic_bytes)))
        out += [topic_bytes, struct.pack(">i", len(state)), state]
    out.append(b"\xff\xff")
    return b"".join(out)


def test_rows_come_back_as_stored() -> None:
    rows = [(1, uuid.uuid4(), 1, "m:Note", b"\x00" * 64 + b'{"a":1}'),
            (7, uuid.uuid4(), 12, "m:Wéather", b"Z" * 5000),
            (8, uuid.uuid4(), 1, "m:Note", b"")]
    parsed = parse_copy(copy_stream(rows, extension=b"ext!"))
    assert parsed == [(p, s.bytes, v, t, b) for p, s, v, t, b in rows]
    assert parse_copy(copy_stream([])) == []


def test_damaged_streams_are_refused() -> None:
    good = copy_stream([(1, uuid.uuid4(), 1, "m:Note", b"body")])
    with pytest.raises(CopyFormatError, match="not a binary COPY"):
        parse_copy(b"1\tabc\n")
    with pytest.raises(CopyFormatError, match="truncated"):
        parse_copy(good[:40])
    with pytest.raises(CopyFormatError, match="truncated"):
        parse_copy(good[:-4])  # cut inside the last state
    with pytest.raises(CopyFormatError, match="layout"):
        parse_copy(good[:19] + struct.pack(">h", 4) + good[21:])  # four columns


def test_page_query_filters() -> None:
    stream = uuid.uuid4()
    query, params = page_query("events", after=10, before=None, reverse=False, limit=500,
                               topics=["m:A"], type_names=["Odd_Name%"], stream=stream)
    assert query == ("SELECT id, originator_id, originator_version, topic, state FROM events "
                     "WHERE id > %s AND topic = ANY(%s) AND topic LIKE ANY(%s) AND "
                     "originator_id = %s::uuid ORDER BY id ASC LIMIT 500")
    assert params == (10, ["m:A"], ["%:Odd\\_Name\\%", "%.Odd\\_Name\\%"], str(stream))
    query, params = page_query("events", after=None, before=None, reverse=True, limit=5)
    assert query.endswith("FROM events ORDER BY id DESC LIMIT 5") and params == ()
