"""One run of astroplan's ``PriorityScheduler`` for one telescope: a time-ordered plan.

Candidates become ``ObservingBlock``\\ s (priority 0 is the best-scored one;
duration = exposure + readout + settle, rounded up to the time resolution; the
filter is the block's configuration), under global astroplan constraints (the
telescope's altitude floor, an airmass limit scored smoothly so that blocks go
where the target is highest, and darkness) with a ``Transitioner`` built from
the telescope's slew rate and filter-change time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from control_center import astro
from control_center.network import Site, Telescope
from control_center.plugin_api import Candidate

__all__ = ["PlannedBlock", "SchedulerSettings", "observer_at", "plan_blocks"]


@dataclass(frozen=True)
class SchedulerSettings:
    """How the plan is made.

    Attributes
    ----------
    max_blocks : int
        Candidates offered to astroplan (the best-scored). astroplan's cost grows
        about quadratically with this (~0.4 s for 10, ~0.9 s for 16, ~2 s for 30 on
        an idle core); the plugin time budget is 2 s per call.
    time_resolution_s : float
        astroplan's time step; block durations are rounded up to multiples of it.
    max_airmass : float
        Above this airmass a block scores zero (the constraints plugin's limit).
    sun_limit_deg : float
        The Sun must be below this (the night plan's darkness).
    """

    max_blocks: int = 10
    time_resolution_s: float = 60.0
    max_airmass: float = 2.5
    sun_limit_deg: float = -12.0

    def __post_init__(self) -> None:
        if self.max_blocks < 1:
            raise ValueError(f"max_blocks must be at least 1, got {self.max_blocks}")
        if self.time_resolution_s <= 0:
            raise ValueError(f"time_resolution_s must be positive, got {self.time_resolution_s}")


@dataclass(frozen=True)
class PlannedBlock:
    """A candidate astroplan placed in the schedule, from ``start`` to ``end`` (UTC)."""

    key: str
    start: datetime
    end: datetime


@lru_cache(maxsize=64)
def observer_at(latitude_deg: float, longitude_deg: float, elevation_m: float):
    """An ``astroplan.Observer`` at the given coordinates (never ``of_site``)."""
    astro.configure_offline()
    import astropy.units as u
    from astroplan import Observer
    from astropy.coordinates import EarthLocation

    location = EarthLocation(lat=latitude_deg * u.deg, lon=longitude_deg * u.deg,
                             height=elevation_m * u.m)
    return Observer(location=location)


def block_duration_s(telescope: Telescope, exposure_s: float, resolution_s: float) -> float:
    """Seconds a block occupies: exposure, readout and settle, rounded up to the resolution.

    At least two steps: astroplan's PriorityScheduler does not mark a one-step block's
    time as taken and may put the next block on top of it ("block already occupied",
    astroplan issue #368).
    """
    seconds = exposure_s + float(telescope.readout_s) + float(telescope.settle_s)
    return max(2, math.ceil(seconds / resolution_s)) * resolution_s


def plan_blocks(site: Site, telescope: Telescope, candidates: Sequence[Candidate],
                start: datetime, end: datetime,
                settings: SchedulerSettings = SchedulerSettings()) -> tuple[PlannedBlock, ...]:
    """Schedule ``candidates`` (best first) between ``start`` and ``end``.

    Parameters
    ----------
    site, telescope : Site, Telescope
        Where the schedule runs; the telescope gives the altitude floor, the
        slew rate, the filter-change, readout and settle times.
    candidates : sequence of Candidate
        In priority order: the first is the most important.
    start, end : datetime
        The span to fill (UTC).
    settings : SchedulerSettings

    Returns
    -------
    tuple of PlannedBlock
        The scheduled blocks in time order (empty when astroplan placed none).
        Blocks that cannot fit before ``end`` with a transition are not offered
        (astroplan would print a complaint for each and leave them out).
    """
    res = settings.time_resolution_s
    room = (end - start).total_seconds() - res
    durations = [block_duration_s(telescope, c.exposure_s, res) for c in candidates]
    fitting = [(c, d) for c, d in zip(candidates, durations, strict=True) if d <= room]
    if not fitting:
        return ()
    astro.configure_offline()
    import astropy.units as u
    import numpy as np
    from astroplan import (
        AirmassConstraint,
        AltitudeConstraint,
        AtNightConstraint,
        FixedTarget,
        ObservingBlock,
        TimeConstraint,
    )
    from astroplan.scheduling import PriorityScheduler, Schedule, Transitioner
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    observer = observer_at(site.latitude_deg, site.longitude_deg, site.elevation_m)
    coords = SkyCoord(ra=np.array([c.ra_deg for c, _ in fitting]) * u.deg,
                      dec=np.array([c.dec_deg for c, _ in fitting]) * u.deg)
    targets: dict[tuple[float, float], object] = {}   # one target per position: no slew
    blocks = []
    for rank, (c, seconds) in enumerate(fitting):
        target = targets.setdefault((c.ra_deg, c.dec_deg),
                                    FixedTarget(coords[rank], name=c.target))
        blocks.append(ObservingBlock(target, seconds * u.s, rank,
                                     configuration={"filter": c.filter}, name=c.key))
    constraints = [
        AltitudeConstraint(min=telescope.min_altitude_deg * u.deg),
        AirmassConstraint(max=settings.max_airmass, boolean_constraint=False),
        AtNightConstraint(max_solar_altitude=settings.sun_limit_deg * u.deg),
        # A block of k steps occupies k grid points but lasts until the (k+1)-th: without
        # this, astroplan tries blocks that overrun ``end`` and prints a complaint.
        TimeConstraint(min=Time(start) - 1 * u.s, max=Time(end) - (res - 1) * u.s),
    ]
    transitioner = Transitioner(
        slew_rate=telescope.slew_rate_deg_s * u.deg / u.s,
        instrument_reconfig_times={"filter": {"default": telescope.filter_change_s * u.s}})
    scheduler = PriorityScheduler(constraints=constraints, observer=observer,
                                  transitioner=transitioner,
                                  time_resolution=res * u.s)
    schedule = Schedule(Time(start), Time(end))
    scheduler(blocks, schedule)
    placed = [b for b in schedule.scheduled_blocks if isinstance(b, ObservingBlock)]
    out = [PlannedBlock(b.name, b.start_time.to_datetime(timezone=UTC),
                        b.end_time.to_datetime(timezone=UTC)) for b in placed]
    return tuple(sorted(out, key=lambda b: (b.start, b.key)))
