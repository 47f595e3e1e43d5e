"""The constraints plugin: each candidate is checked against every hard limit at once.

The first broken constraint of a candidate is recorded with the value that
broke it and the limit, in this order: instrument, twilight, weather, seeing,
altitude, airmass, moon, setting (does slew + setup + exposure fit before the
target sinks below its limit?), night-end, exclusive (another telescope is on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

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
        alt_end = grid.altitude_after(rows, now, duration)
        dark_end = _dark_end(context)
        busy = set(context.busy_targets.values())
        conditions = context.conditions
        science = ~calibration
        if dark_end is None:
            late = np.zeros(n, dtype=bool)
        else:
            late = duration > (dark_end - now).total_seconds()

        # (name, broken?, value, limit) in the order rejections are attributed
        checks = [
            ("instrument", np.array([f not in scope.filters for f in filters]),
             np.array(filters, dtype=object), "|".join(scope.filters)),
            ("twilight", science & (sun_alt > lim.twilight_sun_alt_deg), round(sun_alt, 2),
             lim.twilight_sun_alt_deg),
            ("weather", np.full(n, not conditions.open), conditions.reason or "closed", "open"),
            ("seeing", science & (conditions.seeing_arcsec > lim.max_seeing_arcsec),
             round(conditions.seeing_arcsec, 2), lim.max_seeing_arcsec),
            ("altitude", alt < floor, np.round(alt, 2), np.round(floor, 2)),
            ("airmass", airmass > lim.max_airmass, np.round(airmass, 3), lim.max_airmass),
            ("moon", (moon_alt > 0) & (moon_sep < moon_limit), np.round(moon_sep, 2),
             round(moon_limit, 2)),
            ("setting", alt_end < floor, np.round(alt_end, 2), np.round(floor, 2)),
            ("night-end", science & late,
             lambda i: (now + timedelta(seconds=float(duration[i]))).isoformat(
                 timespec="seconds"),
             dark_end.isoformat(timespec="seconds") if dark_end else ""),
            ("exclusive", np.array([c.request_id in busy for c in candidates]),
             np.array([c.request_id for c in candidates], dtype=object),
             "not being observed elsewhere"),
        ]
        broken = np.stack([c[1] for c in checks])
        first = np.where(broken.any(axis=0), broken.argmax(axis=0), -1)
        out: list[Rejection] = []
        for i in np.flatnonzero(first >= 0):
            name, _, value, limit = checks[first[i]]
            out.append(Rejection(candidates[i].key, name, _item(value, i), _item(limit, i)))
        return out


def _item(value, i: int):
    """The i-th element of a per-candidate array or function, or the scalar itself."""
    if callable(value):
        return value(i)
    if isinstance(value, np.ndarray):
        value = value[i]
    return value.item() if isinstance(value, np.generic) else value


def _dark_end(context: DecisionContext):
    """End of the dark interval the decision is in (None if not in one)."""
    for begin, end in context.night.dark.get(context.telescope.site.name, ()):
        if begin <= context.now < end:
            return end
    return None
