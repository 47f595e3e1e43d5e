"""The hash chain that makes the log tamper-evident.

Every stored record's state is ``prev_hash (32 bytes) + record_hash (32 bytes)
+ body`` where ``body`` is the JSON of the event and::

    record_hash = sha256(prev_hash + originator_id.bytes
                         + originator_version (8 bytes, big-endian)
                         + topic (utf-8) + b"\\0" + body)

``prev_hash`` is the ``record_hash`` of the record before it in the global
order (32 zero bytes for the first record). Editing a record breaks its own
hash; deleting, inserting or moving one breaks the link of the next record;
cutting the tail is caught by the head kept in ``openastro_log_meta``.
"""

from __future__ import annotations

from hashlib import sha256
from uuid import UUID

__all__ = ["GENESIS", "HEADER_SIZE", "record_hash", "seal", "split_state"]

GENESIS = bytes(32)
"""``prev_hash`` of the first record."""

HEADER_SIZE = 64
"""Bytes of chain header in front of every stored body."""


def record_hash(prev_hash: bytes, originator_id: UUID, originator_version: int,
                topic: str, body: bytes) -> bytes:
    """Return the 32-byte hash of one record.

    Parameters
    ----------
    prev_hash : bytes
        Hash of the previous record in the global order (``GENESIS`` first).
    originator_id : UUID
        Stream of the record.
    originator_version : int
        Position of the record in its stream.
    topic : str
        Topic of the event class.
    body : bytes
        The record's JSON body (without header).

    Examples
    --------
    >>> from uuid import UUID
    >>> len(record_hash(GENESIS, UUID(int=1), 1, "m:T", b"{}"))
    32
    """
    return sha256(
        prev_hash + originator_id.bytes + originator_version.to_bytes(8, "big")
        + topic.encode("utf-8") + b"\0" + body
    ).digest()


def seal(prev_hash: bytes, originator_id: UUID, originator_version: int, topic: str,
         body: bytes) -> tuple[bytes, bytes]:
    """Return ``(state, record_hash)``: the stored state of a body chained after ``prev_hash``."""
    digest = record_hash(prev_hash, originator_id, originator_version, topic, body)
    return prev_hash + digest + body, digest


def split_state(state: bytes) -> tuple[bytes, bytes, bytes]:
    """Split a stored state into ``(prev_hash, record_hash, body)``.

    Raises
    ------
    ValueError
        If the state is too short to carry a chain header.
    """
    if len(state) < HEADER_SIZE:
        raise ValueError(f"stored state of {len(state)} bytes has no chain header")
    return state[:32], state[32:64], state[64:]
