"""Tamper evidence: verify() detects edits, deletions, reordering and a cut tail."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

import pytest

from control_center.eventlog import EventLog, LogEvent, stream_id
from control_center.eventlog.chain import GENESIS, record_hash, split_state

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)
SITE = stream_id("site", "la-palma")


class SiteConditionsChanged(LogEvent):
    site: str
    humidity: float
    open: bool


class NightEnded(LogEvent):
    reason: str


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A log of 10 events: site conditions (odd positions) and night events (even)."""
    db = tmp_path / "openastro.db"
    with EventLog.open(db) as log:
        night = uuid.uuid4()
        for i in range(5):
            with log.batch(actor="site:la-palma", sim_time=T0) as b:
                b.add(SiteConditionsChanged, stream=SITE, site="la-palma",
                      humidity=0.5 + i / 100, open=True)
                b.add(NightEnded, stream=night, actor="control-center", reason=f"r{i}")
    return db


def sql(path: Path, statement: str, params: tuple = ()) -> None:
    con = sqlite3.connect(path)
    con.execute(statement, params)
    con.commit()
    con.close()


def row(path: Path, position: int) -> tuple:
    con = sqlite3.connect(path)
    found = con.execute("SELECT originator_id, originator_version, topic, state FROM "
                        "openastro_events WHERE id = ?", (position,)).fetchone()
    con.close()
    return found


def verify(path: Path, **kw):
    with EventLog.open(path, create=False) as log:
        return log.verify(**kw)


def test_intact_log_verifies(path: Path) -> None:
    seen: list[int] = []
    report = verify(path, progress=seen.append)
    assert report.ok and report.records == 10 and report.problem == ""
    assert report.first_bad_position is None
    assert seen[-1] == 10
    with EventLog.open(path) as log:
        last = list(log.read())[-1]
    assert report.head_hash == last.record_hash.hex()


def test_empty_log_verifies(tmp_path: Path) -> None:
    with EventLog.open(tmp_path / "e.db") as log:
        report = log.verify()
    assert report.ok and report.records == 0 and report.head_hash == GENESIS.hex()


def test_chain_hashes_follow_the_documented_formula(path: Path) -> None:
    prev = GENESIS
    for position in range(1, 11):
        oid, version, topic, state = row(path, position)
        stored_prev, digest, body = split_state(state)
        assert stored_prev == prev
        expected = sha256(prev + oid + version.to_bytes(8, "big") + topic.encode() + b"\0"
                          + body).digest()
        assert digest == expected == record_hash(prev, uuid.UUID(bytes=oid), version, topic,
                                                 body)
        prev = digest


def test_edited_record_is_named(path: Path) -> None:
    state = row(path, 5)[3]
    edited = state.replace(b'"humidity":0.52', b'"humidity":0.99')
    assert edited != state
    sql(path, "UPDATE openastro_events SET state = ? WHERE id = 5", (edited,))
    report = verify(path)
    assert not report.ok and report.first_bad_position == 5 and report.records == 4
    assert report.problem == (
        f"record 5 (SiteConditionsChanged, stream {SITE}, v3): content does not match its "
        "hash — edited")


def test_edit_with_recomputed_hash_breaks_the_next_link(path: Path) -> None:
    oid, version, topic, state = row(path, 5)
    prev, _, body = split_state(state)
    body = body.replace(b'"humidity":0.52', b'"humidity":0.99')
    forged = prev + record_hash(prev, uuid.UUID(bytes=oid), version, topic, body) + body
    sql(path, "UPDATE openastro_events SET state = ? WHERE id = 5", (forged,))
    report = verify(path)
    assert not report.ok and report.first_bad_position == 6
    assert "record 6 (NightEnded" in report.problem and "does not follow record 5" in \
        report.problem


def test_forged_last_record_is_caught_by_the_head(path: Path) -> None:
    oid, version, topic, state = row(path, 10)
    prev, _, body = split_state(state)
    body = body.replace(b'"r4"', b'"r9"')
    forged = prev + record_hash(prev, uuid.UUID(bytes=oid), version, topic, body) + body
    sql(path, "UPDATE openastro_events SET state = ? WHERE id = 10", (forged,))
    report = verify(path)
    assert not report.ok and "head kept in openastro_log_meta" in report.problem


def test_deleted_record_is_named(path: Path) -> None:
    sql(path, "DELETE FROM openastro_events WHERE id = 4")
    report = verify(path)
    assert not report.ok and report.first_bad_position == 5
    assert report.problem.startswith("record 5 (SiteConditionsChanged")
    assert "does not follow record 3 — a record was deleted, inserted or moved" in \
        report.problem


def test_deleted_first_record_is_named(path: Path) -> None:
    sql(path, "DELETE FROM openastro_events WHERE id = 1")
    report = verify(path)
    assert report.first_bad_position == 2
    assert "does not follow the start of the log" in report.problem


def test_swapped_records_are_named(path: Path) -> None:
    a, b = row(path, 3), row(path, 4)
    con = sqlite3.connect(path)
    columns = "originator_id = ?, originator_version = ?, topic = ?, state = ?"
    con.execute("UPDATE openastro_events SET originator_version = -1 WHERE id = 3")
    con.execute(f"UPDATE openastro_events SET {columns} WHERE id = 4", a)
    con.execute(f"UPDATE openastro_events SET {columns} WHERE id = 3", b)
    con.commit()
    con.close()
    report = verify(path)
    assert not report.ok and report.first_bad_position == 3
    assert report.problem.startswith("record 3 (NightEnded")
    assert "does not follow record 2" in report.problem


def test_truncated_tail_is_detected(path: Path) -> None:
    sql(path, "DELETE FROM openastro_events WHERE id > 8")
    report = verify(path)
    assert not report.ok and report.records == 8 and report.first_bad_position == 9
    assert report.problem == ("the log ends at record 8 but its head is record 10: records "
                              "after 8 were deleted (truncated)")


def test_appending_after_a_deletion_keeps_it_evident(path: Path) -> None:
    sql(path, "DELETE FROM openastro_events WHERE id > 8")
    with EventLog.open(path) as log:
        with log.batch(actor="x", sim_time=T0) as b:
            b.add(NightEnded, stream=uuid.uuid4(), reason="later")
        report = log.verify()
    assert not report.ok and report.first_bad_position == 9


def test_expect_head(path: Path) -> None:
    early = verify(path).head_hash
    with EventLog.open(path) as log, log.batch(actor="x", sim_time=T0) as b:
        b.add(NightEnded, stream=uuid.uuid4(), reason="more")
    assert verify(path, expect_head=early).ok
    assert verify(path, expect_head=early.upper()).ok
    report = verify(path, expect_head="ab" * 32)
    assert not report.ok and "is not in the chain" in report.problem


def test_garbage_state_is_reported(path: Path) -> None:
    sql(path, "UPDATE openastro_events SET state = ? WHERE id = 2", (b"short",))
    report = verify(path)
    assert not report.ok and report.first_bad_position == 2
    assert "no chain header" in report.problem
