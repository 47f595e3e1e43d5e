"""The event log on PostgreSQL (a throwaway cluster started by the fixture)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from eventsourcing.persistence import IntegrityError
from sqlalchemy import Engine, event

from control_center.eventlog import EventLog, LogEvent, LogSchemaTooNew, LogUnavailable, writing
from control_center.projections import LogStats, ProjectionStore
from control_center.projections.base import canonical_json

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)


class Weather(LogEvent):
    site: str
    humidity: float


class Note(LogEvent):
    text: str


def fill(log: EventLog, batches: int, *, actor: str = "site:la-palma") -> None:
    for i in range(batches):
        with log.batch(actor=actor, sim_time=T0 + timedelta(minutes=i)) as b:
            b.add(Weather, stream=uuid.uuid5(uuid.NAMESPACE_DNS, actor), site="la-palma",
                  humidity=i / 100)
            b.add(Note, stream=uuid.uuid4(), actor="control-center", text=f"n{i}")


def psql(url: str, statement: str, params: tuple = ()) -> None:
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            cur.execute(statement, params)
    finally:
        con.close()


def test_append_read_order_and_verify(pg_database: str) -> None:
    with EventLog.open(pg_database) as log:
        fill(log, 10)
        recorded = list(log.read())
        assert [r.position for r in recorded] == list(range(1, 21))
        assert [r.type_name for r in recorded[:2]] == ["Weather", "Note"]
        assert recorded[2].event.humidity == 0.01
        assert recorded[1].actor == "control-center"
        assert [r.position for r in log.read(types=[Weather], after=10)] == \
            [11, 13, 15, 17, 19]
        assert [r.position for r in log.read_reverse(limit=2)] == [20, 19]
        assert len(log.stream(uuid.uuid5(uuid.NAMESPACE_DNS, "site:la-palma"))) == 10
        report = log.verify()
        assert report.ok and report.records == 20
    with EventLog.open(pg_database, create=False) as log:
        fill(log, 1)  # versions continue from the database
        assert log.verify().ok and log.last_position() == 22


def test_filtered_and_reverse_reads(pg_database: str) -> None:
    with EventLog.open(pg_database) as log:
        fill(log, 6)
        site = uuid.uuid5(uuid.NAMESPACE_DNS, "site:la-palma")
        assert [r.position for r in log.read(type_names=["Note"])] == [2, 4, 6, 8, 10, 12]
        assert list(log.read(type_names=["Not_"])) == []  # "_" is no wildcard
        assert [r.position for r in log.read_reverse(before=6, types=[Weather])] == [5, 3, 1]
        assert [r.position for r in log.read(after=3, limit=2)] == [4, 5]
        assert [e.originator_version for e in log.stream(site)] == [1, 2, 3, 4, 5, 6]
        assert [r.event.text for r in log.read(types=[Note], after=8)] == ["n4", "n5"]


def test_atomic_batch(pg_database: str) -> None:
    with EventLog.open(pg_database) as log:
        with pytest.raises(RuntimeError), log.batch(actor="x", sim_time=T0) as b:
            b.add(Note, stream=uuid.uuid4(), text="never")
            raise RuntimeError
        assert log.last_position() == 0
        fill(log, 1)
        assert [r.position for r in log.read()] == [1, 2]
        assert log.verify().ok


def test_verify_detects_tampering(pg_database: str) -> None:
    with EventLog.open(pg_database) as log:
        fill(log, 5)
    psql(pg_database, "DELETE FROM openastro_events WHERE id = 4")
    with EventLog.open(pg_database, create=False) as log:
        report = log.verify()
    assert not report.ok and report.first_bad_position == 5
    assert "does not follow record 3" in report.problem
    psql(pg_database, "UPDATE openastro_events SET state = overlay(state placing 'X' from 80) "
                      "WHERE id = 2")
    with EventLog.open(pg_database, create=False) as log:
        report = log.verify()
    assert report.first_bad_position == 2 and "edited" in report.problem


def test_projections_rebuild_identical(pg_database: str) -> None:
    with EventLog.open(pg_database) as log:
        store = ProjectionStore(log)
        fill(log, 5)
        store.catch_up(LogStats())
        fill(log, 5, actor="site:paranal")
        incremental = LogStats()
        assert store.catch_up(incremental) == 10
        rebuilt = LogStats()
        store.rebuild(rebuilt, save=False)
        assert canonical_json(incremental.to_state()) == canonical_json(rebuilt.to_state())
        assert rebuilt.to_state()["by_actor"] == {"control-center": 10, "site:la-palma": 5,
                                                  "site:paranal": 5}


def test_envelope_only_reads_match_full_reads(pg_database: str) -> None:
    """Envelope-only reads fetch a prefix of each body, compressed or not."""
    with EventLog.open(pg_database) as log:
        fill(log, 3)
        with log.batch(actor="observer:ana", sim_time=T0) as b:
            b.add(Note, stream=uuid.uuid4(), text="x" * 20 + "".join(
                f"{i / 7:.6f}" for i in range(3000)))  # long enough to be compressed
        full = [(r.position, r.topic, r.envelope) for r in log.read()]
        assert [(r.position, r.topic, r.envelope) for r in log.read(envelope_only=True)] \
            == full
        assert full[-1][2][2] == "observer:ana"


def test_two_writers_alternating_keep_one_chain(pg_database: str) -> None:
    first = EventLog.open(pg_database)
    second = EventLog.open(pg_database)
    try:
        for i in range(6):
            writer = first if i % 2 == 0 else second
            fill(writer, 2, actor=f"site:{'a' if i % 2 == 0 else 'b'}")
        assert first.verify().ok and second.verify().ok
        assert first.last_position() == 24
        assert [r.event.originator_version for r in first.read(types=[Weather])
                if r.actor == "site:a"] == [1, 2, 3, 4, 5, 6]
    finally:
        first.close()
        second.close()


def test_two_writers_concurrently_keep_one_chain(pg_database: str) -> None:
    logs = [EventLog.open(pg_database) for _ in range(2)]
    try:
        threads = [threading.Thread(target=fill, args=(log, 15),
                                    kwargs={"actor": f"site:{n}"})
                   for n, log in enumerate(logs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = logs[0].verify()
        assert report.ok and report.records == 60
    finally:
        for log in logs:
            log.close()


def test_too_new_and_empty_databases_are_refused(pg_database: str, postgres_url: str) -> None:
    with pytest.raises(LogUnavailable, match="no OpenAstro event log here"):
        EventLog.open(pg_database, create=False)
    with EventLog.open(postgres_url) as log:
        fill(log, 1)
    psql(postgres_url, "UPDATE openastro_log_meta SET value = '9' WHERE key = 'schema_version'")
    try:
        with pytest.raises(LogSchemaTooNew, match="log schema version 9"):
            EventLog.open(postgres_url)
    finally:
        psql(postgres_url,
             "UPDATE openastro_log_meta SET value = '1' WHERE key = 'schema_version'")


def test_missing_database_is_unavailable(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(LogUnavailable, match="no_such_db"):
        EventLog.open(url)


def test_relaxed_durability(pg_database: str) -> None:
    with EventLog.open(pg_database, durable=False) as log:
        fill(log, 2)
        for engine in (log.engine, log._lookup_engine):  # the writer uses the second
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        assert log.verify().ok


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every statement any engine sends while the test runs (one round trip each)."""
    sent: list[str] = []

    def listener(conn: object, cursor: object, statement: str, *args: object) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", listener)
    yield sent
    event.remove(Engine, "before_cursor_execute", listener)


