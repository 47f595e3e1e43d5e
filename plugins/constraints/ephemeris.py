"""The Sun, the Moon and the Earth's orientation over a span of time, for every site at once.

astropy is paid once per span: the geocentric Sun and Moon on a regular grid,
the bias-precession-nutation matrix, the apparent sidereal time and the Earth's
velocity (for the aberration of targets). Everything site- or target-dependent
is then plain numpy (:mod:`plugins.constraints.sky`), so a hundred sites cost
no more astropy than one.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from control_center import astro

__all__ = ["SIDEREAL_RATE_RAD_S", "SpanEphemeris", "to_seconds"]

SIDEREAL_RATE_RAD_S = 2.0 * math.pi * 1.00273781191135448 / 86400.0
"""Rotation of the Earth relative to the equinox (radians per UT1 second)."""
_C_KM_S = 299792.458


def to_seconds(when: datetime) -> float:
    """POSIX seconds of a timezone-aware datetime."""
    if when.tzinfo is None:
        raise ValueError(f"times must be timezone-aware (UTC), got {when!r}")
    return when.timestamp()


class SpanEphemeris:
    """Geocentric Sun and Moon from ``start`` to ``end`` and the Earth's orientation.

    Parameters
    ----------
    start, end : datetime
        The span (timezone-aware). Queries outside it are clamped to its ends.
    step_s : float
        Grid step of the Sun and Moon; they are interpolated linearly in
        between (the Moon moves 0.1 deg in 10 minutes, along a near-straight arc).

    Notes
    -----
    Directions are in GCRS axes (those of ICRS). ``bpn`` rotates them to the
    true equator and equinox of the span's middle; precession and nutation
    change by well under an arcsecond over a night. Sidereal time is
    extrapolated linearly from the middle of the span, which is exact to the
    milliarcsecond over a day.
    """

    def __init__(self, start: datetime, end: datetime, step_s: float = 600.0) -> None:
        astro.configure_offline()
        import astropy.units as u
        import erfa
        from astropy.coordinates import get_body, get_body_barycentric_posvel
        from astropy.time import Time

        self.start, self.end = start, end
        t0, t1 = to_seconds(start), to_seconds(end)
        if t1 <= t0:
            raise ValueError(f"empty span: {start.isoformat()} -> {end.isoformat()}")
        n = max(2, math.ceil((t1 - t0) / step_s) + 1)
        self.times_s = t0 + np.arange(n) * step_s
        self.step_s = float(step_s)
        times = Time(self.times_s, format="unix", scale="utc")
        sun = get_body("sun", times).cartesian.xyz.to_value(u.km)
        moon = get_body("moon", times).cartesian.xyz.to_value(u.km)
        self._sun_km = sun
        self._moon_km = moon
        self.illumination = _illumination(sun, moon)
        middle = Time((t0 + t1) / 2.0, format="unix", scale="utc")
        self.reference_s = (t0 + t1) / 2.0
        self.bpn = np.asarray(erfa.pnm06a(middle.tt.jd1, middle.tt.jd2))
        self.gast_reference_rad = float(middle.sidereal_time("apparent", "greenwich").rad)
        _, velocity = get_body_barycentric_posvel("earth", middle)
        self.beta = velocity.xyz.to_value(u.km / u.s) / _C_KM_S
        """Earth's barycentric velocity over c (GCRS axes): annual aberration."""

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end]`` lies inside this span."""
        return self.start <= start and end <= self.end

    def greenwich_sidereal_rad(self, t_s) -> np.ndarray:
        """Apparent Greenwich sidereal time (radians, unwrapped) at POSIX seconds ``t_s``."""
        return self.gast_reference_rad + SIDEREAL_RATE_RAD_S * (np.asarray(t_s) - self.reference_s)

    def _lerp(self, table: np.ndarray, t_s) -> np.ndarray:
        """Linear interpolation of the columns of ``table`` (3 x T or T) at ``t_s``."""
        f = (np.asarray(t_s, dtype=float) - self.times_s[0]) / self.step_s
        f = np.clip(f, 0.0, len(self.times_s) - 1.000001)
        i = f.astype(int)
        w = f - i
        return table[..., i] * (1.0 - w) + table[..., i + 1] * w

    def sun_km(self, t_s) -> np.ndarray:
        """Geocentric Sun (km, GCRS axes) at ``t_s``: shape ``(3,) + shape(t_s)``."""
        return self._lerp(self._sun_km, t_s)

    def moon_km(self, t_s) -> np.ndarray:
        """Geocentric Moon (km, GCRS axes) at ``t_s``: shape ``(3,) + shape(t_s)``."""
        return self._lerp(self._moon_km, t_s)

    def moon_illumination(self, t_s) -> np.ndarray:
        """Illuminated fraction of the Moon (0 new, 1 full) at ``t_s``."""
        return self._lerp(self.illumination, t_s)

    def target_vectors(self, ra_deg, dec_deg) -> np.ndarray:
        """Apparent unit vectors (GCRS axes, annual aberration applied) of ICRS targets.

        Returns
        -------
        ndarray of shape (3, N)
        """
        ra = np.radians(np.asarray(ra_deg, dtype=float))
        dec = np.radians(np.asarray(dec_deg, dtype=float))
        cos_dec = np.cos(dec)
        v = np.stack([cos_dec * np.cos(ra) + self.beta[0], cos_dec * np.sin(ra) + self.beta[1],
                      np.sin(dec) + self.beta[2]])
        return v / np.sqrt(np.einsum("i...,i...->...", v, v))


def _illumination(sun_km: np.ndarray, moon_km: np.ndarray) -> np.ndarray:
    """Illuminated fraction from the geocentric Sun and Moon (Meeus 48.2-48.3)."""
    r_sun = np.sqrt(np.einsum("it,it->t", sun_km, sun_km))
    r_moon = np.sqrt(np.einsum("it,it->t", moon_km, moon_km))
    cos_elong = np.einsum("it,it->t", sun_km, moon_km) / (r_sun * r_moon)
    elongation = np.arccos(np.clip(cos_elong, -1.0, 1.0))
    phase = np.arctan2(r_sun * np.sin(elongation), r_moon - r_sun * np.cos(elongation))
    return (1.0 + np.cos(phase)) / 2.0
