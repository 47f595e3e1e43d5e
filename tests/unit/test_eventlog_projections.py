"""Projections: LogStats, saved states, catch-up == rebuild."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog, LogError, LogEvent, Recorded, stream_id
from control_center.projections import LogStats, Projection, ProjectionStore
from control_center.projections.base import canonical_json

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)


class SiteConditionsChanged(LogEvent):
    site: str
    open: bool


class ObservationFailed(LogEvent):
    site: str
    reason: str


class NightEnded(LogEvent):
    reason: str


class OpenSites(Projection):
    """Which sites are open, and how many failures each had (decodes two types only)."""

    name = "open-sites"
    version = 1
    handles = (SiteConditionsChanged, ObservationFailed)

    def __init__(self) -> None:
        self.open: dict[str, bool] = {}
        self.failures: dict[str, int] = {}
        self.decoded = 0

    def apply_event(self, event) -> None:
        self.decoded += 1
        if isinstance(event, SiteConditionsChanged):
            self.open[event.site] = event.open
        else:
            self.failures[event.site] = self.failures.get(event.site, 0) + 1

    def to_state(self) -> dict:
        return {"open": self.open, "failures": self.failures}

    def load_state(self, state: dict) -> None:
        self.open, self.failures = dict(state["open"]), dict(state["failures"])


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 3, 22, 1, 0, tzinfo=UTC))


@pytest.fixture
def log(sqlite_url: str, clock: SimulatedClock):
    with EventLog.open(sqlite_url, clock=clock) as opened:
        yield opened


def add_night(log: EventLog, clock: SimulatedClock, n: int, offset: int = 0) -> None:
    for i in range(offset, offset + n):
        clock.advance(7)
        site = ["la-palma", "siding-spring"][i % 2]
        with log.batch(actor=f"site:{site}", sim_time=T0 + timedelta(minutes=i)) as b:
            b.add(SiteConditionsChanged, stream=stream_id("site", site), site=site,
                  open=i % 3 != 0)
            if i % 4 == 0:
                b.add(ObservationFailed, stream=uuid.uuid4(), actor="plugin:greedy",
                      site=site, reason="clouds")
            b.add(NightEnded, stream=uuid.uuid4(), actor="control-center", reason="x")


def test_log_stats_counts(log: EventLog, clock: SimulatedClock) -> None:
    add_night(log, clock, 4)
    stats = LogStats()
    for r in log.read():
        stats.apply(r)
    state = stats.to_state()
    assert state["events"] == 9 and stats.position == 9
    assert state["first_position"] == 1 and state["last_position"] == 9
    assert state["by_type"] == {"NightEnded": 4, "ObservationFailed": 1,
                                "SiteConditionsChanged": 4}
    assert state["by_actor"] == {"control-center": 4, "plugin:greedy": 1,
                                 "site:la-palma": 2, "site:siding-spring": 2}
    assert state["by_actor_kind"] == {"control-center": 4, "plugin": 1, "site": 4}
    assert state["first_sim_time"] == T0.isoformat()
    assert state["last_sim_time"] == (T0 + timedelta(minutes=3)).isoformat()
    assert state["first_wall_time"] == "2026-03-22T01:00:07+00:00"
    assert state["last_wall_time"] == "2026-03-22T01:00:28+00:00"
    assert canonical_json(state) == canonical_json(LogStats().to_state() | state)


def test_catch_up_equals_rebuild(log: EventLog, clock: SimulatedClock) -> None:
    store = ProjectionStore(log)
    add_night(log, clock, 5)
    for cls in (LogStats, OpenSites):
        assert store.catch_up(cls()) > 0
    live = OpenSites()
    log.subscribe(live.apply)
    live.position = log.last_position()
    live.from_state(store.saved("open-sites")[2])
    for chunk in range(3):
        add_night(log, clock, 3, offset=10 + chunk * 3)
        incremental_stats, incremental_sites = LogStats(), OpenSites()
        folded = store.catch_up(incremental_stats)
        assert 0 < folded < log.last_position()  # only the new events
        store.catch_up(incremental_sites)
        rebuilt_stats, rebuilt_sites = LogStats(), OpenSites()
        assert store.rebuild(rebuilt_stats, save=False) == log.last_position()
        store.rebuild(rebuilt_sites, save=False)
        assert canonical_json(incremental_stats.to_state()) == \
            canonical_json(rebuilt_stats.to_state())
        assert incremental_sites.to_state() == rebuilt_sites.to_state() == live.to_state()
        assert incremental_stats.position == rebuilt_stats.position == log.last_position()
        assert live.position == log.last_position()


def test_handles_skips_decoding_other_types(log: EventLog, clock: SimulatedClock) -> None:
    add_night(log, clock, 8)
    sites = OpenSites()
    seen: list[Recorded] = []
    for r in log.read():
        seen.append(r)
        sites.apply(r)
    assert sites.decoded == 8 + 2
    assert all(r._event is None for r in seen if r.type_name == "NightEnded")
    assert sites.open == {"la-palma": False, "siding-spring": True}
    assert sites.failures == {"la-palma": 2}
    assert sites.position == log.last_position()


class Big(LogEvent):
    table: dict


def test_envelope_only_reads_give_the_same_envelopes(log: EventLog,
                                                     clock: SimulatedClock) -> None:
    """Envelope-only reads (LogStats) see what full reads see, without the payloads;
    a payload read through one fails clearly."""
    add_night(log, clock, 3)
    with log.batch(actor='observer:ana "x"', sim_time=T0) as b:  # a compressed body
        b.add(Big, stream=uuid.uuid4(), table={"ra": [i / 7 for i in range(5000)]})
    add_night(log, clock, 2, offset=3)
    full = list(log.read())
    light = list(log.read(envelope_only=True))
    assert [(r.position, r.topic, r.envelope, r.record_hash) for r in light] == \
        [(r.position, r.topic, r.envelope, r.record_hash) for r in full]
    with pytest.raises(LogError, match="envelope only"):
        _ = light[0].event
    store = ProjectionStore(log)
    folded = LogStats()
    store.rebuild(folded, save=False)
    by_hand = LogStats()
    for r in full:
        by_hand.apply(r)
    assert folded.to_state() == by_hand.to_state()
    assert folded.to_state()["by_actor"]['observer:ana "x"'] == 1


def test_saved_state_is_resumed_and_dropped(log: EventLog, clock: SimulatedClock) -> None:
    store = ProjectionStore(log)
    add_night(log, clock, 4)
    assert store.catch_up(LogStats()) == 9
    assert store.catch_up(LogStats()) == 0
    version, position, state = store.saved("log-stats")
    assert (version, position, state["events"]) == (1, 9, 9)
    assert store.drop("log-stats") is True
    assert store.drop("log-stats") is False
    assert store.saved("log-stats") is None
    assert store.catch_up(LogStats()) == 9


def test_saved_state_of_another_version_is_rebuilt(log: EventLog,
                                                   clock: SimulatedClock) -> None:
    store = ProjectionStore(log)
    add_night(log, clock, 2)
    store.catch_up(OpenSites())

    class OpenSitesV2(OpenSites):
        version = 2

    assert store.load(OpenSitesV2()) is False
    assert store.catch_up(OpenSitesV2()) == log.last_position()
    assert store.saved("open-sites")[0] == 2


def test_saved_state_beyond_the_log_is_ignored(sqlite_url: str, tmp_path,
                                               clock: SimulatedClock) -> None:
    with EventLog.open(sqlite_url, clock=clock) as log:
        add_night(log, clock, 2)
        store = ProjectionStore(log)
        stats = LogStats()
        store.rebuild(stats)
        stats.position = 999
        store.save(stats)
        assert store.load(LogStats()) is False
        assert store.catch_up(LogStats()) == log.last_position()


def test_projection_base_defaults() -> None:
    class Bare(Projection):
        name = "bare"

    bare = Bare()
    with pytest.raises(NotImplementedError):
        bare.to_state()
    with pytest.raises(NotImplementedError):
        bare.from_state({})
    bare.position = 5
    bare.reset()
    assert bare.position == 0
