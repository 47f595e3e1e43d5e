"""Fast local coordinates: sidereal and solar time, and alt-az for single targets.

astropy's full transformation costs milliseconds per call, too slow for a
simulator that prices thousands of observations. :class:`HorizonFrame` uses
the IAU 1976 precession matrix (fixed at an epoch, typically the middle of the
night) and the IAU 1982 sidereal time, ignoring nutation, aberration and
refraction: the result is geometric alt-az (like astropy's ``AltAz`` with no
pressure) accurate to ~0.01 deg, at a few microseconds per target.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

__all__ = ["HorizonFrame", "gmst_deg", "julian_date", "local_solar_hour", "to_seconds"]

_JD_UNIX_EPOCH = 2440587.5
_ARCSEC = math.pi / (180.0 * 3600.0)


def to_seconds(t: datetime) -> float:
    """POSIX seconds of ``t``; a naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def julian_date(t: datetime) -> float:
    """Julian date (UTC, used as UT1 and TT: errors of ~1 min are irrelevant here)."""
    return to_seconds(t) / 86400.0 + _JD_UNIX_EPOCH


def gmst_deg(jd: float) -> float:
    """Greenwich mean sidereal time (deg) at Julian date ``jd`` (IAU 1982, Meeus 12.4)."""
    d = jd - 2451545.0
    c = d / 36525.0
    return (280.46061837 + 360.98564736629 * d + 0.000387933 * c * c
            - c * c * c / 38710000.0) % 360.0


def local_solar_hour(longitude_deg: float, t: datetime | float) -> float:
    """Local mean solar time (hours, 0..24) at ``longitude_deg`` (east positive).

    ``t`` is a datetime or POSIX seconds.
    """
    s = to_seconds(t) if isinstance(t, datetime) else float(t)
    return (s / 3600.0 + longitude_deg / 15.0) % 24.0


def _precession(jd: float) -> tuple[float, ...]:
    """Row-major J2000 -> mean-of-date rotation (Lieske et al. 1977)."""
    c = (jd - 2451545.0) / 36525.0
    zeta = (2306.2181 * c + 0.30188 * c**2 + 0.017998 * c**3) * _ARCSEC
    z = (2306.2181 * c + 1.09468 * c**2 + 0.018203 * c**3) * _ARCSEC
    theta = (2004.3109 * c - 0.42665 * c**2 - 0.041833 * c**3) * _ARCSEC
    cz, sz = math.cos(zeta), math.sin(zeta)
    cZ, sZ = math.cos(z), math.sin(z)
    ct, st = math.cos(theta), math.sin(theta)
    return (cz * ct * cZ - sz * sZ, -sz * ct * cZ - cz * sZ, -st * cZ,
            cz * ct * sZ + sz * cZ, -sz * ct * sZ + cz * cZ, -st * sZ,
            cz * st, -sz * st, ct)


class HorizonFrame:
    """Alt-az at one site, for targets given in ICRS (J2000).

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        Geodetic site position (longitude east positive).
    epoch : datetime
        Date of the precession; within a few days of the observations.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> frame = HorizonFrame(-30.24, -70.74, datetime(2025, 3, 2, 4, tzinfo=UTC))
    >>> alt, az = frame.altaz(201.69, -47.48, datetime(2025, 3, 2, 6, tzinfo=UTC))
    >>> -90 <= alt <= 90 and 0 <= az < 360
    True
    """

    def __init__(self, latitude_deg: float, longitude_deg: float, epoch: datetime) -> None:
        self.latitude_deg = latitude_deg
        self.longitude_deg = longitude_deg
        phi = math.radians(latitude_deg)
        self._sin_lat, self._cos_lat = math.sin(phi), math.cos(phi)
        self._p = _precession(julian_date(epoch))

    def local_sidereal_deg(self, t: datetime | float) -> float:
        """Local mean sidereal time (deg) at ``t`` (datetime or POSIX seconds)."""
        s = to_seconds(t) if isinstance(t, datetime) else float(t)
        return (gmst_deg(s / 86400.0 + _JD_UNIX_EPOCH) + self.longitude_deg) % 360.0

    def _of_date(self, ra_deg: float, dec_deg: float) -> tuple[float, float]:
        ra, dec = math.radians(ra_deg), math.radians(dec_deg)
        cd = math.cos(dec)
        x, y, zz = cd * math.cos(ra), cd * math.sin(ra), math.sin(dec)
        p = self._p
        xd = p[0] * x + p[1] * y + p[2] * zz
        yd = p[3] * x + p[4] * y + p[5] * zz
        zd = p[6] * x + p[7] * y + p[8] * zz
        return math.atan2(yd, xd), math.asin(max(-1.0, min(1.0, zd)))

    def altaz(self, ra_deg: float, dec_deg: float, t: datetime | float) -> tuple[float, float]:
        """Altitude and azimuth (deg, azimuth from north through east) of one target.

        ``t`` is a datetime or POSIX seconds.
        """
        ra, dec = self._of_date(ra_deg, dec_deg)
        h = math.radians(self.local_sidereal_deg(t)) - ra
        sd, cd, ch = math.sin(dec), math.cos(dec), math.cos(h)
        sin_alt = self._sin_lat * sd + self._cos_lat * cd * ch
        alt = math.degrees(math.asin(max(-1.0, min(1.0, sin_alt))))
        az = math.degrees(math.atan2(-cd * math.sin(h), sd * self._cos_lat
                                     - cd * self._sin_lat * ch)) % 360.0
        return alt, az

    def altaz_many(self, ra_deg, dec_deg, t: datetime | float) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`altaz` over arrays of targets at one time."""
        ra = np.radians(np.asarray(ra_deg, dtype=float))
        dec = np.radians(np.asarray(dec_deg, dtype=float))
        v = np.stack(np.broadcast_arrays(np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra),
                                         np.sin(dec)))
        vd = np.asarray(self._p).reshape(3, 3) @ v.reshape(3, -1)
        ra_d = np.arctan2(vd[1], vd[0]).reshape(v.shape[1:])
        dec_d = np.arcsin(np.clip(vd[2], -1, 1)).reshape(v.shape[1:])
        h = math.radians(self.local_sidereal_deg(t)) - ra_d
        sin_alt = self._sin_lat * np.sin(dec_d) + self._cos_lat * np.cos(dec_d) * np.cos(h)
        alt = np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))
        az = np.degrees(np.arctan2(-np.cos(dec_d) * np.sin(h), np.sin(dec_d) * self._cos_lat
                                   - np.cos(dec_d) * self._sin_lat * np.cos(h))) % 360.0
        return alt, az
