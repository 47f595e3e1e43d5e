"""Reconnection backoff and the online/degraded/offline state machine."""

from datetime import UTC, datetime, timedelta

import pytest

from control_center.clock import SimulatedClock
from control_center.sites.health import DEGRADED, OFFLINE, ONLINE, Backoff, LinkHealth


def test_backoff_is_exponential_capped_jittered_and_seeded():
    b = Backoff(base_s=0.5, factor=2.0, max_s=4.0, seed=7)
    delays = [b.next_delay() for _ in range(8)]
    nominal = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert delays == [Backoff(base_s=0.5, factor=2.0, max_s=4.0, seed=7).next_delay()
                      for _ in range(1)] + delays[1:]
    again = Backoff(base_s=0.5, factor=2.0, max_s=4.0, seed=7)
    assert [again.next_delay() for _ in range(8)] == delays
    b.reset()
    assert b.attempts == 0 and b.next_delay() <= 0.5
    assert Backoff(seed=1).nominal(1000) == 10.0
    with pytest.raises(ValueError):
        Backoff(base_s=0)


def test_health_moves_through_its_states_and_reports_each_change():
    clock = SimulatedClock(datetime(2026, 3, 21, 20, tzinfo=UTC))
    changes = []
    h = LinkHealth("la-palma", offline_after=3, silent_after_s=30, clock=clock,
                   on_change=lambda old, new, why: changes.append((old, new)))
    assert h.state == OFFLINE
    h.success()
    h.success()
    assert h.state == ONLINE
    h.failure("UNAVAILABLE")
    assert h.state == DEGRADED
    h.failure("UNAVAILABLE")
    assert h.state == DEGRADED
    h.failure("UNAVAILABLE")
    assert h.state == OFFLINE and "3 failures" in h.reason
    h.failure("UNAVAILABLE")
    h.success(healthy=False, reason="camera error")
    assert h.state == DEGRADED
    h.success()
    assert changes == [(OFFLINE, ONLINE), (ONLINE, DEGRADED), (DEGRADED, OFFLINE),
                       (OFFLINE, DEGRADED), (DEGRADED, ONLINE)]


def test_a_silent_site_goes_offline():
    clock = SimulatedClock(datetime(2026, 3, 21, 20, tzinfo=UTC))
    h = LinkHealth("hanle", silent_after_s=30, clock=clock)
    h.success()
    clock.advance(timedelta(seconds=29))
    assert h.tick() == ONLINE
    clock.advance(timedelta(seconds=2))
    assert h.tick() == OFFLINE and "silent for 31 s" in h.reason
