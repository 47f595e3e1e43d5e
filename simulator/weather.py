"""A site's weather through a simulated span, precomputed on a time grid.

Each quantity is drawn once, at construction, from the site's
:class:`~control_center.network.Climate`:

* **clouds**: a two-state (clear/cloudy) Markov process in continuous time. Spell
  lengths are exponential (beyond a 30-minute minimum) with means ``2 p P``
  (clear) and ``2 (1-p) P`` (cloudy),
  where ``p`` is ``clear_night_fraction`` and ``P`` is ``weather_persistence_hours``:
  the stationary clear fraction is exactly ``p`` and the mean spell lasts ``P``.
  The state is smoothed (fronts take ~40 min to pass) and shaped so that cover
  crosses the dome's limit half-way through a front: the fraction of time with
  cover <= 0.7 is ``p``. The clear state carries thin, patchy cloud (up to ~0.4)
  from its own AR(1) process; overcast is 0.72-1.
* **seeing** (arcsec FWHM at zenith, 500 nm): log-normal around
  ``median_seeing_arcsec``, the sum of a slow (4 h) and a fast (40 min) AR(1).
* **humidity**: AR(1) in logit space around ``median_humidity``, rising through the
  night, higher under cloud, and with an extra rise from ``dew_onset_local_hour``
  (local mean solar time from the site's longitude) until sunrise.
* **wind**: log-normal AR(1) (2 h) around ``median_wind_m_s``.
* **sky** at zenith (V mag/arcsec^2): dark sky plus moonlight and twilight
  (:mod:`simulator.sky`).

The dome is closed (``Conditions.open`` False) while cloud cover exceeds 0.7,
humidity 0.85 or wind 15 m/s, and for :data:`REOPEN_DELAY_S` after the last
excess, so that it does not flap open and shut in gusty or marginal weather.

Each quantity has its own random stream, keyed by the seed and the site's name.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter

from control_center.network import Site
from control_center.plugin_api.types import Conditions
from simulator._seeding import stream
from simulator.bands import band
from simulator.ephemeris import Ephemeris
from simulator.horizon import local_solar_hour, to_seconds
from simulator.sky import zenith_sky_brightness

__all__ = ["LIMITS", "REOPEN_DELAY_S", "WeatherModel", "hours_since_dew_onset"]

LIMITS = {"cloud_cover": 0.7, "humidity": 0.85, "wind_m_s": 15.0}
"""The dome closes when any of these is exceeded."""

REOPEN_DELAY_S = 1200.0
"""After a limit was last exceeded, the dome stays closed this long (safety hold)."""

_FRONT_SIGMA_S = 900.0
_MIN_SPELL_S = 1800.0
_CLOUDY_LEVEL, _CLOUDY_SPREAD = 0.88, 0.07
_FRONT_SHAPE = math.log(1.0 - 0.7 / _CLOUDY_LEVEL) / math.log(0.5)


def hours_since_dew_onset(site: Site, t: datetime | float) -> float:
    """Hours since dew onset tonight at ``site`` (0 before onset, by day, or if no dew).

    The night runs from local noon to local noon, so an onset at 03:00 counts
    from 03:00 until the next noon.
    """
    onset = site.effects.dew_onset_local_hour
    if onset is None:
        return 0.0
    since_noon = (local_solar_hour(site.longitude_deg, t) - 12.0) % 24.0
    onset_since_noon = (onset - 12.0) % 24.0
    return max(0.0, since_noon - onset_since_noon)


def _ar1(rng: np.random.Generator, n: int, dt_s: float, tau_s: float) -> np.ndarray:
    """A stationary unit-variance AR(1) series with correlation time ``tau_s``."""
    eps = rng.standard_normal(n)
    phi = math.exp(-dt_s / tau_s)
    if n == 1:
        return eps
    rest = lfilter([math.sqrt(1.0 - phi * phi)], [1.0, -phi], eps[1:], zi=[phi * eps[0]])[0]
    return np.concatenate([eps[:1], rest])


def _cloudy_weight(rng: np.random.Generator, n: int, dt_s: float, p_clear: float,
                   persistence_s: float) -> np.ndarray:
    """Fraction of each grid cell spent cloudy, from exponential spells, then smoothed."""
    mean_clear = max(2.0 * p_clear * persistence_s, 1.0)
    mean_cloudy = max(2.0 * (1.0 - p_clear) * persistence_s, 1.0)
    lo, hi = -dt_s, (n + 1) * dt_s
    cloudy = bool(rng.random() >= p_clear)
    bounds, cum, t, total = [lo], [0.0], lo, 0.0
    # Spells last at least _MIN_SPELL_S (or half their mean): fronts take time to pass,
    # and smoothing would otherwise erase the shortest ones. Means are unchanged.
    floor = {m: min(_MIN_SPELL_S, 0.5 * m) for m in (mean_clear, mean_cloudy)}
    while t < hi:
        mean = mean_cloudy if cloudy else mean_clear
        dwell = floor[mean] + rng.exponential(mean - floor[mean])
        t += dwell
        total += dwell if cloudy else 0.0
        bounds.append(t)
        cum.append(total)
        cloudy = not cloudy
    centres = dt_s * np.arange(n)
    spent = np.interp(centres + dt_s / 2, bounds, cum) - np.interp(centres - dt_s / 2, bounds, cum)
    weight = spent / dt_s
    sigma = min(_FRONT_SIGMA_S, 0.5 * min(floor.values())) / dt_s
    return gaussian_filter1d(weight, sigma, mode="nearest") if sigma >= 0.3 else weight


class WeatherModel:
    """Clouds, seeing, humidity, wind and zenith sky at one site, from ``start`` to ``end``.

    Parameters
    ----------
    site : Site
    seed : int
        Run seed; the site's streams are keyed by it and ``site.name``.
    start, end : datetime
        Span covered; queries outside it return the nearest edge.
    step_s : float
        Grid step; :meth:`conditions` interpolates linearly between grid points.

    Attributes
    ----------
    times_s : ndarray
        Grid times (POSIX seconds).
    cloud_cover, seeing_arcsec, humidity, wind_m_s, sky_v_mag_arcsec2 : ndarray
        The weather on the grid (read-only). Seeing is the zenith FWHM at 500 nm
        (what a DIMM reports); the sky is at the zenith, in V.
    ephemeris : Ephemeris
        The Sun and Moon over the site for the span.
    """

    def __init__(self, site: Site, seed: int, start: datetime, end: datetime,
                 step_s: float = 300.0) -> None:
        if end <= start:
            raise ValueError(f"end {end} must be after start {start}")
        if step_s <= 0:
            raise ValueError(f"step_s must be positive, got {step_s}")
        self.site, self.seed, self.start, self.end, self.step_s = site, seed, start, end, step_s
        self._t0 = to_seconds(start)
        n = math.ceil((to_seconds(end) - self._t0) / step_s) + 1
        self.times_s = self._t0 + step_s * np.arange(n)
        c = site.climate

        def rng(purpose: str) -> np.random.Generator:
            return stream(seed, site.name, "weather", purpose)

        w = _cloudy_weight(rng("fronts"), n, step_s, c.clear_night_fraction,
                           c.weather_persistence_hours * 3600.0)
        cloudy = np.clip(_CLOUDY_LEVEL + _CLOUDY_SPREAD * _ar1(rng("overcast"), n, step_s, 3600.0),
                         0.72, 1.0)
        patchy = np.clip(0.15 * (_ar1(rng("cirrus"), n, step_s, 2700.0) - 0.6), 0.0, 0.5)
        # Shape the fronts so cover crosses the dome's limit (0.7) half-way through them:
        # then the time the dome may open for clouds is the climate's clear fraction.
        shaped = 1.0 - (1.0 - np.clip(w, 0.0, 1.0)) ** _FRONT_SHAPE
        self.cloud_cover = np.clip(shaped * cloudy + (1.0 - shaped) * patchy, 0.0, 1.0)

        log_seeing = (math.log(c.median_seeing_arcsec)
                      + 0.25 * _ar1(rng("seeing-slow"), n, step_s, 4 * 3600.0)
                      + 0.20 * _ar1(rng("seeing-fast"), n, step_s, 2400.0))
        self.seeing_arcsec = np.clip(np.exp(log_seeing), 0.25, 8.0)

        hours = (local_solar_hour(site.longitude_deg, 0.0) + (self.times_s / 3600.0)) % 24.0
        from_midnight = np.clip((hours + 12.0) % 24.0 - 12.0, -6.0, 6.0)
        self.ephemeris = Ephemeris(site.latitude_deg, site.longitude_deg, site.elevation_m,
                                   start, end)
        sm = self.ephemeris.on_grid(self.times_s)
        night = np.clip(-sm["sun_alt"] / 6.0, 0.0, 1.0)
        dew = night * np.array([min(1.0, hours_since_dew_onset(site, t) / 1.5)
                                for t in self.times_s])
        mean_cloud = (1.0 - c.clear_night_fraction) * _CLOUDY_LEVEL
        logit = (_logit(c.median_humidity) + 0.07 * from_midnight
                 + 1.3 * (self.cloud_cover - mean_cloud) + 1.2 * dew
                 + 0.45 * _ar1(rng("humidity"), n, step_s, 3 * 3600.0))
        self.humidity = np.clip(1.0 / (1.0 + np.exp(-logit)), 0.02, 1.0)

        self.wind_m_s = np.clip(
            c.median_wind_m_s * np.exp(0.35 * _ar1(rng("wind"), n, step_s, 2 * 3600.0)), 0.0, 45.0)

        self.sky_v_mag_arcsec2 = zenith_sky_brightness(
            sm["moon_alt"], sm["moon_illumination"], sm["sun_alt"],
            dark_sky_v_mag=c.dark_sky_v_mag_arcsec2,
            extinction_v=band("V").extinction + site.effects.dust_extinction_mag)
        for arr in (self.times_s, self.cloud_cover, self.seeing_arcsec, self.humidity,
                    self.wind_m_s, self.sky_v_mag_arcsec2):
            arr.flags.writeable = False
        self._columns = [a.tolist() for a in (self.cloud_cover, self.humidity, self.wind_m_s,
                                              self.seeing_arcsec, self.sky_v_mag_arcsec2)]
        exceeded = ((self.cloud_cover > LIMITS["cloud_cover"]) | (self.humidity > LIMITS["humidity"])
                    | (self.wind_m_s > LIMITS["wind_m_s"]))
        self._last_excess = np.maximum.accumulate(
            np.where(exceeded, np.arange(n), -1)).tolist()

    def conditions(self, t: datetime | float) -> Conditions:
        """Conditions at ``t`` (datetime or POSIX seconds), interpolated on the grid."""
        x = ((to_seconds(t) if isinstance(t, datetime) else float(t)) - self._t0) / self.step_s
        last = len(self.times_s) - 1
        x = min(max(x, 0.0), float(last))
        i = min(int(x), last - 1) if last > 0 else 0
        f = x - i
        if f == 0.0 or last == 0:
            return self._at_grid(i)
        vals = [col[i] + (col[i + 1] - col[i]) * f for col in self._columns]
        return self._judge(vals, self._t0 + x * self.step_s, i)

    def _at_grid(self, i: int) -> Conditions:
        return self._judge([col[i] for col in self._columns], self._t0 + i * self.step_s, i)

    def _judge(self, vals: list[float], t_s: float, i: int) -> Conditions:
        broken = _broken(*vals[:3])
        j = self._last_excess[i]
        if not broken and j >= 0 and t_s < self._t0 + j * self.step_s + REOPEN_DELAY_S:
            until = datetime.fromtimestamp(self._t0 + j * self.step_s + REOPEN_DELAY_S, tz=UTC)
            cause = "; ".join(_broken(*(col[j] for col in self._columns[:3])))
            broken = [f"safety hold until {until:%H:%M} UTC after {cause}"]
        cloud, humidity, wind, seeing, sky = vals
        return Conditions(cloud_cover=cloud, humidity=humidity, wind_m_s=wind,
                          seeing_arcsec=seeing, sky_v_mag_arcsec2=sky, open=not broken,
                          reason="; ".join(broken))

    def changes(self, min_interval_s: float = 600.0) -> list[tuple[datetime, Conditions]]:
        """Grid times at which the conditions changed enough to report, with the conditions.

        The first entry is the span's start. Afterwards an entry is added when the
        dome opens or closes, or, at least ``min_interval_s`` after the previous
        entry, when seeing changed by more than 20 % or cloud cover by more than 0.2.
        """
        out = [(self.start, self._at_grid(0))]
        last_t, last = self.times_s[0], out[0][1]
        for i in range(1, len(self.times_s)):
            t = float(self.times_s[i])
            now = self._at_grid(i)
            flipped = now.open != last.open
            drifted = (t - last_t >= min_interval_s
                       and (abs(now.seeing_arcsec - last.seeing_arcsec) > 0.2 * last.seeing_arcsec
                            or abs(now.cloud_cover - last.cloud_cover) > 0.2))
            if flipped or drifted:
                out.append((datetime.fromtimestamp(t, tz=UTC), now))
                last_t, last = t, now
        return out

    def clear_fraction(self) -> float:
        """Fraction of grid times clear enough to open (cloud cover at most 0.7)."""
        return float(np.mean(self.cloud_cover <= LIMITS["cloud_cover"]))


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1.0 - 1e-3)
    return math.log(p / (1.0 - p))


def _broken(cloud: float, humidity: float, wind: float) -> list[str]:
    out = []
    if cloud > LIMITS["cloud_cover"]:
        out.append(f"cloud cover {cloud:.2f} > {LIMITS['cloud_cover']:g}")
    if humidity > LIMITS["humidity"]:
        out.append(f"humidity {humidity:.2f} > {LIMITS['humidity']:g}")
    if wind > LIMITS["wind_m_s"]:
        out.append(f"wind {wind:.1f} m/s > {LIMITS['wind_m_s']:g} m/s")
    return out
