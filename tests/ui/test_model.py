"""The console's data layer: folding real logs into what the views show (no Textual here)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from logbuilder import START, LogBuilder, demo_log, write_unknown_event

from control_center.eventlog import EventLog
from control_center.network import load_network
from control_center.ui.model import ConsoleState, LogFollower, TailFilter
from control_center.ui.model.sun import SunTrack, darkness_phase, local_time
from control_center.ui.model.trends_fold import MAX_POINTS


def follow(db) -> LogFollower:
    follower = LogFollower(str(db))
    result = follower.poll()
    assert result.problem is None and result.changed
    return follower


def test_network_view_shows_each_site_and_what_each_telescope_does(tmp_path: Path) -> None:
    ids = demo_log(tmp_path / "n.db")
    snap = follow(tmp_path / "n.db").state.snapshot()
    assert snap.sim_time == ids["now"]
    assert snap.night.network_name == "OpenAstro demo network" and snap.night.ended is None
    sites = {s.name: s for s in snap.sites}
    assert list(sites) == ["cerro-pachon", "la-palma", "hanle"]
    pachon, palma, hanle = sites["cerro-pachon"], sites["la-palma"], sites["hanle"]
    # 23:20 UTC is 20:20 in Chile (UTC-3 in March), 23:20 on the Canaries (UTC+0).
    assert pachon.local_time == "20:20" and palma.local_time == "23:20"
    assert pachon.phase == "nautical twilight" and pachon.dark is False
    assert palma.phase == "night" and palma.dark is True
    assert -8 < pachon.sun_alt_deg < -6
    assert pachon.open is True and pachon.seeing_arcsec == pytest.approx(0.95)
    assert hanle.open is False and hanle.weather_reason == "cloud cover 0.91 > 0.7"
    assert pachon.link == "in-process"     # it reports, but no link health was ever recorded
    scopes = {t.name: t for s in snap.sites for t in s.telescopes}
    busy = scopes["pachon-1m"]
    assert (busy.state, busy.target, busy.filter) == ("observing", "VAR-0042", "g")
    # assigned at 23:12 for 30 min: at 23:20, 8 of 30 min done and 22 min to go
    assert busy.progress == pytest.approx(8 / 30) and busy.remaining_s == pytest.approx(22 * 60)
    assert busy.last_outcome == "completed NGC1234 g"
    assert scopes["pachon-0.4m"].state == "unknown"
    assert scopes["palma-1m"].remaining_s == 0 and scopes["palma-1m"].progress == 1.0


def test_decisions_queue_alerts_and_tail(tmp_path: Path) -> None:
    ids = demo_log(tmp_path / "n.db")
    snap = follow(tmp_path / "n.db").state.snapshot()
    assert [d.decision_id for d in snap.decisions] == ids["decisions"]
    first, _, idle, alert = snap.decisions
    assert (first.outcome, first.choice, first.reason) == ("assigned", "NGC1234 g",
                                                          "highest expected value")
    assert first.request_id == "galaxies-NGC1234"
    assert (idle.outcome, idle.reason) == ("none", "no feasible candidate")
    assert alert.trigger == "alerts: new alert SWIFT-1234"

    queue = {r.request_id: r for r in snap.requests}
    assert [r.state for r in snap.requests] == ["observing", "observing", "pending"]
    assert (queue["galaxies-NGC1234"].done, queue["galaxies-NGC1234"].wanted) == (1, 2)
    assert queue["variables-VAR-0042"].observing_on == "pachon-1m"

    received, rejected = snap.alerts
    assert received.status == "received" and received.kind == "grb"
    assert (received.requested, received.assigned, received.completed) == (1, 1, 0)
    assert received.followups[-1] == "23:15 palma-1m observes SWIFT-1234 r"
    assert rejected.status == "rejected" and rejected.note == "not a VOEvent: no <Who>"

    tail = snap.tail
    assert [r.position for r in tail] == list(range(1, snap.position + 1))
    assert tail[-1].type_name == "SiteConditionsChanged" and tail[-1].site == "cerro-pachon"
    proposed = next(r for r in tail if r.type_name == "CandidatesProposed")
    assert proposed.summary == "3 candidates"
    assert {(t.site, t.quantity) for t in snap.trends} >= {("cerro-pachon", "seeing"),
                                                          ("cerro-pachon", "zero_point")}
    zero_point = next(t for t in snap.trends if t.quantity == "zero_point")
    assert zero_point.values == (25.1,) and zero_point.hours == pytest.approx((11 / 60,))


def test_an_event_type_the_console_does_not_know_is_listed_not_fatal(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    demo_log(db)
    with EventLog.open(db, durable=False) as log:
        write_unknown_event(log, 21, what="a newer plugin")
        LogBuilder(log).conditions("la-palma", 22, seeing=1.3)
    snap = follow(db).state.snapshot()
    assert snap.unknown_types == ("openastro_future_plugin.events:FutureThing",)
    unknown = snap.tail[-2]
    assert not unknown.known and unknown.type_name.startswith("?openastro_future_plugin")
    assert unknown.summary == "what='a newer plugin'" and unknown.actor == "plugin:future"
    assert snap.tail[-1].type_name == "SiteConditionsChanged"   # folding went on after it
    assert {s.name: s.seeing_arcsec for s in snap.sites}["la-palma"] == pytest.approx(1.3)


def test_a_log_that_cannot_be_opened_is_a_problem_that_clears_when_it_appears(
        tmp_path: Path) -> None:
    db = tmp_path / "later.db"
    follower = LogFollower(str(db))
    first = follower.poll()
    assert not first.changed and "later.db" in first.problem and "no such file" in first.problem
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    junk = LogFollower(str(tmp_path / "junk.db")).poll()
    assert "junk.db" in junk.problem
    demo_log(db)
    second = follower.poll()
    assert second.problem is None and second.changed
    assert follower.state.snapshot().night is not None


def test_a_log_that_vanishes_while_followed_is_reported_and_resumed(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    demo_log(db)
    follower = follow(db)
    position = follower.state.position
    moved = tmp_path / "elsewhere.db"
    db.rename(moved)
    follower.close()   # (a dropped connection: the next poll reopens)
    assert "no such file" in follower.poll().problem
    moved.rename(db)
    with EventLog.open(db, durable=False) as log:
        LogBuilder(log).conditions("hanle", 30, open=True)
    back = follower.poll()
    assert back.problem is None and follower.state.position == position + 1


def test_sites_outside_the_network_and_sites_that_go_away(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log)
        b.night_started()
        b.conditions("atacama-new", 1, seeing=0.7)
        b.health("la-palma", 2, "offline", reason="3 failures in a row; last: UNAVAILABLE")
    follower = follow(db)
    sites = {s.name: s for s in follower.state.snapshot().sites}
    assert sites["atacama-new"].in_network is False and sites["atacama-new"].phase == "?"
    assert sites["la-palma"].link == "offline" and "UNAVAILABLE" in sites["la-palma"].link_reason
    assert sites["hanle"].link == "unknown"      # nothing from it yet: no claim made
    one_site = load_network()
    one_site = type(one_site)(one_site.name, one_site.sites[:1], "test")
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log, one_site, start=START + timedelta(hours=3), seed=8)
        b.night_started()
        b.conditions("la-palma", 1)   # a site the new night does not have
    follower.poll()
    snap = follower.state.snapshot()
    assert [s.name for s in snap.sites] == ["cerro-pachon", "la-palma"]
    assert [s.in_network for s in snap.sites] == [True, False]
    assert snap.decisions == () and snap.requests == ()


def test_a_night_whose_network_cannot_be_read_still_shows_its_sites(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    with EventLog.open(db, durable=False) as log:
        LogBuilder(log).night_started(network_dict={"sites": "not a list"})
    snap = follow(db).state.snapshot()
    assert [s.name for s in snap.sites] == ["cerro-pachon", "la-palma", "hanle"]
    assert all(s.local_time == "?" and s.sun_alt_deg is None for s in snap.sites)
    assert any("recorded network cannot be read" in n for n in snap.notices)


def test_following_starts_at_the_last_night_and_continues_incrementally(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    demo_log(db)
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log, start=START + timedelta(hours=5), seed=9)
        b.night_started()
        b.request("second-night", priority=2.0)
    follower = follow(db)
    snap = follower.state.snapshot()
    assert snap.night.start == START + timedelta(hours=5)
    assert [r.request_id for r in snap.requests] == ["second-night"]
    with EventLog.open(db, durable=False) as log:
        LogBuilder(log, start=START + timedelta(hours=5), seed=9).decision(
            3, "la-palma", "palma-1m", request_id="second-night")
    assert follower.poll().changed
    after = follower.state.snapshot()
    assert len(after.decisions) == 1 and after.requests[0].state == "observing"
    assert not follower.poll().changed   # nothing new: nothing to redraw


def test_views_stay_bounded_however_long_the_night(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log, hours=10)
        b.night_started()
        for i in range(120):
            b.decision(i, "la-palma", "palma-1m", request_id=f"r{i}", n_candidates=1)
        b.conditions("la-palma", 200)
    state = ConsoleState(str(db), tail_keep=25, decisions_keep=10)
    follower = LogFollower(str(db), state=state, chunk=97)   # several polls, odd chunk size
    while follower.poll().more:
        pass
    snap = state.snapshot()
    assert [d.request_id for d in snap.decisions] == [f"r{i}" for i in range(110, 120)]
    assert all(d.outcome == "assigned" for d in snap.decisions)
    assert len(snap.tail) == 25 and snap.tail[-1].position == snap.position
    trends = state.trends
    for i in range(MAX_POINTS + 10):
        trends._add("la-palma", "seeing", i / 100, 1.0)
    assert len(next(t for t in trends.series() if t.quantity == "seeing").hours) <= MAX_POINTS


def test_a_filter_refills_the_tail_from_the_log(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    demo_log(db)
    follower = follow(db)
    follower.tail_filter = TailFilter(type_name="alert")
    assert follower.poll().changed
    tail = follower.state.snapshot().tail
    assert [r.type_name for r in tail] == ["AlertReceived", "AlertRejected"]
    follower.tail_filter = TailFilter(site="hanle")
    follower.poll()
    assert [r.summary for r in follower.state.snapshot().tail] == [
        "closed (cloud cover 0.91 > 0.7), seeing 0.90\", sky 21.50, cloud 0.91"]
    follower.tail_filter = TailFilter(actor="site")
    follower.poll()
    tail = follower.state.snapshot().tail
    assert tail and all(r.actor.startswith("site:") for r in tail)
    with EventLog.open(db, durable=False) as log:   # new events pass through the filter too
        b = LogBuilder(log)
        b.conditions("la-palma", 25)
        b.alert(26, "ivo://gcn/X#9", "X-9")
    follower.poll()
    assert follower.state.snapshot().tail[-1].summary.startswith("open, seeing")


def test_sun_and_local_time_helpers() -> None:
    assert [darkness_phase(a) for a in (5, -3, -9, -15, -30)] == [
        "day", "civil twilight", "nautical twilight", "astronomical twilight", "night"]
    assert local_time(START, "Asia/Kolkata") == "04:30"
    assert local_time(START, "Not/AZone") == "23:00Z"
    from control_center import astro

    site = load_network().site("la-palma")
    track = SunTrack(site.location, START, START + timedelta(hours=2))
    for minutes in (0, 37, 119, 300):   # on the grid, between points, and off the grid
        when = START + timedelta(minutes=minutes)
        exact = float(astro.sun_altitude(site.location, [when])[0])
        assert track.altitude(when) == pytest.approx(exact, abs=0.05)


def test_sky_picture_agrees_with_astropy() -> None:
    import numpy as np

    from control_center import astro
    from control_center.ui.model.sky import sky_picture

    site = load_network().site("cerro-pachon")
    when = START + timedelta(minutes=47)
    targets = [("a", 150.0, -20.0), ("b", 83.8, -5.4), ("c", 250.0, -60.0)]
    picture = sky_picture(site, START, START + timedelta(hours=2), when, targets,
                          [("pachon-1m", "NGC1234", 150.0, -20.0)])
    alt, az = astro.altaz_grid(site.location, np.array([t[1] for t in targets]),
                               np.array([t[2] for t in targets]), [when])
    for (_, got_az, got_alt), want_az, want_alt in zip(picture.targets, az[:, 0], alt[:, 0],
                                                       strict=True):
        assert got_alt == pytest.approx(want_alt, abs=0.05)
        assert got_az == pytest.approx(want_az, abs=0.2)
    assert picture.pointings[0][2:] == pytest.approx(picture.targets[0][1:])
    moon = astro.moon_grid(site.location, [when])
    assert picture.moon[1] == pytest.approx(float(moon["alt"][0]), abs=0.2)
    assert picture.moon[2] == pytest.approx(float(moon["illumination"][0]), abs=0.01)


def test_a_large_read_shows_the_newest_events_first_then_folds_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    demo_log(db)
    follower = follow(db)
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log)
        for i in range(200):   # 7 events each: more than one split's worth
            b.decision(30 + i / 10, "la-palma", "palma-1m", request_id=f"burst-{i}")
        last = log.last_position()
    first = follower.poll()
    assert first.changed and first.more
    snap = follower.state.snapshot()
    assert snap.position == last and snap.tail[-1].position == last
    assert snap.decisions[-1].request_id == "alert:SWIFT-1234"   # not folded yet
    second = follower.poll()
    assert second.changed
    snap = follower.state.snapshot()
    assert snap.decisions[-1].request_id == "burst-199"
    assert {t.name: t.target for s in snap.sites for t in s.telescopes}["palma-1m"] == "NGC1234"
    assert not follower.poll().changed
