"""EventLog on SQLite: opening, batches, append, reads, streams, listeners."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from control_center.clock import SimulatedClock
from control_center.eventlog import (
    DEFAULT_DB,
    EventLog,
    LogEvent,
    Recorded,
    stream_id,
)
from control_center.eventlog.location import locate

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)
SITE = stream_id("site", "la-palma")


# Event types of these tests (the real catalogue evolves on its own).
class SiteConditionsChanged(LogEvent):
    site: str
    humidity: float
    open: bool


class NightEnded(LogEvent):
    reason: str


class DecisionTriggered(LogEvent):
    trigger: str
    inputs: dict


class CandidatesProposed(LogEvent):
    candidates: list


class NoAssignment(LogEvent):
    policy: str
    reason: str


def conditions(b, *, humidity: float = 0.5, is_open: bool = True, **kw):
    return b.add(SiteConditionsChanged, stream=SITE, site="la-palma", humidity=humidity,
                 open=is_open, **kw)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 3, 22, 1, 0, tzinfo=UTC))


@pytest.fixture
def log(sqlite_url: str, clock: SimulatedClock):
    with EventLog.open(sqlite_url, clock=clock) as opened:
        yield opened


def test_default_db_name() -> None:
    assert DEFAULT_DB == "openastro.db"


def test_open_creates_file_from_path_and_url(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with EventLog.open(path) as log:
        assert log.url == str(path)
        assert log.last_position() == 0
    assert path.exists()
    with EventLog.open(f"sqlite:///{path}") as log:
        assert log.url == f"sqlite:///{path}"


def test_postgres_url_display_masks_password() -> None:
    loc = locate("postgresql://astro:s3cret@db.example:5433/openastro")
    assert "s3cret" not in loc.display
    assert loc.display == "postgresql://astro:***@db.example:5433/openastro"
    assert loc.url.startswith("postgresql+psycopg2://astro:s3cret@")
    assert "connect_timeout=5" in loc.url


def test_batch_saves_all_events_in_order(log: EventLog, clock: SimulatedClock) -> None:
    decision = uuid.uuid4()
    with log.batch(actor="control-center", sim_time=T0, correlation_id=decision) as b:
        first = b.add(DecisionTriggered, stream=decision, trigger="timer", inputs={"seed": 7})
        clock.advance(1)
        second = b.add(CandidatesProposed, stream=decision, causation=first, candidates=[])
        third = b.add(NoAssignment, stream=decision, causation=second.event_id,
                      actor="plugin:greedy", policy="greedy", reason="nothing feasible")
    assert [e.originator_version for e in b.events] == [1, 2, 3]
    assert [r.position for r in b.recorded] == [1, 2, 3]
    assert first.timestamp == datetime(2026, 3, 22, 1, 0, tzinfo=UTC)
    assert second.timestamp == first.timestamp + timedelta(seconds=1)
    read = list(log.read())
    assert [r.position for r in read] == [1, 2, 3]
    events = [r.event for r in read]
    assert [type(e) for e in events] == [DecisionTriggered, CandidatesProposed, NoAssignment]
    assert events[0].inputs == {"seed": 7}
    assert events[0].correlation_id == decision and events[2].correlation_id == decision
    assert events[0].causation_id is None
    assert events[1].causation_id == first.event_id
    assert events[2].causation_id == second.event_id
    assert events[2].actor == "plugin:greedy" and events[0].actor == "control-center"
    assert all(e.sim_time == T0 for e in events)
    assert events[1].event_id == uuid.uuid5(decision, "2")
    assert third == events[2]


def test_batch_is_atomic_and_restores_versions(log: EventLog) -> None:
    with log.batch(actor="site:la-palma", sim_time=T0) as b:
        conditions(b)
    with pytest.raises(RuntimeError, match="boom"), \
            log.batch(actor="site:la-palma", sim_time=T0) as b:
        conditions(b)
        conditions(b)
        raise RuntimeError("boom")
    assert log.last_position() == 1
    with log.batch(actor="site:la-palma", sim_time=T0) as b:
        event = conditions(b)
    assert event.originator_version == 2
    assert [r.event.originator_version for r in log.read()] == [1, 2]


def test_batch_with_bad_fields_saves_nothing(log: EventLog) -> None:
    with pytest.raises(TypeError), log.batch(actor="site:la-palma", sim_time=T0) as b:
        conditions(b)
        b.add(SiteConditionsChanged, stream=SITE, site="x")  # missing fields
    assert log.last_position() == 0
    with log.batch(actor="site:la-palma", sim_time=T0) as b:
        assert conditions(b).originator_version == 1


def test_batch_rejects_naive_times_and_reuse(log: EventLog) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        log.batch(actor="x", sim_time=datetime(2026, 1, 1))
    batch = log.batch(actor="x", sim_time=T0)
    with batch as b:
        conditions(b)
    with pytest.raises(RuntimeError):
        conditions(batch)
    with pytest.raises(RuntimeError), batch:
        pass


def test_empty_batch_saves_nothing(log: EventLog) -> None:
    with log.batch(actor="x", sim_time=T0):
        pass
    assert log.last_position() == 0


def test_global_order_across_streams(log: EventLog) -> None:
    streams = [uuid.uuid4() for _ in range(3)]
    for i in range(4):
        with log.batch(actor="control-center", sim_time=T0 + timedelta(minutes=i)) as b:
            for s in streams:
                b.add(NightEnded, stream=s, reason=f"{i}")
    recorded = list(log.read())
    assert [r.position for r in recorded] == list(range(1, 13))
    assert [(r.event.originator_id, r.event.originator_version) for r in recorded[:4]] == \
        [(streams[0], 1), (streams[1], 1), (streams[2], 1), (streams[0], 2)]
    assert [e.reason for e in log.stream(streams[1])] == ["0", "1", "2", "3"]
    assert log.last_position() == 12


def test_read_after_limit_types_and_reverse(log: EventLog) -> None:
    night = uuid.uuid4()
    with log.batch(actor="site:la-palma", sim_time=T0) as b:
        for i in range(5):
            conditions(b, humidity=i / 10)
            b.add(NightEnded, stream=night, reason=str(i), actor="control-center")
    assert [r.position for r in log.read(after=7)] == [8, 9, 10]
    assert [r.position for r in log.read(after=2, limit=3)] == [3, 4, 5]
    assert [r.event.reason for r in log.read(types=[NightEnded])] == list("01234")
    assert len(list(log.read(types=[LogEvent]))) == 10  # subclasses included
    assert [r.position for r in log.read(type_names=["SiteConditionsChanged"], after=4)] == \
        [5, 7, 9]
    assert [r.position for r in log.read_reverse(limit=3)] == [10, 9, 8]
    assert [r.position for r in log.read_reverse(before=4)] == [3, 2, 1]


def test_read_pages_through_large_logs(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    from control_center.eventlog import reading

    monkeypatch.setattr(reading, "PAGE_SIZE", 7)
    with log.batch(actor="x", sim_time=T0) as b:
        for _ in range(30):
            conditions(b)
    assert [r.position for r in log.read()] == list(range(1, 31))
    assert [r.position for r in log.read(after=20)] == list(range(21, 31))
    assert [r.position for r in log.read_reverse()] == list(range(30, 0, -1))


def test_recorded_envelope_without_decoding(log: EventLog) -> None:
    with log.batch(actor="site:la-palma", sim_time=T0) as b:
        conditions(b)
    (r,) = list(log.read())
    assert isinstance(r, Recorded)
    assert r.type_name == "SiteConditionsChanged"
    assert r.event_type is SiteConditionsChanged
    assert r.envelope == (datetime(2026, 3, 22, 1, 0, tzinfo=UTC), T0, "site:la-palma")
    assert r._event is None  # envelope read without decoding the payload
    assert r.event.humidity == 0.5
    assert len(r.record_hash) == 32
    with pytest.raises(AttributeError):
        r.position = 3  # type: ignore[misc]


def test_versions_continue_after_reopen(sqlite_url: str) -> None:
    with EventLog.open(sqlite_url) as log, log.batch(actor="x", sim_time=T0) as b:
        conditions(b)
        conditions(b)
    with EventLog.open(sqlite_url) as log:
        with log.batch(actor="x", sim_time=T0) as b:
            assert conditions(b).originator_version == 3
        assert log.verify().ok


def test_append_prebuilt_events(log: EventLog, clock: SimulatedClock) -> None:
    s = uuid.uuid4()
    events = [NightEnded(originator_id=s, originator_version=v, timestamp=clock.now(),
                         sim_time=T0, actor="control-center", causation_id=None,
                         correlation_id=None, reason="r") for v in (1, 2)]
    assert log.append(events) == [1, 2]
    assert log.append([]) == []
    with log.batch(actor="x", sim_time=T0) as b:
        assert b.add(NightEnded, stream=s, reason="next").originator_version == 3
    with pytest.raises(IntegrityError):
        log.append(events[:1])  # version 1 again
    assert log.last_position() == 3
    with pytest.raises(TypeError):
        log.append(["not an event"])  # type: ignore[list-item]


def test_subscribers_called_after_commit_in_order(log: EventLog) -> None:
    seen: list[tuple[int, str]] = []
    seen_positions_at_call: list[int] = []

    def listener(r: Recorded) -> None:
        seen.append((r.position, r.type_name))
        seen_positions_at_call.append(log.last_position())

    def broken(r: Recorded) -> None:
        raise ValueError("listener bug")

    log.subscribe(broken)
    unsubscribe = log.subscribe(listener)
    with log.batch(actor="x", sim_time=T0) as b:
        conditions(b)
        b.add(NightEnded, stream=uuid.uuid4(), reason="x")
    with pytest.raises(RuntimeError), log.batch(actor="x", sim_time=T0) as b:
        conditions(b)
        raise RuntimeError
    assert seen == [(1, "SiteConditionsChanged"), (2, "NightEnded")]
    assert seen_positions_at_call == [2, 2]  # both committed before the first call
    unsubscribe()
    with log.batch(actor="x", sim_time=T0) as b:
        conditions(b)
    assert len(seen) == 2


def test_concurrent_batches_from_threads_keep_the_chain(log: EventLog) -> None:
    def work(n: int) -> None:
        for i in range(10):
            with log.batch(actor=f"plugin:{n}", sim_time=T0) as b:
                b.add(NightEnded, stream=stream_id("t", str(n)), reason=str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.last_position() == 40
    assert log.verify().ok
    for n in range(4):
        assert [e.reason for e in log.stream(stream_id("t", str(n)))] == \
            [str(i) for i in range(10)]


def test_close_is_idempotent(sqlite_url: str) -> None:
    log = EventLog.open(sqlite_url)
    log.close()
    log.close()
    assert "openastro.db" in repr(log)


def test_relaxed_durability(tmp_path: Path) -> None:
    with EventLog.open(tmp_path / "fast.db", durable=False) as log:
        with log.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        with log.batch(actor="x", sim_time=T0) as b:
            conditions(b)
        assert log.verify().ok
    with EventLog.open(tmp_path / "fast.db") as log, log.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_in_memory_log() -> None:
    with EventLog.open("sqlite://") as log:
        seen: list[int] = []
        log.subscribe(lambda r: seen.append(len(list(log.read()))))
        with log.batch(actor="x", sim_time=T0) as b:
            conditions(b)
            conditions(b)
        assert seen == [2, 2] and log.verify().ok and log.url == "sqlite://"


def test_eventsourcing_save_is_refused(log: EventLog) -> None:
    with pytest.raises(TypeError, match="hash chain"):
        log.save()


def test_new_stream_skips_the_lookup_and_clashes_safely(sqlite_url: str) -> None:
    decision = uuid.uuid4()
    with EventLog.open(sqlite_url) as log:
        with log.batch(actor="x", sim_time=T0) as b:
            first = b.add(NightEnded, stream=decision, new_stream=True, reason="a")
            second = b.add(NightEnded, stream=decision, reason="b")  # same batch: next version
        assert (first.originator_version, second.originator_version) == (1, 2)
        with pytest.raises(ValueError, match="is not new"), \
                log.batch(actor="x", sim_time=T0) as b:
            b.add(NightEnded, stream=decision, new_stream=True, reason="known to exist")
    with EventLog.open(sqlite_url) as log:  # a fresh instance does not know the stream
        with pytest.raises(IntegrityError), log.batch(actor="x", sim_time=T0) as b:
            conditions(b)
            b.add(NightEnded, stream=decision, new_stream=True, reason="exists in the db")
        assert log.last_position() == 2  # nothing of the failed batch was saved
        with log.batch(actor="x", sim_time=T0) as b:  # versions were restored
            assert b.add(NightEnded, stream=decision, reason="c").originator_version == 3
            assert conditions(b).originator_version == 1
        assert log.verify().ok
