"""OpenAstro's own tables next to eventsourcing's ``openastro_events``.

- ``openastro_log_meta`` (key/value): ``schema_version``, ``created``,
  ``head_position`` and ``head_hash`` (the chain head, updated in the same
  transaction as every insert).
- ``openastro_projections``: saved projection states with their positions.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

from control_center.eventlog import LOG_SCHEMA_VERSION
from control_center.eventlog.chain import GENESIS

__all__ = [
    "EVENTS_TABLE",
    "LOG_SCHEMA_VERSION",
    "META_TABLE",
    "PROJECTIONS_TABLE",
    "initial_meta",
    "meta_table",
    "metadata",
    "projections_table",
]


EVENTS_TABLE = "openastro_events"
META_TABLE = "openastro_log_meta"
PROJECTIONS_TABLE = "openastro_projections"

metadata = MetaData()

meta_table = Table(
    META_TABLE, metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text(), nullable=False),
)

projections_table = Table(
    PROJECTIONS_TABLE, metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer(), nullable=False),
    Column("position", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("state", Text(), nullable=False),
)


def initial_meta(created_iso: str) -> dict[str, str]:
    """Meta rows of a new, empty log."""
    return {
        "schema_version": str(LOG_SCHEMA_VERSION),
        "created": created_iso,
        "head_position": "0",
        "head_hash": GENESIS.hex(),
    }