def test_batch_of_new_streams_is_one_round_trip(pg_database: str,
                                                statements: list[str]) -> None:
    with EventLog.open(pg_database) as log:
        fill(log, 1)  # the first write also reads the head and prepares the statement
        sent = statements
        sent.clear()
        for i in range(3):
            with log.batch(actor="control-center", sim_time=T0) as b:
                decision = uuid.uuid4()
                first = b.add(Note, stream=decision, new_stream=True, text=f"d{i}")
                b.add(Note, stream=decision, causation=first, text="chosen")
                b.add(Weather, stream=uuid.uuid4(), new_stream=True, site="x", humidity=0.5)
        assert len(sent) == 3, sent
        assert log.last_position() == 11
        assert log.verify().ok


def test_new_stream_that_exists_saves_nothing(pg_database: str) -> None:
    decision = uuid.uuid4()
    with EventLog.open(pg_database) as log, log.batch(actor="x", sim_time=T0) as b:
        b.add(Note, stream=decision, new_stream=True, text="first")
    with EventLog.open(pg_database) as log:
        with pytest.raises(IntegrityError), log.batch(actor="x", sim_time=T0) as b:
            b.add(Note, stream=uuid.uuid4(), new_stream=True, text="fine")
            b.add(Note, stream=decision, new_stream=True, text="clash")
        assert log.last_position() == 1
        fill(log, 1)  # the writer recovers: head re-read, chain intact
        with log.batch(actor="x", sim_time=T0) as b:
            assert b.add(Note, stream=decision, text="next").originator_version == 2
        report = log.verify()
        assert report.ok and report.records == 4


@pytest.mark.parametrize("tries", [0, 1])
def test_concurrent_writers_on_the_locked_path(pg_database: str, tries: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """0: every batch locks the head first; 1: one optimistic try, then the lock."""
    monkeypatch.setattr(writing, "OPTIMISTIC_TRIES", tries)
    logs = [EventLog.open(pg_database) for _ in range(3)]
    try:
        threads = [threading.Thread(target=fill, args=(log, 12),
                                    kwargs={"actor": f"site:{n}"})
                   for n, log in enumerate(logs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = logs[0].verify()
        assert report.ok and report.records == 72
        assert [r.position for r in logs[1].read()] == list(range(1, 73))
    finally:
        for log in logs:
            log.close()


def test_writer_survives_a_session_reset(pg_database: str) -> None:
    """A pooler or ``DISCARD ALL`` drops the writer's prepared statement: it is prepared again."""
    with EventLog.open(pg_database) as log:
        fill(log, 2)
        with log._lookup_engine.connect() as conn:  # the writer's (only) pooled connection
            conn.exec_driver_sql("DISCARD ALL")
        fill(log, 2)
        report = log.verify()
        assert report.ok and report.records == 8
