"""The Sky view's picture: where the targets, the telescopes and the Moon are at a site.

Positions are alt-az at the log's latest simulated time, computed with
:class:`simulator.horizon.HorizonFrame` (microseconds per target); the Moon's
RA/Dec and phase come from :func:`control_center.astro.moon_grid` on a grid
over the night, computed once per site and night and interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

__all__ = ["MoonTrack", "SkyPicture", "moon_track", "sky_picture"]

GRID_STEP = timedelta(minutes=15)
GRID_MARGIN = timedelta(hours=2)
_TRACKS: dict[tuple, MoonTrack] = {}
_TRACKS_MAX = 32


@dataclass(frozen=True)
class SkyPicture:
    """One site's sky at one time (azimuths and altitudes in degrees).

    ``targets`` are the queue's requests still wanted, ``(request_id, az, alt)``;
    ``pointings`` what each telescope observes, ``(telescope, target, az, alt)``;
    ``moon`` is ``(az, alt, illuminated fraction)``; ``horizon`` the site's horizon
    profile ``(az, alt)`` (empty: flat) and ``min_altitude`` its telescopes' lowest limit.
    """

    site: str
    label: str
    when: datetime
    targets: tuple[tuple[str, float, float], ...]
    pointings: tuple[tuple[str, str, float, float], ...]
    moon: tuple[float, float, float] | None
    horizon: tuple[tuple[float, float], ...]
    min_altitude: float


class MoonTrack:
    """The Moon's RA/Dec and illumination over a night at one site, interpolated."""

    def __init__(self, location, start: datetime, end: datetime) -> None:
        from control_center import astro

        t0 = start - GRID_MARGIN
        n = int((end + GRID_MARGIN - t0) / GRID_STEP) + 1
        times = [t0 + i * GRID_STEP for i in range(n)]
        moon = astro.moon_grid(location, times)
        self._t0 = t0
        self._s = np.array([(t - t0).total_seconds() for t in times])
        self._ra = np.unwrap(np.radians(moon["ra"]))
        self._dec = np.asarray(moon["dec"], dtype=float)
        self._illumination = np.asarray(moon["illumination"], dtype=float)

    def at(self, when: datetime) -> tuple[float, float, float]:
        """RA, Dec (deg) and illuminated fraction at ``when`` (clamped to the grid)."""
        s = (when - self._t0).total_seconds()
        ra = float(np.degrees(np.interp(s, self._s, self._ra))) % 360.0
        return (ra, float(np.interp(s, self._s, self._dec)),
                float(np.interp(s, self._s, self._illumination)))


def moon_track(location, start: datetime, end: datetime) -> MoonTrack:
    """A shared :class:`MoonTrack` per site and night (computed once per process)."""
    key = (float(location.lat.deg), float(location.lon.deg), start, end)
    track = _TRACKS.get(key)
    if track is None:
        if len(_TRACKS) >= _TRACKS_MAX:
            _TRACKS.clear()
        track = _TRACKS[key] = MoonTrack(location, start, end)
    return track


def sky_picture(site, night_start: datetime, night_end: datetime, when: datetime,
                targets: list[tuple[str, float, float]],
                pointings: list[tuple[str, str, float, float]]) -> SkyPicture:
    """The picture of ``site`` (a :class:`control_center.network.Site`) at ``when``.

    ``targets`` are ``(request_id, ra, dec)``, ``pointings`` ``(telescope, target, ra, dec)``.
    """
    from simulator.horizon import HorizonFrame

    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, when)
    shown_targets: tuple = ()
    if targets:
        alt, az = frame.altaz_many([t[1] for t in targets], [t[2] for t in targets], when)
        shown_targets = tuple((t[0], float(a), float(h))
                              for t, a, h in zip(targets, az, alt, strict=True))
    shown_pointings = tuple((p[0], p[1], *_azalt(frame, p[2], p[3], when)) for p in pointings)
    moon = None
    try:
        ra, dec, illumination = moon_track(site.location, night_start, night_end).at(when)
        moon = (*_azalt(frame, ra, dec, when), illumination)
    except Exception:  # noqa: BLE001 - the picture without the Moon beats no picture
        moon = None
    return SkyPicture(site=site.name, label=site.label, when=when, targets=shown_targets,
                      pointings=shown_pointings, moon=moon, horizon=tuple(site.horizon),
                      min_altitude=min((t.min_altitude_deg for t in site.telescopes),
                                       default=0.0))


def _azalt(frame, ra: float, dec: float, when: datetime) -> tuple[float, float]:
    alt, az = frame.altaz(ra, dec, when)
    return float(az), float(alt)
