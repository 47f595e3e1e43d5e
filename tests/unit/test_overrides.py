"""Observers' overrides: validated before anything is recorded; folded into what is in force."""

from datetime import UTC, datetime

import pytest

from control_center import overrides
from control_center.cli.main import main
from control_center.clock import FixedClock
from control_center.eventlog import EventLog
from control_center.eventlog.envelope import stream_id
from control_center.events import ObservationAssigned, ObservationRequested
from control_center.network import load_network
from control_center.projections.overrides import OverridesInForce
from control_center.projections.request_queue import RequestQueue

NOW = datetime(2026, 3, 21, 23, 0, tzinfo=UTC)


@pytest.fixture
def log(tmp_path):
    with EventLog.open(tmp_path / "log.db", clock=FixedClock(NOW)) as log:
        with log.batch(actor="control-center", sim_time=NOW) as batch:
            batch.add(ObservationRequested, stream=stream_id("request", "r1"), request_id="r1",
                      program="p", kind="science", target="M 1", ra_deg=83.6, dec_deg=22.0,
                      filters=["r"], exposure_s=60.0, priority=4.0, repeats=1,
                      not_before=None, not_after=None)
        yield log


@pytest.fixture(scope="module")
def network():
    return load_network()


def _count(log):
    return log.last_position()


def test_each_override_is_one_event_by_the_observer(log, network):
    common = {"observer": "ana", "sim_time": NOW}
    events = [
        overrides.pause(log, network, site="la-palma", reason="wind", **common),
        overrides.resume(log, network, site="la-palma", **common),
        overrides.veto(log, network, request_id="r1", telescope="palma-1m", **common),
        overrides.force(log, network, request_id="r1", telescope="hanle-0.7m", **common),
        overrides.set_priority(log, request_id="r1", priority=9, **common),
    ]
    assert [e.actor for e in events] == ["observer:ana"] * 5
    assert events[-1].previous == 4.0 and events[-1].priority == 9.0
    assert _count(log) == 6


@pytest.mark.parametrize("call, message", [
    (lambda log, net: overrides.pause(log, net, observer="ana", sim_time=NOW, site="mars"),
     "no site 'mars'"),
    (lambda log, net: overrides.pause(log, net, observer="ana", sim_time=NOW,
                                      telescope="palma-1m", site="hanle"),
     "is at 'la-palma', not 'hanle'"),
    (lambda log, net: overrides.pause(log, net, observer="ana", sim_time=NOW),
     "name a site or a telescope"),
    (lambda log, net: overrides.force(log, net, observer="ana", sim_time=NOW,
                                      telescope="palma-1m", request_id="nope"),
     "no request 'nope'"),
    (lambda log, net: overrides.set_priority(log, observer="ana", sim_time=NOW,
                                             request_id="r1", priority=11),
     "priority must be in [0, 10]"),
    (lambda log, net: overrides.rate(log, observer="ana", sim_time=NOW, observation_id="o",
                                     rating="meh"),
     "rating must be one of good, bad"),
    (lambda log, net: overrides.rate(log, observer="ana", sim_time=NOW, observation_id="o",
                                     rating="good"),
     "no observation 'o'"),
    (lambda log, net: overrides.acknowledge_alert(log, observer="ana", sim_time=NOW,
                                                  alert_id="GRB 1"),
     "no alert 'GRB 1'"),
    (lambda log, net: overrides.pause(log, net, observer="two words", sim_time=NOW,
                                      site="hanle"),
     "observer name must be one word"),
])
def test_bad_overrides_are_refused_and_nothing_is_recorded(log, network, call, message):
    before = _count(log)
    with pytest.raises(overrides.OverrideError, match=message.replace("[", r"\[")):
        call(log, network)
    assert _count(log) == before


def _fold(log, projection):
    for recorded in log.read():
        projection.apply(recorded)
    return projection


def test_overrides_in_force_follow_pauses_vetoes_forces_and_assignments(log, network):
    common = {"observer": "ana", "sim_time": NOW}
    overrides.pause(log, network, site="cerro-pachon", **common)
    overrides.pause(log, network, telescope="palma-1m", **common)
    overrides.veto(log, network, request_id="r1", telescope="palma-1m", **common)
    overrides.force(log, network, request_id="r1", telescope="hanle-0.7m", **common)
    state = _fold(log, OverridesInForce())
    assert state.paused("cerro-pachon", "pachon-1m")["site"] == "cerro-pachon"
    assert state.paused("la-palma", "palma-1m") is not None
    assert state.paused("hanle", "hanle-0.7m") is None
    assert [o["override"] for o in state.for_decision("palma-1m")] == ["veto"]
    assert [o["override"] for o in state.for_decision("hanle-0.7m")] == ["force"]

    overrides.resume(log, network, site="cerro-pachon", **common)
    with log.batch(actor="control-center", sim_time=NOW) as batch:
        batch.add(ObservationAssigned, stream=stream_id("observation", "o1"),
                  observation_id="o1", request_id="r1", site="hanle", telescope="hanle-0.7m",
                  target="M 1", ra_deg=83.6, dec_deg=22.0, filter="r", exposure_s=60.0,
                  expected_start=NOW, expected_end=NOW, expected_value=1.0)
    state = _fold(log, OverridesInForce())
    assert state.paused("cerro-pachon", "pachon-1m") is None
    assert state.for_decision("hanle-0.7m") == []     # the force was used


def test_a_priority_change_reaches_the_queue(log):
    overrides.set_priority(log, observer="ana", sim_time=NOW, request_id="r1", priority=7.5)
    queue = _fold(log, RequestQueue())
    assert [r.priority for r in queue.pending()] == [7.5]


def test_override_command_records_and_refuses(log, tmp_path, capsys):
    assert main(["override", "pause", "--site", "hanle", "--observer", "ana",
                 "--reason", "dust", "--db", str(tmp_path / "log.db")]) == 0
    assert "recorded TelescopePaused by ana" in capsys.readouterr().out
    assert main(["override", "priority", "r1", "12", "--observer", "ana",
                 "--db", str(tmp_path / "log.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "priority must be in" in err
