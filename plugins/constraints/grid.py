"""Per-night ephemeris grids of one site: the Sun, the Moon and target altitudes."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from control_center import astro
from control_center.network import Site


class SiteNightGrid:
    """Sun, Moon and target alt/az of one site on a regular time grid.

    Targets are added lazily in batches (one vectorised transform per batch)
    and cached for the rest of the night.
    """

    def __init__(self, site: Site, start: datetime, end: datetime, step_s: float = 300.0) -> None:
        self.site = site
        self.start = start
        self.step_s = step_s
        self.times = astro.time_grid(start, end, step_s)
        if self.times[-1] < end:
            self.times.append(self.times[-1] + (self.times[1] - self.times[0]))
        self._location = site.location
        self.sun_alt = astro.sun_altitude(self._location, self.times)
        moon = astro.moon_grid(self._location, self.times)
        self.moon_ra, self.moon_dec = moon["ra"], moon["dec"]
        self.moon_alt, self.moon_illumination = moon["alt"], moon["illumination"]
        self._rows: dict[tuple[float, float], int] = {}
        self._alt = np.empty((0, len(self.times)))
        self._az = np.empty((0, len(self.times)))

    def _index(self, when: datetime) -> tuple[np.ndarray, np.ndarray]:
        f = (when - self.start).total_seconds() / self.step_s
        f = float(np.clip(f, 0.0, len(self.times) - 1.000001))
        i = int(f)
        return i, f - i

    def at(self, series: np.ndarray, when: datetime) -> float | np.ndarray:
        """Linear interpolation of a per-time series (last axis) at ``when``."""
        i, w = self._index(when)
        return series[..., i] * (1 - w) + series[..., i + 1] * w

    def rows(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
        """Row indices of the given targets, computing any new ones in one pass."""
        keys = list(zip(np.asarray(ra_deg, float).tolist(), np.asarray(dec_deg, float).tolist(),
                        strict=True))
        missing = [k for k in dict.fromkeys(keys) if k not in self._rows]
        if missing:
            ra = np.array([k[0] for k in missing])
            dec = np.array([k[1] for k in missing])
            alt, az = astro.altaz_grid(self._location, ra, dec, self.times)
            base = len(self._alt)
            self._alt = np.vstack([self._alt, alt])
            self._az = np.vstack([self._az, az])
            for n, k in enumerate(missing):
                self._rows[k] = base + n
        return np.array([self._rows[k] for k in keys], dtype=int)

    def altaz(self, rows: np.ndarray, when: datetime) -> tuple[np.ndarray, np.ndarray]:
        """Altitude and azimuth (deg) of the given rows at ``when``."""
        alt = self.at(self._alt[rows], when)
        i, w = self._index(when)
        az0, az1 = self._az[rows, i], self._az[rows, i + 1]
        daz = (az1 - az0 + 180.0) % 360.0 - 180.0
        return alt, (az0 + w * daz) % 360.0

    def altitude_after(self, rows: np.ndarray, when: datetime,
                       offsets_s: np.ndarray) -> np.ndarray:
        """Altitude (deg) of each row ``offsets_s[k]`` seconds after ``when``."""
        f = ((when - self.start).total_seconds() + np.asarray(offsets_s)) / self.step_s
        f = np.clip(f, 0.0, len(self.times) - 1.000001)
        i = f.astype(int)
        w = f - i
        return self._alt[rows, i] * (1 - w) + self._alt[rows, i + 1] * w

    def horizon_limit(self, az_deg: np.ndarray, floor_deg: float) -> np.ndarray:
        """Minimum usable altitude at each azimuth: the horizon map or the telescope floor."""
        if not self.site.horizon:
            return np.full_like(np.asarray(az_deg, dtype=float), floor_deg)
        pts = np.array(self.site.horizon)
        horizon = np.interp(az_deg, pts[:, 0], pts[:, 1], period=360.0)
        return np.maximum(horizon, floor_deg)
