"""The Sun and Moon over a site during a simulated span, cheap to query.

astropy (through :mod:`control_center.astro`) computes the Sun's altitude and
the Moon's position, altitude and phase once, on a 15-minute grid; queries
interpolate linearly (errors below 0.1 deg). Grids are cached per site and span,
so many simulated runs of the same night (different seeds) pay astropy once.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from control_center import astro
from simulator.horizon import to_seconds

__all__ = ["DUSK_SUN_ALT_DEG", "Ephemeris"]

DUSK_SUN_ALT_DEG = -12.0
"""Sun altitude that defines dusk and dawn (nautical twilight), as in the night plan."""

_STEP_S = 900.0
_LEAD_S = 6 * 3600.0
"""The grid starts this long before the span, to find the dusk before it."""


class Ephemeris:
    """Sun and Moon at one site from ``start`` to ``end`` (clamped outside).

    Parameters
    ----------
    latitude_deg, longitude_deg, elevation_m : float
        The site.
    start, end : datetime
        The simulated span.
    """

    def __init__(self, latitude_deg: float, longitude_deg: float, elevation_m: float,
                 start: datetime, end: datetime) -> None:
        grids = _grids(latitude_deg, longitude_deg, elevation_m, to_seconds(start),
                       to_seconds(end))
        self._t0, self._n = grids["t0"], len(grids["sun_alt"])
        self.sun_alt = grids["sun_alt"]
        self.moon_ra, self.moon_dec = grids["moon_ra"], grids["moon_dec"]
        self.moon_alt, self.moon_illumination = grids["moon_alt"], grids["moon_illumination"]
        self._dusks = list(grids["dusks"])

    def _where(self, t_s: float) -> tuple[int, float]:
        x = (t_s - self._t0) / _STEP_S
        if x <= 0.0:
            return 0, 0.0
        if x >= self._n - 1:
            return self._n - 2, 1.0
        i = int(x)
        return i, x - i

    def _lerp(self, arr: np.ndarray, i: int, f: float) -> float:
        a = float(arr[i])
        return a + (float(arr[i + 1]) - a) * f

    def sun_altitude(self, t_s: float) -> float:
        """Altitude of the Sun (deg) at POSIX time ``t_s``."""
        return self._lerp(self.sun_alt, *self._where(t_s))

    def moon(self, t_s: float) -> tuple[float, float, float, float]:
        """The Moon at ``t_s``: RA, Dec, altitude (deg) and illuminated fraction."""
        i, f = self._where(t_s)
        return (self._lerp(self.moon_ra, i, f) % 360.0, self._lerp(self.moon_dec, i, f),
                self._lerp(self.moon_alt, i, f), self._lerp(self.moon_illumination, i, f))

    def on_grid(self, times_s: np.ndarray) -> dict[str, np.ndarray]:
        """Sun altitude and Moon state interpolated onto many POSIX times at once."""
        grid = self._t0 + _STEP_S * np.arange(self._n)
        out = {name: np.interp(times_s, grid, arr) for name, arr in (
            ("sun_alt", self.sun_alt), ("moon_alt", self.moon_alt),
            ("moon_ra", self.moon_ra), ("moon_dec", self.moon_dec),
            ("moon_illumination", self.moon_illumination))}
        out["moon_ra"] %= 360.0
        return out

    def hours_since_dusk(self, t_s: float) -> float:
        """Hours since the Sun last set below :data:`DUSK_SUN_ALT_DEG` (0 before any dusk)."""
        k = bisect.bisect_right(self._dusks, t_s)
        return 0.0 if k == 0 else (t_s - self._dusks[k - 1]) / 3600.0


@lru_cache(maxsize=32)
def _grids(lat: float, lon: float, elev: float, start_s: float, end_s: float) -> dict:
    import astropy.units as u
    from astropy.coordinates import EarthLocation

    t0 = start_s - _LEAD_S
    n = int(np.ceil((end_s - t0) / _STEP_S)) + 2
    times = [datetime.fromtimestamp(t0 + i * _STEP_S, tz=UTC) for i in range(n)]
    location = EarthLocation.from_geodetic(lon=lon * u.deg, lat=lat * u.deg, height=elev * u.m)
    sun = np.asarray(astro.sun_altitude(location, times), dtype=float)
    moon = astro.moon_grid(location, times)
    above = sun >= DUSK_SUN_ALT_DEG
    down = np.flatnonzero(above[:-1] & ~above[1:])
    frac = (sun[down] - DUSK_SUN_ALT_DEG) / (sun[down] - sun[down + 1])
    grids = {
        "t0": t0,
        "sun_alt": sun,
        "moon_ra": np.unwrap(np.asarray(moon["ra"], dtype=float), period=360.0),
        "moon_dec": np.asarray(moon["dec"], dtype=float),
        "moon_alt": np.asarray(moon["alt"], dtype=float),
        "moon_illumination": np.asarray(moon["illumination"], dtype=float),
        "dusks": tuple(float(t0 + (i + f) * _STEP_S) for i, f in zip(down, frac, strict=True)),
    }
    for arr in grids.values():
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    return grids
