"""A burst shows its newest events first, then every view catches up to the same state
as folding it all at once."""

from __future__ import annotations

from lag import write_burst

from control_center.eventlog import EventLog
from control_center.ui.model import ConsoleState, LogFollower, TailFilter


def test_a_burst_shows_its_newest_events_first_then_folds_the_rest(demo_db) -> None:
    db, _ = demo_db
    follower = LogFollower(db)
    while follower.poll().more:
        pass
    before = follower.snapshot()
    with EventLog.open(db, durable=False) as log:
        write_burst(log, 1800)                        # 300 decisions, 6 events each
        last = log.last_position()
    first = follower.poll()
    shown = follower.snapshot()
    assert first.changed and first.more
    assert shown.position == last and shown.tail[-1].position == last
    assert len(shown.tail) == 300 and shown.events_folded == last
    assert shown.decisions == before.decisions        # not folded yet: next polls
    while follower.poll().more:
        pass
    done = follower.snapshot()
    fresh = ConsoleState(db)          # the same events, folded in two reads at once
    with EventLog.open(db, create=False) as log:
        fresh.fold(list(log.read(limit=before.position)))
        fresh.fold(list(log.read(after=before.position)))
    expected = fresh.snapshot()
    for part in ("decisions", "tail", "requests", "alerts", "trends", "sites"):
        assert getattr(done, part) == getattr(expected, part), part
    assert len(done.decisions) == 304 and done.position == last


def test_a_burst_under_a_tail_filter_keeps_the_filter(demo_db) -> None:
    db, _ = demo_db
    follower = LogFollower(db)
    follower.tail_filter = TailFilter(type_name="assignmentchosen")
    while follower.poll().more:
        pass
    with EventLog.open(db, durable=False) as log:
        write_burst(log, 1800)
        last = log.last_position()
    follower.poll()
    tail = follower.snapshot().tail
    assert follower.snapshot().position == last
    assert len(tail) == 300 and {r.type_name for r in tail} == {"AssignmentChosen"}
    assert tail[-1].position == last - 1              # the burst's last choice
