"""What an exposure yields: the CCD equation, site effects and luck.

The signal of a point source is counted inside a circular aperture of radius
one FWHM (94 % of a Gaussian's light) against sky, dark current and read
noise. The delivered FWHM is the zenith seeing scaled to the airmass
(``X**0.6``) and wavelength (``lambda**-0.2``), with the site's vibration, wind
shake and pixel sampling added in quadrature. Site effects enter as magnitude
losses: grey dust (per airmass), a zero point that drifts with hours since dusk,
dew on the optics after the dew onset (worse when humid) and a colour tint
(red bands gain, blue bands lose, or the reverse).

:func:`simulate_outcome` draws the random part (a passing cloud ruining the
exposure, thin-cloud transparency, a guiding failure in wind) from the
generator it is given, always three uniforms, so outcomes are reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from control_center.network import Site, Telescope
from control_center.plugin_api.types import Conditions
from simulator.bands import band
from simulator.sky import extinction_mag

__all__ = [
    "MIN_SNR",
    "TARGET_SNR",
    "Outcome",
    "altitude_limit_deg",
    "delivered_seeing",
    "exposure_for_snr",
    "limiting_magnitude",
    "point_source_snr",
    "simulate_outcome",
]

TARGET_SNR = 50.0
"""SNR at which an observation reaches full quality."""
MIN_SNR = 5.0
"""Below this SNR the target is not detected and the observation fails."""
READ_NOISE_E = 8.0
DARK_E_PER_S = 0.01
_OBSTRUCTED = 0.12
"""Fraction of the aperture's area hidden by the secondary mirror."""
_SUN_LIMIT_DEG = -6.0


@dataclass(frozen=True)
class Outcome:
    """The result of one exposure.

    Attributes
    ----------
    success : bool
    snr : float
        Signal-to-noise of the target (0 when the exposure was lost).
    seeing_arcsec : float
        Delivered image FWHM.
    airmass : float
    reason : str
        Why it failed, or a one-line summary when it succeeded.
    science_value : float
        ``priority * quality``; 0 on failure.
    quality : float
        0..1 from SNR (relative to the target SNR) and image FWHM.
    sky_mag_arcsec2 : float
        Sky brightness in the filter at the target.
    zero_point_mag : float
        Magnitude giving 1 e-/s in this exposure (atmosphere, clouds and site
        effects included): what a frame renderer needs.
    transparency : float
        Cloud transmission (1 clear).
    limiting_mag : float
        Faintest point source reaching SNR 5 in this exposure (NaN when the
        shutter never opened): what decides which transients are detected.
    """

    success: bool
    snr: float
    seeing_arcsec: float
    airmass: float
    reason: str
    science_value: float
    quality: float = 0.0
    sky_mag_arcsec2: float = math.nan
    zero_point_mag: float = math.nan
    transparency: float = 1.0
    limiting_mag: float = math.nan


def delivered_seeing(seeing_arcsec, airmass, filter: str, *, vibration_arcsec: float = 0.0,
                     wind_m_s: float = 0.0, pixel_scale_arcsec: float = 0.0):
    """Image FWHM (arcsec) from zenith seeing at 500 nm; broadcasts over arrays."""
    atmos = (np.asarray(seeing_arcsec, dtype=float) * np.asarray(airmass, dtype=float) ** 0.6
             * (band(filter).wavelength_nm / 500.0) ** -0.2)
    shake = 0.04 * max(wind_m_s - 8.0, 0.0)
    return np.sqrt(atmos**2 + vibration_arcsec**2 + shake**2 + (0.5 * pixel_scale_arcsec) ** 2)


def _rates(aperture_m, filter, airmass, sky_mag_arcsec2, fwhm_arcsec, pixel_scale_arcsec,
           loss_mag):
    """e-/s from a mag-0 star, the fraction inside the aperture, sky (+dark) e-/s per pixel,
    and pixels in the aperture."""
    b = band(filter)
    area = math.pi * (np.asarray(aperture_m, dtype=float) / 2.0) ** 2 * (1.0 - _OBSTRUCTED)
    per_mag0 = b.photons_mag0 * area
    radius = np.maximum(np.asarray(fwhm_arcsec, dtype=float), 1.5 * pixel_scale_arcsec)
    sigma = np.asarray(fwhm_arcsec, dtype=float) / 2.3548
    enclosed = 1.0 - np.exp(-(radius**2) / (2.0 * sigma**2))
    star0 = per_mag0 * 10.0 ** (-0.4 * (extinction_mag(airmass, filter) + loss_mag))
    sky = per_mag0 * 10.0 ** (-0.4 * np.asarray(sky_mag_arcsec2, dtype=float)) \
        * pixel_scale_arcsec**2
    npix = math.pi * radius**2 / pixel_scale_arcsec**2
    return star0, enclosed, sky + DARK_E_PER_S, npix


