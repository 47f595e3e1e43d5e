"""The Sun at each site over a night: altitude, darkness phase and local time.

Computing the Sun's position costs milliseconds; the console redraws several
times a second. :class:`SunTrack` computes the altitude once on a grid over
the night (with :func:`control_center.astro.sun_altitude`) and interpolates;
times off the grid are computed on demand and remembered per minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

__all__ = ["SunTrack", "darkness_phase", "local_time", "sun_track"]

GRID_STEP = timedelta(minutes=5)
"""Spacing of the precomputed altitudes (the Sun moves at most 1.25 deg in 5 min)."""
GRID_MARGIN = timedelta(hours=2)
"""The grid extends this far before the night's start and after its end."""
_CACHE_MAX = 512
_TRACKS_MAX = 32
_tracks: dict[tuple, SunTrack] = {}

_PHASES = ((-0.833, "day"), (-6.0, "civil twilight"), (-12.0, "nautical twilight"),
           (-18.0, "astronomical twilight"))


def darkness_phase(sun_alt_deg: float) -> str:
    """Name of the darkness phase for a Sun altitude (deg).

    Examples
    --------
    >>> darkness_phase(10.0), darkness_phase(-8.0), darkness_phase(-25.0)
    ('day', 'nautical twilight', 'night')
    """
    for limit, name in _PHASES:
        if sun_alt_deg > limit:
            return name
    return "night"


def local_time(when: datetime, timezone: str) -> str:
    """``HH:MM`` at ``timezone`` (an IANA name); ``HH:MMZ`` (UTC) if the name is unknown."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{when:%H:%M}Z"
    return f"{when.astimezone(zone):%H:%M}"


class SunTrack:
    """Sun altitude at one site, precomputed over ``[start, end]``.

    Parameters
    ----------
    location : astropy.coordinates.EarthLocation
    start, end : datetime
        The night (UTC-aware); the grid adds :data:`GRID_MARGIN` on each side.
    """

    def __init__(self, location, start: datetime, end: datetime) -> None:
        from control_center import astro

        self._location = location
        self._t0 = start - GRID_MARGIN
        n = int((end + GRID_MARGIN - self._t0) / GRID_STEP) + 1
        times = [self._t0 + i * GRID_STEP for i in range(n)]
        self._seconds = np.array([(t - self._t0).total_seconds() for t in times])
        self._alt = np.asarray(astro.sun_altitude(location, times), dtype=float)
        self._cache: dict[datetime, float] = {}

    def altitude(self, when: datetime) -> float:
        """Sun altitude (deg) at ``when``."""
        s = (when - self._t0).total_seconds()
        if self._seconds[0] <= s <= self._seconds[-1]:
            return float(np.interp(s, self._seconds, self._alt))
        minute = when.replace(second=0, microsecond=0)
        cached = self._cache.get(minute)
        if cached is None:
            from control_center import astro

            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            cached = float(astro.sun_altitude(self._location, [minute])[0])
            self._cache[minute] = cached
        return cached


def sun_track(location, start: datetime, end: datetime) -> SunTrack:
    """A :class:`SunTrack`, shared by every fold of the same site and night in this process
    (a console that reconnects, or several in tests, computes the Sun once)."""
    key = (float(location.lat.deg), float(location.lon.deg), float(location.height.value),
           start, end)
    track = _tracks.get(key)
    if track is None:
        if len(_tracks) >= _TRACKS_MAX:
            _tracks.clear()
        track = _tracks[key] = SunTrack(location, start, end)
    return track
