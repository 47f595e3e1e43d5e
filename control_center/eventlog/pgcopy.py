"""Bulk reads from PostgreSQL through ``COPY ... TO STDOUT (FORMAT binary)``.

A plain ``SELECT`` of the events table through psycopg2 sends every ``bytea``
as hex text, which the client decodes and wraps row by row: that, not the
database, bounds a scan of the log. The binary ``COPY`` of the same
``SELECT`` sends the stored bytes as they are, and one struct unpack per row
reads them back (several times faster). The rows come out as the other
readers select them: ``(id, originator_id, originator_version, topic, state)``
with the stream id as its 16 bytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Engine

__all__ = ["CopyFormatError", "copy_page", "page_query", "parse_copy"]

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
# Per row: field count, then (length, value) of id (int8), originator_id (uuid),
# originator_version (int8), and the length of topic; topic and state follow.
_ROW = struct.Struct(">hiqi16siqi")
_LENGTH = struct.Struct(">i")
_COLUMNS = "id, originator_id, originator_version, topic, state"


class CopyFormatError(ValueError):
    """The server's COPY output is not the expected binary layout."""


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page_query(table: str, *, after: int | None, before: int | None, reverse: bool,
               limit: int, topics: Sequence[str] | None = None,
               type_names: Sequence[str] | None = None,
               stream: UUID | None = None, prefix: int | None = None) -> tuple[str, tuple]:
    """The ``SELECT`` of one page and its parameters (psycopg2 ``%s`` style).

    ``prefix``: select only the first ``prefix`` bytes of each state.
    """
    where: list[str] = []
    params: list[Any] = []
    if reverse:
        if before is not None:
            where.append("id < %s")
            params.append(before)
    else:
        where.append("id > %s")
        params.append(after or 0)
    if topics is not None:
        where.append("topic = ANY(%s)")
        params.append(list(topics))
    if type_names is not None:
        patterns = [f"%{sep}{_escape_like(name)}" for name in type_names for sep in ":."]
        where.append("topic LIKE ANY(%s)")
        params.append(patterns)
    if stream is not None:
        where.append("originator_id = %s::uuid")
        params.append(str(stream))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = "DESC" if reverse else "ASC"
    columns = _COLUMNS if prefix is None else _COLUMNS.replace(
        "state", f"substring(state from 1 for {int(prefix)})")
    return (f"SELECT {columns} FROM {table}{clause} ORDER BY id {order} LIMIT {int(limit)}",
            tuple(params))


def copy_page(engine: Engine, query: str, params: tuple) -> list[tuple]:
    """Run ``query`` as a binary COPY on a pooled connection of ``engine``; parse its rows."""
    buffer = io.BytesIO()
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            statement = cursor.mogrify(query, params).decode("utf-8")
            cursor.copy_expert(f"COPY ({statement}) TO STDOUT (FORMAT binary)", buffer)
        finally:
            cursor.close()
    return parse_copy(buffer.getbuffer())


def parse_copy(data: Any) -> list[tuple]:
    """Rows of a binary COPY of the five event columns (``data``: bytes or a buffer).

    Raises
    ------
    CopyFormatError
        On anything but the five non-null columns in the expected types.
    """
    data = memoryview(data)
    if bytes(data[:11]) != _SIGNATURE or len(data) < 19:
        raise CopyFormatError("not a binary COPY stream")
    pos = 19 + _LENGTH.unpack_from(data, 15)[0]
    unpack_row = _ROW.unpack_from
    unpack_length = _LENGTH.unpack_from
    row_size = _ROW.size
    topics: dict[bytes, str] = {}
    rows = []
    append = rows.append
    size = len(data)
    try:
        while True:
            if data[pos:pos + 2] == b"\xff\xff":
                break
            fields, n_id, position, n_oid, oid, n_version, version, n_topic = \
                unpack_row(data, pos)
            if fields != 5 or n_id != 8 or n_oid != 16 or n_version != 8 or n_topic < 0:
                raise CopyFormatError(f"unexpected row layout at byte {pos}")
            pos += row_size
            raw_topic = bytes(data[pos:pos + n_topic])
            topic = topics.get(raw_topic)
            if topic is None:
                topic = topics[raw_topic] = raw_topic.decode("utf-8")
            pos += n_topic
            (n_state,) = unpack_length(data, pos)
            pos += 4
            if n_state < 0:
                raise CopyFormatError(f"null state at byte {pos}")
            if pos + n_state > size:
                raise CopyFormatError(f"truncated COPY stream (state at byte {pos})")
            append((position, oid, version, topic, bytes(data[pos:pos + n_state])))
            pos += n_state
    except struct.error as e:
        raise CopyFormatError(f"truncated COPY stream ({e})") from e
    return rows