def point_source_snr(v_mag, exposure_s, *, aperture_m, filter: str, airmass, sky_mag_arcsec2,
                     fwhm_arcsec, pixel_scale_arcsec: float = 0.5, loss_mag=0.0,
                     read_noise_e: float = READ_NOISE_E):
    """Signal-to-noise of a point source (CCD equation); broadcasts over arrays.

    ``loss_mag`` is any extra dimming (clouds, dust, dew, drift) beyond the
    standard extinction of ``filter`` at ``airmass``.

    Examples
    --------
    >>> snr = point_source_snr(20.0, 300.0, aperture_m=1.0, filter="r", airmass=1.2,
    ...                        sky_mag_arcsec2=21.2, fwhm_arcsec=1.0, pixel_scale_arcsec=0.4)
    >>> 40 < float(snr) < 120
    True
    """
    star0, enclosed, sky, npix = _rates(aperture_m, filter, airmass, sky_mag_arcsec2,
                                        fwhm_arcsec, pixel_scale_arcsec, loss_mag)
    signal = star0 * enclosed * 10.0 ** (-0.4 * np.asarray(v_mag, dtype=float)) * exposure_s
    return signal / np.sqrt(signal + npix * (sky * exposure_s + read_noise_e**2))


def exposure_for_snr(snr, v_mag, *, aperture_m, filter: str, airmass, sky_mag_arcsec2,
                     fwhm_arcsec, pixel_scale_arcsec: float = 0.5, loss_mag=0.0,
                     read_noise_e: float = READ_NOISE_E):
    """Exposure (s) that reaches ``snr`` on a point source of ``v_mag`` (inverse CCD equation)."""
    star0, enclosed, sky, npix = _rates(aperture_m, filter, airmass, sky_mag_arcsec2,
                                        fwhm_arcsec, pixel_scale_arcsec, loss_mag)
    s = star0 * enclosed * 10.0 ** (-0.4 * np.asarray(v_mag, dtype=float))
    q = np.asarray(snr, dtype=float) ** 2
    lin = q * (s + npix * sky)
    return (lin + np.sqrt(lin**2 + 4.0 * s**2 * q * npix * read_noise_e**2)) / (2.0 * s**2)


def limiting_magnitude(exposure_s, *, aperture_m, filter: str, airmass, sky_mag_arcsec2,
                       fwhm_arcsec, pixel_scale_arcsec: float = 0.5, snr=5.0, loss_mag=0.0,
                       read_noise_e: float = READ_NOISE_E):
    """Faintest point source reaching ``snr`` in ``exposure_s`` (inverse CCD equation)."""
    star0, enclosed, sky, npix = _rates(aperture_m, filter, airmass, sky_mag_arcsec2,
                                        fwhm_arcsec, pixel_scale_arcsec, loss_mag)
    q = np.asarray(snr, dtype=float) ** 2
    noise = npix * (sky * exposure_s + read_noise_e**2)
    counts = (q + np.sqrt(q**2 + 4.0 * q * noise)) / 2.0
    return -2.5 * np.log10(counts / (star0 * enclosed * exposure_s))


def altitude_limit_deg(site: Site, telescope: Telescope, azimuth_deg: float) -> float:
    """Lowest usable altitude toward ``azimuth_deg``: the telescope's limit or the
    site's horizon map (linearly interpolated, wrapping at 360 deg), whichever is higher."""
    limit = telescope.min_altitude_deg
    if site.horizon:
        az, alt = zip(*site.horizon, strict=True)
        limit = max(limit, float(np.interp(azimuth_deg % 360.0, az, alt, period=360.0)))
    return limit


