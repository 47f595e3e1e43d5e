"""Expected science value of an exposure from the physics of the simulator (numpy only).

The simulator draws each exposure's luck (:func:`simulator.outcome.simulate_outcome`:
a passing cloud ruining it, thin-cloud transparency, a guiding failure in wind);
this module evaluates the same model, vectorised over candidates, with the luck
averaged out exactly (the ruin and guiding failures are Bernoulli with the
simulator's probabilities) or by quadrature (the transparency's uniform, on
:data:`TRANSPARENCY_NODES` points).

Two users:

* the hindsight bound (:mod:`control_center.schedule_bench.value_model`), which
  passes the conditions the night *will* have;
* the learned policy (:mod:`models.scheduler.decision_features`), which passes
  the conditions the site reports *now* -- a persistence forecast, nothing a
  live control center would not know. :class:`SiteSky` gives it the Sun, Moon
  and horizon frame of a site from the network file alone.

A unit test checks the expectation against the mean of many simulated outcomes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from control_center import astro
from control_center.network import Site, Telescope
from control_center.plugin_api.types import Conditions
from simulator.bands import band
from simulator.ephemeris import Ephemeris
from simulator.horizon import HorizonFrame
from simulator.outcome import MIN_SNR, TARGET_SNR, delivered_seeing, point_source_snr
from simulator.site import DEFAULT_V_MAG
from simulator.sky import sky_brightness
from simulator.weather import hours_since_dew_onset

__all__ = ["TRANSPARENCY_NODES", "SiteSky", "expected_values", "success_probability"]

TRANSPARENCY_NODES = 8
"""Midpoint-rule nodes over the thin-cloud uniform (the only continuous luck)."""

_SUN_LIMIT_DEG = -6.0


class SiteSky:
    """A site's Sun, Moon and horizon frame over a night (what :func:`expected_values`
    needs besides the conditions; a :class:`simulator.SimulatedSite` has the same
    attributes).

    Parameters
    ----------
    site : Site
    start, end : datetime
        The night (timezone-aware).
    """

    def __init__(self, site: Site, start: datetime, end: datetime) -> None:
        self.site = site
        self.ephemeris = Ephemeris(site.latitude_deg, site.longitude_deg, site.elevation_m,
                                   start, end)
        self.frame = HorizonFrame(site.latitude_deg, site.longitude_deg, start + (end - start) / 2)


def success_probability(cloud_cover: float, wind_m_s: float, exposure_s) -> np.ndarray:
    """Probability that neither a passing cloud nor a guiding failure ruins an exposure.

    The simulator's own rule (:func:`simulator.outcome.simulate_outcome`),
    vectorised over exposures.
    """
    exposure_s = np.asarray(exposure_s, dtype=float)
    p_ruin = (min(max((cloud_cover - 0.1) / 0.6, 0.0), 1.0) ** 1.5
              * (0.4 + 0.6 * (1.0 - np.exp(-exposure_s / 600.0))))
    p_guide = 0.003 + 0.03 * min(max((wind_m_s - 10.0) / 5.0, 0.0), 1.0)
    return (1.0 - p_ruin) * (1.0 - p_guide)


def expected_values(sky, telescope: Telescope, t_s: float, ra_deg, dec_deg, v_mag, filters,
                    exposure_s, priority, conditions: Conditions) -> np.ndarray:
    """Expected science value of observing each candidate on ``telescope`` at ``t_s``.

    Parameters
    ----------
    sky : SiteSky or SimulatedSite
        The site (``site``, ``ephemeris`` and ``frame`` attributes).
    telescope : Telescope
        One of the site's telescopes.
    t_s : float
        POSIX time of mid-exposure.
    ra_deg, dec_deg, v_mag, exposure_s, priority : array_like
        One entry per candidate; a NaN ``v_mag`` means unknown
        (:data:`simulator.site.DEFAULT_V_MAG`, as the simulator assumes).
    filters : sequence of str
        Filter of each candidate (one the telescope has, else the value is 0).
    conditions : Conditions
        The weather to assume.

    Returns
    -------
    ndarray
        ``priority * E[quality]``, 0 where the exposure would fail for sure (dome
        closed, daylight, target below the altitude limit or too faint).
    """
    ra = np.asarray(ra_deg, dtype=float)
    dec = np.asarray(dec_deg, dtype=float)
    v = np.asarray(v_mag, dtype=float)
    v = np.where(np.isnan(v), DEFAULT_V_MAG, v)
    exposure = np.asarray(exposure_s, dtype=float)
    priority = np.asarray(priority, dtype=float)
    filters = np.asarray(filters, dtype=object)
    out = np.zeros(ra.shape)
    c = conditions
    sun_alt = sky.ephemeris.sun_altitude(t_s)
    if not c.open or sun_alt > _SUN_LIMIT_DEG or not ra.size:
        return out
    site = sky.site
    alt, az = sky.frame.altaz_many(ra, dec, t_s)
    limit = np.full(ra.shape, float(telescope.min_altitude_deg))
    if site.horizon:
        h_az, h_alt = zip(*site.horizon, strict=True)
        limit = np.maximum(limit, np.interp(az % 360.0, h_az, h_alt, period=360.0))
    up = alt >= limit
    if not up.any():
        return out
    airmass = np.asarray(astro.airmass(np.where(up, alt, 90.0)), dtype=float)
    moon_ra, moon_dec, moon_alt, moon_illum = sky.ephemeris.moon(t_s)
    separation = astro.angular_separation_deg(ra, dec, moon_ra, moon_dec)
    fx = site.effects
    hours_dusk = sky.ephemeris.hours_since_dusk(t_s)
    dew = (min(0.6, 0.15 * hours_since_dew_onset(site, t_s))
           * min(max((c.humidity - 0.3) / 0.4, 0.0), 1.0))
    p_ok = success_probability(c.cloud_cover, c.wind_m_s, exposure)
    u = (np.arange(TRANSPARENCY_NODES) + 0.5) / TRANSPARENCY_NODES
    transparency = np.clip(1.0 - c.cloud_cover * (0.5 + 0.5 * u), 0.05, 1.0)
    for name in sorted(set(filters.tolist())):
        pick = up & (filters == name)
        if name not in telescope.filters or not pick.any():
            continue
        b = band(name)
        x = airmass[pick]
        sky_mag = sky_brightness(alt[pick], separation[pick], moon_alt, moon_illum, sun_alt,
                                 dark_sky_v_mag=site.climate.dark_sky_v_mag_arcsec2,
                                 extinction_v=band("V").extinction + fx.dust_extinction_mag,
                                 filter=name)
        fwhm = delivered_seeing(c.seeing_arcsec, np.minimum(x, 40.0), name,
                                vibration_arcsec=fx.vibration_arcsec, wind_m_s=c.wind_m_s,
                                pixel_scale_arcsec=telescope.pixel_scale_arcsec)
        base_loss = (fx.dust_extinction_mag * x + fx.zero_point_drift_mag_per_hour * hours_dusk
                     + dew - fx.colour_tint * (b.wavelength_nm - 550.0) / 250.0)
        loss = base_loss[:, None] - 2.5 * np.log10(transparency)[None, :]
        snr = point_source_snr(v[pick][:, None], exposure[pick][:, None],
                               aperture_m=telescope.aperture_m, filter=name,
                               airmass=x[:, None], sky_mag_arcsec2=np.asarray(sky_mag)[:, None],
                               fwhm_arcsec=fwhm[:, None],
                               pixel_scale_arcsec=telescope.pixel_scale_arcsec, loss_mag=loss)
        quality = np.where(snr >= MIN_SNR, np.minimum(1.0, snr / TARGET_SNR), 0.0)
        quality = quality.mean(axis=1) * np.minimum(1.0, 1.2 / fwhm) ** 0.7
        out[pick] = priority[pick] * p_ok[pick] * quality
    return out
