"""The benchmark's nights: when each starts and what it is made of.

Night ``i`` (0-based) of a benchmark with seed ``S`` starts ``i`` days after
the first start and uses seed ``S + i``: its weather, its programme book
(:func:`simulator.demo_requests`, as ``openastro demo`` builds it) and its
alert stream (:func:`simulator.alerts.alert_stream`) are drawn from that seed
alone, so every policy faces exactly the same night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from control_center.network import Network
from control_center.plugin_api.types import QueuedRequest

__all__ = ["DEFAULT_START", "BenchNight", "NightInputs", "bench_nights", "night_inputs"]

DEFAULT_START = datetime(2026, 3, 21, 18, tzinfo=UTC)
"""First night's start (the demo's default)."""
N_SCIENCE, N_SURVEY = 200, 150
"""Size of the programme book (as in ``openastro demo``)."""


@dataclass(frozen=True)
class BenchNight:
    """One night of the benchmark: its index, seed, start and length."""

    index: int
    seed: int
    start: datetime
    hours: float

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)


@dataclass(frozen=True)
class NightInputs:
    """What the world brings to a night, the same for every policy."""

    requests: tuple[QueuedRequest, ...]
    alerts: tuple[tuple[datetime, bytes, str], ...]
    """(arrival, payload, file name) of each simulated alert."""


def bench_nights(seed: int, nights: int, hours: float,
                 start: datetime = DEFAULT_START) -> list[BenchNight]:
    """The ``nights`` nights of a benchmark (see the module docstring)."""
    if nights < 1:
        raise ValueError(f"nights must be at least 1, got {nights}")
    if not 0 < hours <= 24:
        raise ValueError(f"hours must be in (0, 24], got {hours}")
    return [BenchNight(i, seed + i, start + timedelta(days=i), hours) for i in range(nights)]


def night_inputs(network: Network, night: BenchNight) -> NightInputs:
    """The programme book and the alert stream of ``night``."""
    from simulator import demo_requests
    from simulator.alerts import alert_stream

    requests = demo_requests(night.seed, network, n_science=N_SCIENCE, n_survey=N_SURVEY,
                             campaign_night=night.start)
    alerts = [(a.when, a.payload, a.filename)
              for a in alert_stream(night.seed, night.start, night.end, network)]
    return NightInputs(tuple(requests), tuple(alerts))
