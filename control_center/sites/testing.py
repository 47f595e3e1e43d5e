"""Support for the site-node tests and benchmarks: observation sequences, waiting.

Not used by the control center itself.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc

from control_center.network import load_network
from site_node.backends.base import ObservationCommand

__all__ = ["NIGHT", "clear_start", "commands", "overhead_target", "try_call", "wait_for"]

NIGHT = datetime(2026, 3, 21, 18, 0, tzinfo=UTC)
"""A time when Hanle (and Cerro Pachón soon after) is dark."""


def overhead_target(site_name: str, when: datetime) -> tuple[float, float]:
    """RA and Dec of a point near the zenith of ``site_name`` at ``when``."""
    from simulator.horizon import HorizonFrame

    site = load_network().site(site_name)
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, when)
    ra = max(range(0, 360, 2), key=lambda r: frame.altaz(float(r), site.latitude_deg, when)[0])
    return float(ra), site.latitude_deg


def commands(site_name: str, telescope: str, n: int, *, exposure_s: float = 60.0,
             start: datetime = NIGHT, prefix: str = "obs") -> list[ObservationCommand]:
    """``n`` observations of one field, one after another in simulated time."""
    ra, dec = overhead_target(site_name, start)
    step = timedelta(seconds=exposure_s + 60)
    return [ObservationCommand(observation_id=f"{prefix}-{i:03d}", request_id=f"req-{i}",
                               telescope=telescope, ra_deg=ra, dec_deg=dec, filter="r",
                               exposure_s=exposure_s, start=start + i * step)
            for i in range(n)]


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def try_call(fn):
    """``fn()``'s result, or the RpcError it raised."""
    try:
        return fn()
    except grpc.RpcError as exc:
        return exc


def clear_start(client, start: datetime = NIGHT, hours: float = 8.0,
                min_clear_h: float = 1.0) -> datetime:
    """Pin a node's simulated span and return the start of its first clear spell.

    The spell (dome open) lasts at least ``min_clear_h`` hours inside the span.
    """
    timeline = client.condition_timeline(start, start + timedelta(hours=hours))
    edges = [(t, c.open) for t, c in timeline] + [(start + timedelta(hours=hours), False)]
    opened = None
    for t, is_open in edges:
        if is_open and opened is None:
            opened = t
        elif not is_open and opened is not None:
            if (t - opened).total_seconds() >= min_clear_h * 3600:
                return opened
            opened = None
    raise AssertionError("no clear spell in the simulated span: pick another seed")
