"""Walk the hash chain of a log and report the first record that breaks it.

No JSON is decoded: each record's header is sliced off its state and its
hash recomputed over the stored bytes, so a million records take seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256
from typing import TYPE_CHECKING

from control_center.eventlog.chain import GENESIS, HEADER_SIZE
from control_center.eventlog.errors import LogError
from control_center.eventlog.fastjson import uuid_from_db
from control_center.eventlog.opening import read_meta
from control_center.eventlog.reading import iter_rows
from control_center.eventlog.records import VerifyReport

if TYPE_CHECKING:
    from control_center.eventlog.store import EventLog

__all__ = ["VERIFY_PAGE_SIZE", "verify_log"]

VERIFY_PAGE_SIZE = 20000


def _describe(position: int, originator_id: object, version: int, topic: str) -> str:
    name = topic.rpartition(":")[2].rpartition(".")[2] or topic
    try:
        stream = str(uuid_from_db(originator_id))
    except ValueError:
        stream = repr(originator_id)
    return f"record {position} ({name}, stream {stream}, v{version})"


def verify_log(log: EventLog, *, progress: Callable[[int], None] | None = None,
               expect_head: str | None = None) -> VerifyReport:
    """Check every record of ``log`` in global order.

    Checks that each record's embedded hash matches its content (edits), that
    each record links to the hash of the record before it (deletions,
    insertions, reordering), that positions increase, and that the head kept
    in ``openastro_log_meta`` is the last record (a cut tail).

    Parameters
    ----------
    log : EventLog
        The log to check.
    progress : callable, optional
        Called with the number of records checked so far, after every page.
    expect_head : str, optional
        A head hash kept outside the database by an auditor: the check fails
        unless a record with that hash is still in the chain.

    Returns
    -------
    VerifyReport
    """
    prev = GENESIS
    last = 0
    count = 0
    expect = expect_head.strip().lower() if expect_head else None
    expect_found_at: int | None = None

    def failed(position: int | None, problem: str) -> VerifyReport:
        return VerifyReport(False, count, prev.hex(), position, problem)

    try:
        for rows in iter_rows(log.engine, log.events_table, log.url,
                              page_size=VERIFY_PAGE_SIZE):
            for position, originator_id, version, topic, state in rows:
                if type(state) is not bytes:
                    state = bytes(state)
                if position <= last:
                    return failed(position, f"{_describe(position, originator_id, version, topic)}"
                                            f": position not after {last} — reordered")
                if len(state) < HEADER_SIZE:
                    return failed(position, f"{_describe(position, originator_id, version, topic)}"
                                            ": has no chain header — not written by OpenAstro "
                                            "or edited")
                id_bytes = originator_id if type(originator_id) is bytes \
                    else uuid_from_db(originator_id).bytes
                digest = state[32:64]
                computed = sha256(
                    state[:32] + id_bytes + version.to_bytes(8, "big")
                    + topic.encode("utf-8") + b"\0" + state[64:]).digest()
                if computed != digest:
                    return failed(position, f"{_describe(position, originator_id, version, topic)}"
                                            ": content does not match its hash — edited")
                if state[:32] != prev:
                    before = f"record {last}" if last else "the start of the log"
                    return failed(position, f"{_describe(position, originator_id, version, topic)}"
                                            f": does not follow {before} — a record was "
                                            "deleted, inserted or moved before it")
                prev = digest
                last = position
                count += 1
                if expect is not None and expect_found_at is None and digest.hex() == expect:
                    expect_found_at = position
            if progress is not None:
                progress(count)
        meta = read_meta(log)
    except LogError as e:
        return failed(None, f"cannot read the log: {e.reason}")

    head_hash = meta.get("head_hash", "")
    try:
        head_position = int(meta.get("head_position", "-1"))
    except ValueError:
        head_position = -1
    if head_hash != prev.hex() or head_position != last:
        if head_position > last:
            return failed(last + 1, f"the log ends at record {last} but its head is record "
                                    f"{head_position}: records after {last} were deleted "
                                    "(truncated)")
        return failed(None, f"the head kept in openastro_log_meta (record {head_position}, "
                            f"{head_hash[:16]}…) is not the last record ({last}, "
                            f"{prev.hex()[:16]}…) — edited")
    if expect is not None and expect_found_at is None:
        if expect == GENESIS.hex():
            expect_found_at = 0
        else:
            return failed(None, f"expected head {expect} is not in the chain — the log was "
                                "rewritten or is not the one the head was taken from")
    return VerifyReport(True, count, prev.hex(), None, "")
