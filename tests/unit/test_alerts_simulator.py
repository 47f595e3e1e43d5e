"""The simulated alert stream: deterministic, realistic, and readable by our own parser."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_center.alerts import AlertParseError, ingest_outcome, parse_alert
from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog
from control_center.network import load_network
from simulator.alerts import RATES_PER_10H, alert_stream

START = datetime(2026, 3, 21, 18, tzinfo=UTC)
END = datetime(2026, 3, 22, 4, tzinfo=UTC)
NETWORK = load_network()


def test_the_same_seed_gives_the_same_stream() -> None:
    a = alert_stream(7, START, END, NETWORK)
    b = alert_stream(7, START, END, NETWORK)
    assert a == b
    assert [x.payload for x in a] != [x.payload for x in alert_stream(8, START, END, NETWORK)]


def test_alerts_are_in_time_order_inside_the_span() -> None:
    for seed in range(5):
        stream = alert_stream(seed, START, END, NETWORK)
        times = [a.when for a in stream]
        assert times == sorted(times)
        assert all(START <= t < END for t in times)
        assert len({a.filename for a in stream}) == len(stream)


def test_rates_over_many_nights() -> None:
    kinds: Counter = Counter()
    nights = 40
    for seed in range(nights):
        kinds.update(a.kind for a in alert_stream(seed, START, END, NETWORK,
                                                  rates={"malformed": 1.0}))
    # 10-hour nights: GRB (with XRT updates) >= their rate, GW (with updates) >= theirs
    assert kinds["grb"] / nights >= RATES_PER_10H["grb"] * 0.7
    assert kinds["gw"] / nights >= RATES_PER_10H["gw"] * 0.7
    assert 0.5 < kinds["malformed"] / nights < 1.6
    assert kinds["neutrino"] > 0
    assert not alert_stream(0, START, END, NETWORK, rates={k: 0.0 for k in RATES_PER_10H})


@pytest.fixture(scope="module")
def many() -> list:
    out = []
    for seed in range(12):
        out.extend(alert_stream(seed, START, END, NETWORK, rates={"gw": 2.0, "malformed": 1.0}))
    return out


def test_every_simulated_notice_parses_except_the_malformed_ones(many) -> None:
    orderings = set()
    for alert in many:
        if alert.kind == "malformed":
            with pytest.raises(AlertParseError):
                parse_alert(alert.payload)
            continue
        parsed = parse_alert(alert.payload)
        assert parsed.alert_id == alert.alert_id
        assert parsed.kind == alert.kind
        assert parsed.format == alert.format
        if alert.kind == "gw":
            assert parsed.localisation is not None
            orderings.add(parsed.localisation.description.split(",")[0].split(" nside")[0])
        else:
            assert parsed.position is not None and parsed.error_radius is not None
    assert orderings == {"flat NESTED", "flat RING", "multi-order"}


def test_updates_supersede_or_revise(many) -> None:
    xrt = [a for a in many if "XRT_Position" in a.alert_id]
    assert xrt
    parsed = parse_alert(xrt[0].payload)
    assert parsed.supersedes and "BAT_GRB_Pos" in parsed.supersedes[0]
    gw_ids = Counter(a.alert_id for a in many if a.kind == "gw")
    assert max(gw_ids.values()) == 2                    # a preliminary and an update


def test_a_simulated_night_ingests_cleanly(tmp_path: Path) -> None:
    stream = alert_stream(7, START, END, NETWORK, rates={"malformed": 2.0})
    with EventLog.open(tmp_path / "log.db", clock=SimulatedClock(START)) as log:
        statuses = [ingest_outcome(log, a.payload, network=NETWORK, sim_time=a.when,
                                   source=a.filename).status for a in stream]
        assert len(list(log.read())) == len(stream)
    expected = ["rejected" if a.kind == "malformed" else None for a in stream]
    assert [s if s == "rejected" else None for s in statuses] == expected
    assert "accepted" in statuses
