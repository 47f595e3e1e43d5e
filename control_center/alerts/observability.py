"""Can the network observe a position in the next day? A quick check at ingest.

A target is observable when, at some time in the window, it is above the
lowest altitude limit of a site's telescopes while the Sun is below -12 deg
there. Positions that never rise high enough at any site (declination against
latitude) are found first without any time grid. The Sun comes from a
low-precision formula (~0.01 deg, the Astronomical Almanac's) and alt-az from
:class:`simulator.horizon.HorizonFrame`: milliseconds for dozens of targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from control_center.network import Network, Site
from simulator.horizon import HorizonFrame, julian_date

__all__ = ["SUN_LIMIT_DEG", "Visibility", "sun_radec", "visibility"]

SUN_LIMIT_DEG = -12.0
"""The Sun must be below this (nautical twilight), as in the night plan."""


@dataclass(frozen=True)
class Visibility:
    """Which targets the network can observe in a window, and from where.

    Attributes
    ----------
    observable : array of bool
        Per target: up at some site in the dark during the window.
    rises : array of bool
        Per target: reaches the altitude limit of some site at all (dec vs latitude).
    sites : tuple of str
        Sites from which at least one target is observable.
    """

    observable: np.ndarray
    rises: np.ndarray
    sites: tuple[str, ...]


def sun_radec(jd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apparent right ascension and declination of the Sun (deg) at Julian dates ``jd``."""
    n = np.asarray(jd, dtype=float) - 2451545.0
    mean_lon = np.radians((280.460 + 0.9856474 * n) % 360.0)
    anomaly = np.radians((357.528 + 0.9856003 * n) % 360.0)
    ecl_lon = mean_lon + np.radians(1.915) * np.sin(anomaly) \
        + np.radians(0.020) * np.sin(2 * anomaly)
    obliquity = np.radians(23.439 - 4e-7 * n)
    ra = np.degrees(np.arctan2(np.cos(obliquity) * np.sin(ecl_lon), np.cos(ecl_lon))) % 360.0
    dec = np.degrees(np.arcsin(np.sin(obliquity) * np.sin(ecl_lon)))
    return ra, dec


def _site_floor(site: Site) -> float:
    return min(t.min_altitude_deg for t in site.telescopes)


def _max_altitude(latitude_deg: float, dec_deg: np.ndarray) -> np.ndarray:
    return 90.0 - np.abs(latitude_deg - dec_deg)


def _altitude(latitude_deg: float, lst_deg: np.ndarray, ra_deg: np.ndarray,
              dec_deg: np.ndarray) -> np.ndarray:
    """Altitude (deg) from local sidereal time and coordinates of date."""
    phi, dec = math.radians(latitude_deg), np.radians(dec_deg)
    hour = np.radians(lst_deg - ra_deg)
    sin_alt = math.sin(phi) * np.sin(dec) + math.cos(phi) * np.cos(dec) * np.cos(hour)
    return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))


def visibility(network: Network, ra_deg, dec_deg, start: datetime, *, hours: float = 24.0,
               step_minutes: float = 15.0) -> Visibility:
    """Check which targets some site of ``network`` can observe in ``[start, start + hours]``.

    Parameters
    ----------
    network : Network
    ra_deg, dec_deg : array_like
        ICRS positions (deg).
    start : datetime
        Beginning of the window (UTC-aware).
    hours, step_minutes : float
        Length of the window and spacing of the time grid.
    """
    ra = np.atleast_1d(np.asarray(ra_deg, dtype=float))
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=float))
    observable = np.zeros(ra.size, dtype=bool)
    rises = np.zeros(ra.size, dtype=bool)
    sites: list[str] = []
    steps = math.floor(hours * 60.0 / step_minutes) + 1
    times = [start + timedelta(minutes=i * step_minutes) for i in range(steps)]
    jd = np.array([julian_date(t) for t in times])
    sun_ra, sun_dec = sun_radec(jd)
    for site in network.sites:
        floor = _site_floor(site)
        high_enough = _max_altitude(site.latitude_deg, dec) >= floor
        rises |= high_enough
        if not high_enough.any():
            continue
        frame = HorizonFrame(site.latitude_deg, site.longitude_deg, start)
        sun_alt = _altitude(site.latitude_deg, np.array([frame.local_sidereal_deg(t)
                                                          for t in times]), sun_ra, sun_dec)
        seen = np.zeros(ra.size, dtype=bool)
        for i, t in enumerate(times):
            if sun_alt[i] >= SUN_LIMIT_DEG:
                continue
            alt, _ = frame.altaz_many(ra, dec, t)
            seen |= alt >= floor
            if seen[high_enough].all():
                break
        if seen.any():
            sites.append(site.name)
        observable |= seen
    return Visibility(observable, rises, tuple(sites))


def describe(network: Network, visibility_: Visibility, dec_deg, probability=None) -> str:
    """One line saying what :func:`visibility` found, for the ``note`` of an alert.

    ``probability`` (per target) turns the summary of several targets into the
    share of probability that is observable.
    """
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=float))
    n = dec.size
    if n == 1:
        if visibility_.observable[0]:
            return f"observable in the next 24 h from {', '.join(visibility_.sites)}"
        if not visibility_.rises[0]:
            best = max(network.sites, key=lambda s: _max_altitude(s.latitude_deg, dec)[0]
                       - _site_floor(s))
            peak = float(_max_altitude(best.latitude_deg, dec)[0])
            return (f"never observable: dec {dec[0]:+.2f} culminates at {peak:.1f} deg at "
                    f"{best.name}, below its limit {_site_floor(best):.0f} deg")
        return "never observable in the next 24 h: up only in daylight at every site"
    seen = int(visibility_.observable.sum())
    share = ""
    if probability is not None:
        p = np.asarray(probability, dtype=float)
        share = f" ({100 * float(p[visibility_.observable].sum()):.1f} % probability)"
    if seen == 0:
        risen = int(visibility_.rises.sum())
        why = ("none rises high enough at any site" if risen == 0
               else "the rest are up only in daylight")
        return f"never observable in the next 24 h: 0 of {n} tiles; {why}"
    return (f"{seen} of {n} tiles{share} observable in the next 24 h from "
            f"{', '.join(visibility_.sites)}")
