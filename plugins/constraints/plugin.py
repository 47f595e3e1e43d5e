"""The constraints plugin: each candidate is checked against every hard limit at once.

The first broken constraint of a candidate is recorded with the value that
broke it and the limit, in this order: instrument, twilight, weather, seeing,
altitude, airmass, moon, setting (does slew + setup + exposure fit before the
target sinks below its limit?), night-end, exclusive (another telescope is on it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from control_center import astro
from control_center.plugin_api import (
    Candidate,
    DecisionContext,
    NightPlan,
    Rejection,
    hookimpl,
)
from plugins.constraints.grid import SiteNightGrid
from plugins.constraints.limits import Limits
from simulator.telescope import expected_duration_s

NAME = "constraints"


class Constraints:
    """Stateful constraint plugin: grids are built per night and cached."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._night: NightPlan | None = None
        self._grids: dict[str, SiteNightGrid] = {}

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self._night = night
        self._grids = {}

    def grid(self, context: DecisionContext) -> SiteNightGrid:
        site = context.telescope.site
        grid = self._grids.get(site.name)
        if grid is None:
            night = context.night
            grid = SiteNightGrid(site, night.start, night.end)
            self._grids[site.name] = grid
        return grid

    @hookimpl
    def openastro_filter(self, context: DecisionContext,
                         candidates: Sequence[Candidate]) -> list[Rejection]:
        if not candidates:
            return []
        lim = self.limits
        scope = context.telescope.telescope
        grid = self.grid(context)
        now = context.now
        n = len(candidates)
        ra = np.fromiter((c.ra_deg for c in candidates), float, n)
        dec = np.fromiter((c.dec_deg for c in candidates), float, n)
        exposure = np.fromiter((c.exposure_s for c in candidates), float, n)
        calibration = np.fromiter((c.kind in lim.calibration_kinds for c in candidates), bool, n)
        filters = [c.filter for c in candidates]

        rows = grid.rows(ra, dec)
        alt, az = grid.altaz(rows, now)
        floor = grid.horizon_limit(az, scope.min_altitude_deg)
        airmass = astro.airmass(alt)
        sun_alt = float(grid.at(grid.sun_alt, now))
        moon_alt = float(grid.at(grid.moon_alt, now))
        moon_illum = float(grid.at(grid.moon_illumination, now))
        moon_sep = astro.angular_separation_deg(ra, dec, float(grid.at(grid.moon_ra, now)),
                                                float(grid.at(grid.moon_dec, now)))
        moon_limit = lim.moon_separation(moon_illum)

        state = context.telescope
        duration = expected_duration_s(scope, state.pointing_ra_deg, state.pointing_dec_deg,
                                       state.filter, ra, dec, filters, exposure)
        end_times = [now + _seconds(d) for d in duration]
        alt_end = grid.altitude_at(rows, end_times)
        dark_end = _dark_end(context)
        busy = set(context.busy_targets.values())
        conditions = context.conditions

        out: list[Rejection] = []
        for i, c in enumerate(candidates):
            rejection = None
            if c.filter not in scope.filters:
                rejection = ("instrument", c.filter, "|".join(scope.filters))
            elif not calibration[i] and sun_alt > lim.twilight_sun_alt_deg:
                rejection = ("twilight", round(sun_alt, 2), lim.twilight_sun_alt_deg)
            elif not conditions.open:
                rejection = ("weather", conditions.reason or "closed", "open")
            elif conditions.seeing_arcsec > lim.max_seeing_arcsec and not calibration[i]:
                rejection = ("seeing", round(conditions.seeing_arcsec, 2), lim.max_seeing_arcsec)
            elif alt[i] < floor[i]:
                rejection = ("altitude", round(float(alt[i]), 2), round(float(floor[i]), 2))
            elif airmass[i] > lim.max_airmass:
                rejection = ("airmass", round(float(airmass[i]), 3), lim.max_airmass)
            elif moon_alt > 0 and moon_sep[i] < moon_limit:
                rejection = ("moon", round(float(moon_sep[i]), 2), round(moon_limit, 2))
            elif alt_end[i] < floor[i]:
                rejection = ("setting", round(float(alt_end[i]), 2), round(float(floor[i]), 2))
            elif dark_end is not None and end_times[i] > dark_end and not calibration[i]:
                rejection = ("night-end", end_times[i].isoformat(timespec="seconds"),
                             dark_end.isoformat(timespec="seconds"))
            elif c.request_id in busy:
                rejection = ("exclusive", c.request_id, "not being observed elsewhere")
            if rejection is not None:
                out.append(Rejection(c.key, *rejection))
        return out


def _seconds(value: float):
    from datetime import timedelta

    return timedelta(seconds=float(value))


def _dark_end(context: DecisionContext):
    """End of the dark interval the decision is in (None if not in one)."""
    for begin, end in context.night.dark.get(context.telescope.site.name, ()):
        if begin <= context.now < end:
            return end
    return None
