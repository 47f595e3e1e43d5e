"""Bad logs are refused on one line, and never modified."""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_center.clock import RealClock
from control_center.eventlog import (
    EventLog,
    LogCorrupt,
    LogError,
    LogEvent,
    LogUnavailable,
)

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)


class CandidatesRejected(LogEvent):
    rejections: list


def make_log(path: Path, batches: int = 30) -> None:
    with EventLog.open(path) as log:
        for _ in range(batches):
            with log.batch(actor="control-center", sim_time=T0) as b:
                for k in range(10):
                    b.add(CandidatesRejected, stream=uuid.uuid4(),
                          rejections=[{"candidate": f"c{k}", "constraint": "airmass",
                                       "value": 2.5, "limit": 2.0, "plugin": "x" * 80}] * 3)


def refuse(target: Path | str, error: type[LogError], text: str, *, create: bool = False):
    with pytest.raises(error) as info:
        EventLog.open(target, create=create)
    message = str(info.value)
    assert text in message, message
    assert "\n" not in message
    return message


def test_missing_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    message = refuse(path, LogUnavailable, "no such file")
    assert message == f"event log {path}: no such file"
    assert not path.exists()


def test_missing_directory(tmp_path: Path) -> None:
    refuse(tmp_path / "nope" / "x.db", LogUnavailable, "does not exist", create=True)


def test_directory_is_refused(tmp_path: Path) -> None:
    refuse(tmp_path, LogUnavailable, "is a directory")


@pytest.mark.parametrize("create", [True, False])
def test_foreign_file_is_refused_untouched(tmp_path: Path, create: bool) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my observing notes, not a database\n" * 50)
    before = path.read_bytes()
    refuse(path, LogUnavailable, "file is not a database", create=create)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_empty_file_needs_create(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    refuse(path, LogUnavailable, "empty file")
    assert path.stat().st_size == 0
    with EventLog.open(path) as log:  # create=True initialises it
        assert log.last_position() == 0


@pytest.mark.parametrize("create", [True, False])
def test_truncated_file_is_refused_untouched(tmp_path: Path, create: bool) -> None:
    path = tmp_path / "openastro.db"
    make_log(path)
    size = path.stat().st_size
    assert size > 100_000
    with path.open("r+b") as f:
        f.truncate(size // 2)
    before = path.read_bytes()
    message = refuse(path, LogCorrupt, "file is truncated", create=create)
    assert f"({size // 2} of {size} bytes)" in message
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_file_cut_inside_the_header(tmp_path: Path) -> None:
    path = tmp_path / "openastro.db"
    make_log(path, batches=1)
    with path.open("r+b") as f:
        f.truncate(50)
    refuse(path, LogCorrupt, "truncated")


def test_damaged_page_is_reported_by_readers(tmp_path: Path) -> None:
    path = tmp_path / "openastro.db"
    make_log(path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xa5" * 8192)
    with EventLog.open(path, create=False) as log:
        report = log.verify()
        assert not report.ok and "malformed" in report.problem
        with pytest.raises(LogCorrupt, match="database file is corrupt"):
            list(log.read())


def test_sqlite_without_a_log(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    refuse(path, LogUnavailable, "no OpenAstro event log here")
    with EventLog.open(path) as log:  # create=True adds the log's tables
        assert log.last_position() == 0


def test_events_table_without_meta_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE openastro_events (id INTEGER PRIMARY KEY, state BLOB)")
    con.commit()
    con.close()
    before = path.read_bytes()
    refuse(path, LogCorrupt, "no openastro_log_meta", create=True)
    assert path.read_bytes() == before


def test_unsupported_url() -> None:
    refuse("mysql://u@h/db", LogUnavailable, "unsupported database")


def test_unreachable_postgres_fails_fast() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    clock = RealClock()
    started = clock.monotonic()
    message = refuse(f"postgresql://astro:pw@127.0.0.1:{port}/openastro", LogUnavailable,
                     "cannot connect to the database server")
    assert clock.monotonic() - started < 5
    assert "pw@" not in message and "***" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "openastro.db"
    make_log(path, batches=1)
    path.chmod(0)
    refuse(path, LogUnavailable, "permission denied")