def simulate_outcome(*, site: Site, telescope: Telescope, v_mag: float, filter: str,
                     exposure_s: float, priority: float, conditions: Conditions,
                     altitude_deg: float, azimuth_deg: float, airmass: float,
                     sky_mag_arcsec2: float, sun_altitude_deg: float,
                     hours_since_dusk: float = 0.0, hours_since_dew_onset: float = 0.0,
                     rng: np.random.Generator, target_snr: float = TARGET_SNR) -> Outcome:
    """Simulate one exposure of a point-like target.

    Parameters
    ----------
    conditions : Conditions
        Weather during the exposure (pass the worst cloud cover, and a closed
        state if the dome closed at any moment).
    altitude_deg, azimuth_deg, airmass : float
        The target's position at mid-exposure.
    sky_mag_arcsec2 : float
        Sky brightness in ``filter`` at the target (moon and twilight included).
    sun_altitude_deg : float
        Above -6 deg the exposure is lost to daylight.
    hours_since_dusk, hours_since_dew_onset : float
        Drive the zero-point drift and dew site effects.
    rng : numpy.random.Generator
        Source of the three uniforms this call draws.
    """
    u_cloud, u_thin, u_guide = (float(u) for u in rng.random(3))
    fwhm = float(delivered_seeing(conditions.seeing_arcsec, min(airmass, 40.0), filter,
                                  vibration_arcsec=site.effects.vibration_arcsec,
                                  wind_m_s=conditions.wind_m_s,
                                  pixel_scale_arcsec=telescope.pixel_scale_arcsec))

    def failed(reason: str, snr: float = 0.0, zp: float = math.nan,
               limiting: float = math.nan) -> Outcome:
        return Outcome(False, snr, fwhm, airmass, reason, 0.0, 0.0, sky_mag_arcsec2, zp,
                       transparency, limiting)

    transparency = 1.0
    limit = altitude_limit_deg(site, telescope, azimuth_deg)
    if not conditions.open:
        return failed(f"dome closed: {conditions.reason}")
    if sun_altitude_deg > _SUN_LIMIT_DEG:
        return failed(f"daylight: sun altitude {sun_altitude_deg:.1f} > {_SUN_LIMIT_DEG:g} deg")
    if altitude_deg < limit:
        return failed(f"target too low: altitude {altitude_deg:.1f} < {limit:.1f} deg "
                      f"at azimuth {azimuth_deg:.0f}")
    cloud = conditions.cloud_cover
    p_ruin = (min(max((cloud - 0.1) / 0.6, 0.0), 1.0) ** 1.5
              * (0.4 + 0.6 * (1.0 - math.exp(-exposure_s / 600.0))))
    transparency = min(max(1.0 - cloud * (0.5 + 0.5 * u_thin), 0.05), 1.0)
    if u_cloud < p_ruin:
        return failed(f"cloud passed during exposure (cover {cloud:.2f})")
    p_guide = 0.003 + 0.03 * min(max((conditions.wind_m_s - 10.0) / 5.0, 0.0), 1.0)
    if u_guide < p_guide:
        return failed(f"guiding lost (wind {conditions.wind_m_s:.1f} m/s)")

    b = band(filter)
    fx = site.effects
    dew = (min(0.6, 0.15 * hours_since_dew_onset)
           * min(max((conditions.humidity - 0.3) / 0.4, 0.0), 1.0))
    loss = (-2.5 * math.log10(transparency) + fx.dust_extinction_mag * airmass
            + fx.zero_point_drift_mag_per_hour * hours_since_dusk + dew
            - fx.colour_tint * (b.wavelength_nm - 550.0) / 250.0)
    star0, enclosed, sky, npix = (float(v) for v in _rates(
        telescope.aperture_m, filter, airmass, sky_mag_arcsec2, fwhm,
        telescope.pixel_scale_arcsec, loss))
    signal = star0 * enclosed * 10.0 ** (-0.4 * v_mag) * exposure_s
    snr = signal / math.sqrt(signal + npix * (sky * exposure_s + READ_NOISE_E**2))
    zp = 2.5 * math.log10(star0)
    noise = npix * (sky * exposure_s + READ_NOISE_E**2)
    limit_counts = (MIN_SNR**2 + math.sqrt(MIN_SNR**4 + 4.0 * MIN_SNR**2 * noise)) / 2.0
    limiting = -2.5 * math.log10(limit_counts / (star0 * enclosed * exposure_s))
    if snr < MIN_SNR:
        return failed(f"too faint: SNR {snr:.1f} < {MIN_SNR:g}", snr, zp, limiting)
    quality = min(1.0, snr / target_snr) * min(1.0, 1.2 / fwhm) ** 0.7
    return Outcome(True, snr, fwhm, airmass, f"SNR {snr:.0f}, FWHM {fwhm:.2f}\"",
                   priority * quality, quality, sky_mag_arcsec2, zp, transparency, limiting)
