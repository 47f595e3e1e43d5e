"""A site's sky during a night, fast to query: alt-az, usable altitude, Moon and sky brightness.

Shared by the survey and opportunistic generators. :class:`SiteSky` is built
once per site and night (the Sun and Moon come from
:class:`simulator.ephemeris.Ephemeris`, which pays astropy once per site and
span); after that every query is vectorised numpy (``HorizonFrame``), a few
tens of microseconds for thousands of fields.

The limits mirror the constraints plugin's defaults (``plugins.constraints.limits``),
so that what the generators propose is not thrown away at the filter step:
airmass at most :data:`MAX_AIRMASS`, the telescope's altitude limit or the
site's horizon map, and a Moon distance of ``10 + 30 x illumination`` degrees.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from control_center import astro
from control_center.network import Site, Telescope
from control_center.plugin_api import Conditions, NightPlan
from simulator.bands import band
from simulator.ephemeris import Ephemeris
from simulator.horizon import HorizonFrame, to_seconds
from simulator.outcome import delivered_seeing
from simulator.sky import sky_brightness, zenith_sky_brightness

__all__ = [
    "MAX_AIRMASS",
    "SiteSky",
    "SkyCache",
    "SkyNow",
    "cloud_loss_mag",
    "moon_limit_deg",
]

MAX_AIRMASS = 2.5
"""Highest airmass proposed (the constraints plugin's default limit)."""
_MIN_ALT_FOR_AIRMASS = 23.6
"""Altitude (deg) of airmass 2.5 (Kasten & Young), rounded up."""
TABLE_STEP_S = 300.0
"""Time step of :meth:`SiteSky.table_altaz` tables."""
MOON_MIN_SEPARATION_DEG = 10.0
MOON_SEPARATION_PER_ILLUMINATION_DEG = 30.0


def moon_limit_deg(illumination: float) -> float:
    """Smallest Moon distance proposed: ``10 + 30 x illumination`` deg (as the constraints)."""
    return (MOON_MIN_SEPARATION_DEG
            + MOON_SEPARATION_PER_ILLUMINATION_DEG * min(max(illumination, 0.0), 1.0))


def cloud_loss_mag(cloud_cover: float) -> float:
    """Mean extinction (mag) by cloud: transmission ``1 - 0.75 x cover``.

    The simulator's outcome model draws the transmission uniformly between
    ``1 - cover`` and ``1 - cover/2``; this is its mean.
    """
    return -2.5 * math.log10(max(1.0 - 0.75 * min(max(cloud_cover, 0.0), 1.0), 0.05))


@dataclass(frozen=True)
class SkyNow:
    """The Sun and Moon at one site and time."""

    t_s: float
    """POSIX seconds."""
    sun_alt_deg: float
    moon_ra_deg: float
    moon_dec_deg: float
    moon_alt_deg: float
    moon_illumination: float

    @property
    def moon_up(self) -> bool:
        return self.moon_alt_deg > 0.0


class SiteSky:
    """One site's sky from ``start`` to ``end``.

    Parameters
    ----------
    site : Site
    start, end : datetime
        The night's span (timezone-aware).
    """

    def __init__(self, site: Site, start: datetime, end: datetime) -> None:
        self.site = site
        self.frame = HorizonFrame(site.latitude_deg, site.longitude_deg, start + (end - start) / 2)
        self.ephemeris = Ephemeris(site.latitude_deg, site.longitude_deg, site.elevation_m,
                                   start, end)
        self._extinction_v = band("V").extinction + site.effects.dust_extinction_mag
        self._t0 = to_seconds(start)
        self._n_steps = max(2, math.ceil((to_seconds(end) - self._t0) / TABLE_STEP_S) + 1)
        self._tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if site.horizon:
            pts = np.array(site.horizon, dtype=float)
            self._horizon_az, self._horizon_alt = pts[:, 0], pts[:, 1]
        else:
            self._horizon_az = self._horizon_alt = None

    def now(self, when: datetime) -> SkyNow:
        """Sun and Moon at ``when``."""
        t_s = to_seconds(when)
        ra, dec, alt, illum = self.ephemeris.moon(t_s)
        return SkyNow(t_s, self.ephemeris.sun_altitude(t_s), ra, dec, alt, illum)

    def altaz(self, ra_deg, dec_deg, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Altitude and azimuth (deg) of many fields at POSIX time ``t_s``."""
        return self.frame.altaz_many(ra_deg, dec_deg, t_s)

    def table_altaz(self, name: str, ra_deg, dec_deg, t_s: float
                    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`altaz` of a fixed set of fields, from a table built on first use.

        The table (every :data:`TABLE_STEP_S` over the night) is keyed by ``name``;
        queries interpolate linearly (errors below 0.01 deg), which is ten times
        faster than :meth:`altaz` for thousands of fields.
        """
        table = self._tables.get(name)
        if table is None:
            times = self._t0 + TABLE_STEP_S * np.arange(self._n_steps)
            pairs = [self.frame.altaz_many(ra_deg, dec_deg, float(t)) for t in times]
            table = (np.stack([p[0] for p in pairs], axis=-1),
                     np.stack([p[1] for p in pairs], axis=-1))
            self._tables[name] = table
        alt, az = table
        x = min(max((t_s - self._t0) / TABLE_STEP_S, 0.0), self._n_steps - 1.000001)
        i = int(x)
        w = x - i
        d_az = (az[:, i + 1] - az[:, i] + 180.0) % 360.0 - 180.0
        return alt[:, i] * (1.0 - w) + alt[:, i + 1] * w, (az[:, i] + w * d_az) % 360.0

    def altitude_floor(self, telescope: Telescope, az_deg) -> np.ndarray:
        """Lowest altitude (deg) proposed toward each azimuth.

        The highest of the telescope's limit, the site's horizon map and the
        altitude of airmass :data:`MAX_AIRMASS`.
        """
        az = np.asarray(az_deg, dtype=float)
        floor = np.full(az.shape, max(telescope.min_altitude_deg, _MIN_ALT_FOR_AIRMASS))
        if self._horizon_az is not None:
            floor = np.maximum(floor, np.interp(az % 360.0, self._horizon_az,
                                                self._horizon_alt, period=360.0))
        return floor

    def moon_separation(self, ra_deg, dec_deg, sky: SkyNow) -> np.ndarray:
        """Distance (deg) from each field to the Moon."""
        return astro.angular_separation_deg(ra_deg, dec_deg, sky.moon_ra_deg, sky.moon_dec_deg)

    def sky_mag(self, alt_deg, moon_sep_deg, sky: SkyNow, filter: str,
                zenith_v_measured: float) -> np.ndarray:
        """Sky brightness (mag/arcsec^2) toward each field in ``filter``.

        The site's measured zenith V brightness (``Conditions.sky_v_mag_arcsec2``,
        which carries the real Moon, twilight and any light the model lacks),
        offset by the sky model's difference between the field in ``filter`` and
        the zenith in V (gradient toward the horizon, the Moon's glow, colour).
        """
        climate_v = self.site.climate.dark_sky_v_mag_arcsec2
        model_field = sky_brightness(alt_deg, moon_sep_deg, sky.moon_alt_deg,
                                     sky.moon_illumination, sky.sun_alt_deg,
                                     dark_sky_v_mag=climate_v, extinction_v=self._extinction_v,
                                     filter=filter)
        model_zenith = float(zenith_sky_brightness(sky.moon_alt_deg, sky.moon_illumination,
                                                   sky.sun_alt_deg, dark_sky_v_mag=climate_v,
                                                   extinction_v=self._extinction_v, filter="V"))
        return zenith_v_measured + (model_field - model_zenith)

    def sky_mags(self, alt_deg, moon_sep_deg, sky: SkyNow, filters: Sequence[str],
                 zenith_v_measured: float) -> dict[str, np.ndarray]:
        """:meth:`sky_mag` in several filters at the cost of two model evaluations.

        The model sky is dark sky plus scattered light (Moon, twilight), each with
        its own colour (:class:`simulator.bands.Band` offsets from V), so both
        parts are found once in V and recoloured per filter.
        """
        climate_v = self.site.climate.dark_sky_v_mag_arcsec2
        common = {"dark_sky_v_mag": climate_v, "extinction_v": self._extinction_v,
                  "filter": "V"}
        total_v = 10.0 ** (-0.4 * sky_brightness(alt_deg, moon_sep_deg, sky.moon_alt_deg,
                                                 sky.moon_illumination, sky.sun_alt_deg,
                                                 **common))
        dark_v = 10.0 ** (-0.4 * sky_brightness(alt_deg, 180.0, -90.0, 0.0, -90.0, **common))
        scattered_v = np.maximum(total_v - dark_v, 0.0)
        model_zenith = float(zenith_sky_brightness(sky.moon_alt_deg, sky.moon_illumination,
                                                   sky.sun_alt_deg, **common))
        out = {}
        for f in filters:
            b = band(f)
            flux = (dark_v * 10.0 ** (-0.4 * b.dark_sky_offset)
                    + scattered_v * 10.0 ** (-0.4 * b.moonlight_offset))
            out[f] = zenith_v_measured - 2.5 * np.log10(flux) - model_zenith
        return out

    def image_fwhm(self, conditions: Conditions, airmass, filter: str,
                   telescope: Telescope) -> np.ndarray:
        """Delivered FWHM (arcsec): seeing at the airmass and wavelength, site shake, pixels."""
        return delivered_seeing(conditions.seeing_arcsec, np.minimum(airmass, 40.0), filter,
                                vibration_arcsec=self.site.effects.vibration_arcsec,
                                wind_m_s=conditions.wind_m_s,
                                pixel_scale_arcsec=telescope.pixel_scale_arcsec)


class SkyCache:
    """:class:`SiteSky` per site for the current night, built on first use.

    Thread-safe: hooks of one plugin may run on different worker threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._span: tuple[datetime, datetime] | None = None
        self._skies: dict[str, SiteSky] = {}

    def start_night(self, night: NightPlan) -> None:
        """Forget the previous night and build every site of ``night``'s network now."""
        with self._lock:
            self._span = (night.start, night.end)
            self._skies = {s.name: SiteSky(s, night.start, night.end)
                           for s in night.network.sites}

    def get(self, site: Site, night: NightPlan) -> SiteSky:
        """The sky of ``site`` during ``night`` (built now if this night is new)."""
        with self._lock:
            if self._span != (night.start, night.end):
                self._span, self._skies = (night.start, night.end), {}
            sky = self._skies.get(site.name)
            if sky is None or sky.site != site:
                sky = self._skies[site.name] = SiteSky(site, night.start, night.end)
            return sky
