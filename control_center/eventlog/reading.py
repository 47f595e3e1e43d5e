"""Bulk reads of the events table with SQLAlchemy Core, page by page.

Loading ORM objects costs several times more than selecting the five columns
and decoding them with :class:`~control_center.eventlog.codec.LogMapper`, so
every reader of the whole log goes through here. Each page uses its own
short connection: a long scan never holds a transaction open. On PostgreSQL
each page is a binary ``COPY`` (:mod:`.pgcopy`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Engine,
    LargeBinary,
    Select,
    String,
    Table,
    cast,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.exc import SQLAlchemyError

from control_center.eventlog.codec import LogMapper, topic_of
from control_center.eventlog.dberrors import translate_db_error
from control_center.eventlog.errors import LogCorrupt
from control_center.eventlog.pgcopy import CopyFormatError, copy_page, page_query
from control_center.eventlog.records import Recorded

__all__ = [
    "ENVELOPE_PREFIX",
    "PAGE_SIZE",
    "RowFilter",
    "decode_row",
    "iter_rows",
    "raw_stream_column",
    "topics_of_types",
]

PAGE_SIZE = 5000
"""Rows fetched per query."""
ENVELOPE_PREFIX = 512
"""Bytes of a state enough for the chain header and the envelope (timestamps and
actor; of a compressed body, what decompresses to them)."""


def topics_of_types(types: Sequence[type]) -> list[str]:
    """Topics of ``types`` and of all their (currently imported) subclasses."""
    topics: set[str] = set()
    stack = list(types)
    while stack:
        cls = stack.pop()
        topics.add(topic_of(cls))
        stack.extend(cls.__subclasses__())
    return sorted(topics)


class RowFilter:
    """Which rows a scan selects.

    Parameters
    ----------
    topics : sequence of str, optional
        Exact topics to keep.
    type_names : sequence of str, optional
        Class names to keep (a topic ending in ``:Name`` or ``.Name``).
    stream : UUID, optional
        Keep one stream only.
    """

    def __init__(self, *, topics: Sequence[str] | None = None,
                 type_names: Sequence[str] | None = None, stream: UUID | None = None) -> None:
        self.topics = list(topics) if topics is not None else None
        self.type_names = list(type_names) if type_names is not None else None
        self.stream = stream

    def apply(self, query: Select, table: Table) -> Select:
        if self.topics is not None:
            query = query.where(table.c.topic.in_(self.topics))
        if self.type_names is not None:
            query = query.where(or_(*(
                clause for name in self.type_names for clause in (
                    table.c.topic.endswith(f":{name}", autoescape=True),
                    table.c.topic.endswith(f".{name}", autoescape=True)))))
        if self.stream is not None:
            query = query.where(table.c.originator_id == self.stream)
        return query


def iter_rows(engine: Engine, table: Table, url: str, *, after: int = 0,
              before: int | None = None, reverse: bool = False,
              row_filter: RowFilter | None = None,
              page_size: int | None = None, prefix: int | None = None) -> Iterator[list[Any]]:
    """Yield pages (lists) of ``(id, originator_id, originator_version, topic, state)``.

    Forward scans return ids ``> after`` ascending; reverse scans ids
    ``< before`` descending (all when ``before`` is None). ``page_size``
    defaults to :data:`PAGE_SIZE`. ``prefix``: fetch only the first ``prefix``
    bytes of each state (enough for the chain header and the envelope).
    """
    page_size = page_size or PAGE_SIZE
    if engine.dialect.name == "postgresql":
        yield from _iter_rows_postgres(engine, table.name, url, after=after, before=before,
                                       reverse=reverse, row_filter=row_filter,
                                       page_size=page_size, prefix=prefix)
        return
    c = table.c
    state = c.state if prefix is None else \
        type_coerce(func.substr(c.state, 1, prefix), LargeBinary).label("state")
    base = select(c.id, raw_stream_column(engine, table), c.originator_version, c.topic, state)
    if row_filter is not None:
        base = row_filter.apply(base, table)
    cursor = after if not reverse else before
    while True:
        if reverse:
            query = base if cursor is None else base.where(c.id < cursor)
            query = query.order_by(c.id.desc())
        else:
            query = base.where(c.id > cursor).order_by(c.id)
        try:
            with engine.connect() as conn:
                rows = conn.execute(query.limit(page_size)).all()
        except SQLAlchemyError as e:
            raise translate_db_error(e, url) from e
        if not rows:
            return
        yield rows
        if len(rows) < page_size:
            return
        cursor = rows[-1][0]


def _iter_rows_postgres(engine: Engine, table: str, url: str, *, after: int,
                        before: int | None, reverse: bool, row_filter: RowFilter | None,
                        page_size: int, prefix: int | None) -> Iterator[list[Any]]:
    """:func:`iter_rows` on PostgreSQL: each page one binary COPY (see :mod:`.pgcopy`)."""
    f = row_filter or RowFilter()
    cursor = before if reverse else after
    while True:
        query, params = page_query(
            table, after=None if reverse else cursor, before=cursor if reverse else None,
            reverse=reverse, limit=page_size, topics=f.topics, type_names=f.type_names,
            stream=f.stream, prefix=prefix)
        try:
            rows = copy_page(engine, query, params)
        except SQLAlchemyError as e:
            raise translate_db_error(e, url) from e
        except CopyFormatError as e:
            raise LogCorrupt(url, f"cannot read the events table: {e}") from e
        if not rows:
            return
        yield rows
        if len(rows) < page_size:
            return
        cursor = rows[-1][0]


def raw_stream_column(engine: Engine, table: Table) -> Any:
    """The ``originator_id`` column without UUID conversion (bytes on SQLite, text on
    PostgreSQL): converting only the ids actually used is much cheaper."""
    column = table.c.originator_id
    if engine.dialect.name == "sqlite":
        return type_coerce(column, LargeBinary).label("originator_id")
    if engine.dialect.name == "postgresql":
        # A text cast also skips psycopg2's own UUID typecaster.
        return cast(column, String).label("originator_id")
    return column


def decode_row(mapper: LogMapper, row: Any) -> Recorded:
    """Wrap one selected row in a (lazily decoded) :class:`Recorded`."""
    position, originator_id, version, topic, state = row
    if type(state) is not bytes:
        state = bytes(state)
    return Recorded.lazy(position, state[32:64], topic, (originator_id, version, state[64:]),
                         mapper)
