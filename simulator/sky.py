"""Night-sky brightness and atmospheric extinction.

The sky at a target is the sum of three light sources, each converted to
surface brightness in the requested filter:

* the dark sky (airglow, zodiacal light, light pollution), brightening toward the
  horizon as in Krisciunas & Schaefer (1991, PASP 103, 1033; their eq. 2);
* scattered moonlight from the Krisciunas & Schaefer model (their eqs. 15-21),
  which depends on the Moon's phase, its altitude, the target's airmass and the
  Moon-target separation;
* twilight, which brightens the sky once the Sun climbs above -18 deg (about 1 mag
  per degree of solar altitude; -12 deg gives ~17 V mag/arcsec^2).

Every function broadcasts over numpy arrays, so a whole target list (or a whole
time grid) costs one call.
"""

from __future__ import annotations

import numpy as np

from simulator.bands import band

__all__ = [
    "extinction_mag",
    "moon_phase_angle_deg",
    "sky_brightness",
    "zenith_sky_brightness",
]

_NL_PER_V0 = 34.08 * np.exp(20.7233)
"""Nanolamberts of a 0 V mag/arcsec^2 sky (K&S 1991, eq. 1): B = this * 10**(-0.4 V)."""


def _to_nl(v_mag):
    return _NL_PER_V0 * 10.0 ** (-0.4 * np.asarray(v_mag, dtype=float))


def _to_mag(nl):
    return -2.5 * np.log10(np.asarray(nl, dtype=float) / _NL_PER_V0)


def _scatter_airmass(zenith_deg):
    """K&S eq. 3: the airmass of scattered light, finite at the horizon (5.0)."""
    z = np.radians(np.clip(zenith_deg, 0.0, 90.0))
    return 1.0 / np.sqrt(1.0 - 0.96 * np.sin(z) ** 2)


def moon_phase_angle_deg(illumination):
    """Lunar phase angle (deg; 0 full, 180 new) from the illuminated fraction (0..1)."""
    illum = np.clip(np.asarray(illumination, dtype=float), 0.0, 1.0)
    return np.degrees(np.arccos(2.0 * illum - 1.0))


def _moon_nl(target_zenith, separation, moon_zenith, illumination, k):
    alpha = moon_phase_angle_deg(illumination)
    i_star = 10.0 ** (-0.4 * (3.84 + 0.026 * alpha + 4e-9 * alpha**4))
    rho = np.clip(np.asarray(separation, dtype=float), 1.0, 180.0)
    mie = np.where(rho > 10.0, 10.0 ** (6.15 - rho / 40.0), 6.2e7 / rho**2)
    f_rho = 10.0**5.36 * (1.06 + np.cos(np.radians(rho)) ** 2) + mie
    b = (f_rho * i_star * 10.0 ** (-0.4 * k * _scatter_airmass(moon_zenith))
         * (1.0 - 10.0 ** (-0.4 * k * _scatter_airmass(target_zenith))))
    return np.where(np.asarray(moon_zenith) < 90.0, b, 0.0)


def _twilight_nl(sun_alt_deg):
    h = np.minimum(np.asarray(sun_alt_deg, dtype=float), 0.0)
    mag = 17.0 - 1.05 * (h + 12.0)
    taper = np.clip((h + 18.0) / 6.0, 0.0, 1.0)
    return _to_nl(mag) * taper


def sky_brightness(target_alt_deg, moon_separation_deg, moon_alt_deg, moon_illumination,
                   sun_alt_deg, *, dark_sky_v_mag: float = 21.5, extinction_v: float = 0.15,
                   filter: str = "V") -> np.ndarray:
    """Sky surface brightness (mag/arcsec^2) at targets, in one filter.

    Parameters
    ----------
    target_alt_deg : array_like
        Altitude of each target (clipped to the horizon).
    moon_separation_deg : array_like
        Angular distance between the Moon and each target.
    moon_alt_deg, moon_illumination : array_like
        The Moon's altitude and illuminated fraction (0 new, 1 full); moonlight
        is zero when the Moon is below the horizon.
    sun_alt_deg : array_like
        The Sun's altitude; twilight adds light above -18 deg.
    dark_sky_v_mag : float
        Moonless, dark-time zenith brightness in V (the site's climate value).
    extinction_v : float
        V-band extinction (mag/airmass) used for scattering and the dark-sky gradient.
    filter : str
        Filter name (see :data:`simulator.bands.BANDS`).

    Returns
    -------
    ndarray
        Brightness in mag/arcsec^2, broadcast over the inputs (smaller is brighter).

    Examples
    --------
    >>> dark = sky_brightness(90, 120, -30, 0.0, -30, dark_sky_v_mag=21.7)
    >>> round(float(dark), 2)
    21.7
    >>> moonlit = sky_brightness(60, 40, 50, 1.0, -30, dark_sky_v_mag=21.7)
    >>> bool(moonlit < 19.5)
    True
    """
    b = band(filter)
    target_z = 90.0 - np.clip(np.asarray(target_alt_deg, dtype=float), 0.0, 90.0)
    x = _scatter_airmass(target_z)
    dark = _to_nl(dark_sky_v_mag) * 10.0 ** (-0.4 * extinction_v * (x - 1.0)) * x
    moon = _moon_nl(target_z, moon_separation_deg, 90.0 - np.asarray(moon_alt_deg, dtype=float),
                    moon_illumination, extinction_v)
    scattered = moon + _twilight_nl(sun_alt_deg)
    total = (dark * 10.0 ** (-0.4 * b.dark_sky_offset)
             + scattered * 10.0 ** (-0.4 * b.moonlight_offset))
    return _to_mag(total)


def zenith_sky_brightness(moon_alt_deg, moon_illumination, sun_alt_deg, *,
                          dark_sky_v_mag: float = 21.5, extinction_v: float = 0.15,
                          filter: str = "V") -> np.ndarray:
    """Sky brightness at the zenith (see :func:`sky_brightness`)."""
    moon_alt = np.asarray(moon_alt_deg, dtype=float)
    return sky_brightness(90.0, 90.0 - moon_alt, moon_alt, moon_illumination, sun_alt_deg,
                          dark_sky_v_mag=dark_sky_v_mag, extinction_v=extinction_v,
                          filter=filter)


def extinction_mag(airmass, filter: str) -> np.ndarray:
    """Atmospheric extinction (mag) through ``airmass`` in ``filter``.

    Uses the standard coefficients of :data:`simulator.bands.BANDS` (for example
    u 0.48, B 0.22, g 0.17, V 0.13, r 0.09, i 0.05, z 0.04 mag/airmass).

    Examples
    --------
    >>> round(float(extinction_mag(2.0, "V")), 2)
    0.26
    """
    return band(filter).extinction * np.asarray(airmass, dtype=float)
