"""Vectorised astronomy for the whole system: sun, moon, alt-az grids, airmass.

Everything here works offline (no IERS or ephemeris downloads) and is
vectorised: one call transforms all targets at all grid times.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

__all__ = [
    "airmass",
    "altaz_grid",
    "angular_separation_deg",
    "configure_offline",
    "dark_intervals",
    "moon_grid",
    "sun_altitude",
    "time_grid",
]

_configured = False


def configure_offline() -> None:
    """Make astropy work without the internet (idempotent).

    Uses the IERS table bundled with astropy and never downloads; alt-az stays
    valid (to well under an arcsecond for our needs) after the table ages.
    """
    global _configured
    if _configured:
        return
    from astropy.utils import iers
    from astropy.utils.data import conf as data_conf

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"
    data_conf.allow_internet = False
    import warnings

    from astropy.utils.exceptions import AstropyWarning

    warnings.filterwarnings("ignore", category=AstropyWarning, module="astropy.coordinates")
    _configured = True


def time_grid(start: datetime, end: datetime, step_s: float) -> list[datetime]:
    """Times from ``start`` to ``end`` inclusive, every ``step_s`` seconds."""
    n = int((end - start).total_seconds() // step_s) + 1
    return [start + timedelta(seconds=i * step_s) for i in range(n)]


def _times(times: Sequence[datetime]):
    from astropy.time import Time

    return Time(list(times), scale="utc")


def altaz_grid(location, ra_deg: np.ndarray, dec_deg: np.ndarray,
               times: Sequence[datetime]) -> tuple[np.ndarray, np.ndarray]:
    """Altitude and azimuth (deg) of every target at every time.

    Parameters
    ----------
    location : astropy.coordinates.EarthLocation
    ra_deg, dec_deg : array of shape (N,)
        ICRS coordinates of the targets.
    times : sequence of datetime, length T

    Returns
    -------
    alt, az : arrays of shape (N, T)
    """
    configure_offline()
    import astropy.units as u
    from astropy.coordinates import AltAz, SkyCoord

    ra = np.asarray(ra_deg, dtype=float)
    dec = np.asarray(dec_deg, dtype=float)
    if ra.size == 0:
        return np.empty((0, len(times))), np.empty((0, len(times)))
    t = _times(times)
    coords = SkyCoord(ra=ra[:, None] * u.deg, dec=dec[:, None] * u.deg)
    frame = AltAz(obstime=t[None, :], location=location)
    altaz = coords.transform_to(frame)
    return altaz.alt.deg, altaz.az.deg


def sun_altitude(location, times: Sequence[datetime]) -> np.ndarray:
    """Altitude of the Sun (deg) at each time."""
    configure_offline()
    from astropy.coordinates import AltAz, get_body

    t = _times(times)
    return get_body("sun", t, location).transform_to(AltAz(obstime=t, location=location)).alt.deg


def moon_grid(location, times: Sequence[datetime]) -> dict[str, np.ndarray]:
    """The Moon at each time: ``ra``, ``dec`` (deg, apparent), ``alt`` (deg) and
    ``illumination`` (0 new to 1 full)."""
    configure_offline()
    from astropy.coordinates import AltAz, get_body

    t = _times(times)
    moon = get_body("moon", t, location)
    sun = get_body("sun", t, location)
    elongation = sun.separation(moon, origin_mismatch="ignore")
    # Phase angle from elongation (Meeus 48.3, with the Earth-Sun distance >> Earth-Moon).
    phase_angle = np.arctan2(
        sun.distance * np.sin(elongation), moon.distance - sun.distance * np.cos(elongation)
    )
    illumination = (1 + np.cos(phase_angle)) / 2.0
    # The Moon as seen from the site (topocentric GCRS), not from the barycentre:
    # ``moon.icrs`` would move it by tens of degrees (it is that close).
    return {
        "ra": moon.ra.deg,
        "dec": moon.dec.deg,
        "alt": moon.transform_to(AltAz(obstime=t, location=location)).alt.deg,
        "illumination": np.asarray(illumination.value, dtype=float),
    }


def dark_intervals(location, start: datetime, end: datetime, *, sun_limit_deg: float = -12.0,
                   step_s: float = 120.0) -> list[tuple[datetime, datetime]]:
    """Intervals inside [start, end] when the Sun is below ``sun_limit_deg``.

    Edges are found on a ``step_s`` grid and refined by linear interpolation.
    """
    times = time_grid(start, end, step_s)
    if times[-1] < end:
        times.append(end)
    alt = sun_altitude(location, times)
    dark = alt < sun_limit_deg
    out: list[tuple[datetime, datetime]] = []
    i, n = 0, len(times)
    while i < n:
        if not dark[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and dark[j + 1]:
            j += 1
        begin = times[i] if i == 0 else _crossing(times, alt, i - 1, sun_limit_deg)
        finish = times[j] if j == n - 1 else _crossing(times, alt, j, sun_limit_deg)
        out.append((begin, finish))
        i = j + 1
    return out


def _crossing(times: Sequence[datetime], alt: np.ndarray, i: int, limit: float) -> datetime:
    a0, a1 = alt[i], alt[i + 1]
    frac = 0.0 if a1 == a0 else float(np.clip((limit - a0) / (a1 - a0), 0.0, 1.0))
    return times[i] + (times[i + 1] - times[i]) * frac


def airmass(alt_deg: np.ndarray) -> np.ndarray:
    """Airmass from altitude (Kasten & Young 1989); infinite below the horizon."""
    alt = np.asarray(alt_deg, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = 1.0 / (np.sin(np.radians(alt)) + 0.50572 * (alt + 6.07995) ** -1.6364)
    return np.where(alt > 0, x, np.inf)


def angular_separation_deg(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle separation (deg) between coordinates, broadcasting (Vincenty)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    dra = ra2 - ra1
    num = np.hypot(np.cos(dec2) * np.sin(dra),
                   np.cos(dec1) * np.sin(dec2) - np.sin(dec1) * np.cos(dec2) * np.cos(dra))
    den = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(dra)
    return np.degrees(np.arctan2(num, den))
