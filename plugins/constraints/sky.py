"""One site's sky from a :class:`SpanEphemeris`: targets, Sun and Moon in alt-az, vectorised.

Targets are apparent unit vectors (:meth:`SpanEphemeris.target_vectors`);
times are POSIX seconds, a scalar or any array that broadcasts against the
targets (``(N,)`` for one time per target, ``(N, K)`` or ``(1, T)`` for grids).
Altitudes are geometric (no refraction), as astropy's ``AltAz`` with no
pressure, and agree with it to a few arcseconds.
"""

from __future__ import annotations

import math

import numpy as np

from control_center.network import Site, Telescope
from plugins.constraints.ephemeris import SpanEphemeris

__all__ = ["SiteSky", "UsableAltitude"]


class SiteSky:
    """Alt-az at one site.

    Parameters
    ----------
    site : Site
    ephemeris : SpanEphemeris
        The span's Sun, Moon and Earth orientation (shared by every site).
    """

    def __init__(self, site: Site, ephemeris: SpanEphemeris) -> None:
        self.site = site
        self.ephemeris = ephemeris
        lat = math.radians(site.latitude_deg)
        self._sin_lat, self._cos_lat = math.sin(lat), math.cos(lat)
        self._lon = math.radians(site.longitude_deg)
        x, y, z = (c.to_value("km") for c in site.location.geocentric)
        self._rho_xy, self._z = math.hypot(x, y), z

    def local_sidereal_rad(self, t_s) -> np.ndarray:
        """Local apparent sidereal time (radians, unwrapped)."""
        return self.ephemeris.greenwich_sidereal_rad(t_s) + self._lon

    def of_date(self, vectors: np.ndarray) -> np.ndarray:
        """GCRS-axes vectors (3, ...) rotated to the true equator and equinox of date."""
        shape = vectors.shape
        return (self.ephemeris.bpn @ vectors.reshape(3, -1)).reshape(shape)

    def altaz(self, vectors_of_date: np.ndarray, t_s,
              with_azimuth: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Altitude and azimuth (deg, azimuth from north through east) of directions.

        Parameters
        ----------
        vectors_of_date : ndarray (3, ...)
            Unit (or any length) direction vectors of date (:meth:`of_date`).
        t_s : float or ndarray
            POSIX seconds, broadcasting against ``vectors_of_date[0]``.
        with_azimuth : bool
            False skips the azimuth (returned as None).
        """
        x, y, z = vectors_of_date
        norm = np.sqrt(x * x + y * y + z * z)
        theta = self.local_sidereal_rad(t_s)
        c, s = np.cos(theta), np.sin(theta)
        # rotate to the local meridian: x' = cos(dec) cos(H), y' = -cos(dec) sin(H)
        xh = (x * c + y * s) / norm
        zn = z / norm
        sin_alt = self._sin_lat * zn + self._cos_lat * xh
        alt = np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))
        if not with_azimuth:
            return alt, None
        yh = (y * c - x * s) / norm
        az = np.degrees(np.arctan2(yh, zn * self._cos_lat - xh * self._sin_lat)) % 360.0
        return alt, az

    def site_vector_km(self, t_s) -> np.ndarray:
        """Geocentric position of the site (km, equator of date) at ``t_s``."""
        theta = self.local_sidereal_rad(t_s)
        return np.stack(np.broadcast_arrays(self._rho_xy * np.cos(theta),
                                            self._rho_xy * np.sin(theta), self._z))

    def sun_altitude(self, t_s) -> np.ndarray:
        """Altitude of the Sun (deg) at ``t_s``, seen from the site (parallax 9")."""
        sun = self.of_date(self.ephemeris.sun_km(t_s)) - self.site_vector_km(t_s)
        return self.altaz(sun, t_s, with_azimuth=False)[0]

    def moon(self, t_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The Moon seen from the site at ``t_s``.

        Returns
        -------
        unit : ndarray (3, ...)
            Topocentric direction, equator of date.
        altitude : ndarray
            Degrees.
        illumination : ndarray
            Illuminated fraction.
        """
        topocentric = self.of_date(self.ephemeris.moon_km(t_s)) - self.site_vector_km(t_s)
        unit = topocentric / np.sqrt(np.einsum("i...,i...->...", topocentric, topocentric))
        alt, _ = self.altaz(unit, t_s, with_azimuth=False)
        return unit, alt, self.ephemeris.moon_illumination(t_s)


class UsableAltitude:
    """Lowest usable altitude by azimuth for one telescope.

    The telescope's ``min_altitude_deg``, raised by the site's horizon map
    and, when the telescope has one (a ``horizon`` attribute of
    ``(azimuth, altitude)`` pairs), by its own map; maps are interpolated
    linearly and periodically in azimuth.
    """

    def __init__(self, site: Site, telescope: Telescope) -> None:
        maps = [m for m in (site.horizon, getattr(telescope, "horizon", ())) if m]
        self.floor_deg = float(telescope.min_altitude_deg)
        self._maps = [np.array(sorted(m), dtype=float) for m in maps]

    @property
    def constant(self) -> bool:
        """True when the limit does not depend on azimuth (no horizon map)."""
        return not self._maps

    def at(self, az_deg) -> np.ndarray:
        """The limit (deg) at each azimuth (deg)."""
        limit = np.full(np.shape(az_deg), self.floor_deg)
        for pts in self._maps:
            limit = np.maximum(limit, np.interp(az_deg, pts[:, 0], pts[:, 1], period=360.0))
        return limit
