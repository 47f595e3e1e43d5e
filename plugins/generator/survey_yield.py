"""Expected yield of a survey exposure: the depth reachable now, against the depth wanted.

The depth is the limiting magnitude at SNR 5 of a point source, from the
simulator's CCD equation (:func:`simulator.outcome.limiting_magnitude`: the
telescope's aperture and pixels, the filter's throughput and extinction at the
field's airmass, the sky at the field, the delivered FWHM from the seeing, and
the mean cloud transmission). The yield of a field whose science needs depth
``m_req`` is the logistic

    yield = 1 / (1 + exp(-(m_lim - m_req) / 0.25 mag))

so 0.5 when the exposure just reaches the depth, 0.98 one magnitude deeper and
0.02 one magnitude short: near 1 when conditions are good, falling fast when
seeing, Moon, twilight, airmass or cloud take the depth away.

Examples
--------
>>> round(float(expected_yield(21.5, 21.5)), 2)
0.5
>>> bool(expected_yield(22.5, 21.5) > 0.95 > 0.05 > expected_yield(20.5, 21.5))
True
"""

from __future__ import annotations

import math

import numpy as np

from control_center.network import Site, Telescope
from simulator.outcome import delivered_seeing, exposure_for_snr, limiting_magnitude
from simulator.sky import sky_brightness

__all__ = [
    "DETECTION_SNR",
    "YIELD_SOFTNESS_MAG",
    "depth_now",
    "expected_yield",
    "survey_exposure_s",
]

DETECTION_SNR = 5.0
YIELD_SOFTNESS_MAG = 0.25
EXPOSURE_RANGE_S = (30.0, 300.0)
_REFERENCE_AIRMASS = 1.2


def expected_yield(m_lim, m_required) -> np.ndarray:
    """Fraction (0-1) of a field's science reached at depth ``m_lim``; broadcasts."""
    x = (np.asarray(m_lim, dtype=float) - np.asarray(m_required, dtype=float))
    return 1.0 / (1.0 + np.exp(-np.clip(x / YIELD_SOFTNESS_MAG, -50.0, 50.0)))


def depth_now(exposure_s: float, telescope: Telescope, filter: str, airmass, sky_mag,
              fwhm_arcsec, loss_mag) -> np.ndarray:
    """Limiting magnitude (SNR 5) of an exposure; broadcasts over fields."""
    return limiting_magnitude(exposure_s, aperture_m=telescope.aperture_m, filter=filter,
                              airmass=airmass, sky_mag_arcsec2=sky_mag, fwhm_arcsec=fwhm_arcsec,
                              pixel_scale_arcsec=telescope.pixel_scale_arcsec,
                              snr=DETECTION_SNR, loss_mag=loss_mag)


def survey_exposure_s(site: Site, telescope: Telescope, filter: str, depth_mag: float) -> float:
    """Exposure (s) that reaches ``depth_mag`` at SNR 5 in the site's typical dark night.

    Typical: the climate's dark-sky brightness and median seeing, airmass 1.2,
    no Moon, no cloud. Clipped to 30-300 s and rounded up to 10 s, so one
    telescope's survey frames share one exposure per filter.
    """
    climate = site.climate
    sky = float(sky_brightness(56.4, 120.0, -30.0, 0.0, -30.0,
                               dark_sky_v_mag=climate.dark_sky_v_mag_arcsec2, filter=filter))
    fwhm = float(delivered_seeing(climate.median_seeing_arcsec, _REFERENCE_AIRMASS, filter,
                                  vibration_arcsec=site.effects.vibration_arcsec,
                                  pixel_scale_arcsec=telescope.pixel_scale_arcsec))
    t = float(exposure_for_snr(DETECTION_SNR, depth_mag, aperture_m=telescope.aperture_m,
                               filter=filter, airmass=_REFERENCE_AIRMASS, sky_mag_arcsec2=sky,
                               fwhm_arcsec=fwhm, pixel_scale_arcsec=telescope.pixel_scale_arcsec,
                               loss_mag=site.effects.dust_extinction_mag * _REFERENCE_AIRMASS))
    lo, hi = EXPOSURE_RANGE_S
    return float(min(hi, 10.0 * math.ceil(min(max(t, lo), hi) / 10.0)))
