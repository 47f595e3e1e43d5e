"""Matched-star photometry of simulated nights, from the simulator's own truth.

For each frame a site takes of one of the shared :data:`FIELDS` (the one highest in
its sky, dithered by a few arcminutes), every catalogue star
(:func:`simulator.starfield.stars_in_field`) that falls on the detector, is neither
saturated nor fainter than SNR 20, gives the instrumental magnitude the frame
renderer (:mod:`simulator.frames`) would record in an aperture: the simulator's
zero point (:func:`simulator.frames.zero_point_e`: band and dust extinction, drift
since dusk, dew, colour tint), its colour term ``2 tint (lambda - 550) / 250`` times
``B-V - 0.65``, the camera gain and the telescope's flat field
(:func:`simulator.detector.flat_field`, vignetting, dust donuts and pixel response,
averaged over a 5x5 pixel box), and photon, sky and read noise. Images are not
rendered, so there is no aperture-correction or crowding error: the result is the
calibration problem in isolation, with every truth term known.

Columns are those :func:`models.calibration.photometric.fit_site_calibration` needs,
plus truth: ``star_id``, ``frame`` (unique over a call), ``night``,
``true_mag``, ``inst_noiseless``, ``zp_adu`` (the frame's zero point, mag giving 1 ADU/s at the
reference colour), ``colour_term_true`` (mag per mag, in the calibration's sign) and
``flat_mag`` (``2.5 log10(flat)``, what the calibration's flat must add).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np

from control_center.astro import airmass as astro_airmass
from control_center.network import Network, Site, Telescope, load_network
from control_center.plugin_api.types import Conditions
from simulator._seeding import stream
from simulator.bands import band as band_of
from simulator.detector import camera_for, flat_field
from simulator.frames import _photons_mag0, zero_point_e
from simulator.horizon import HorizonFrame
from simulator.outcome import READ_NOISE_E, delivered_seeing
from simulator.starfield import stars_in_field
from simulator.weather import hours_since_dew_onset

__all__ = ["FIELDS", "SHAPE", "concat", "simulate_night", "star_deviates", "telescope_for"]

FIELDS = tuple((float(ra), float(dec)) for dec in (-5.0, 10.0) for ra in range(0, 360, 30))
"""Field centres every site observes (24, near the equator so all sites reach them)."""
SHAPE = (1024, 1024)
"""Detector shape (pixels) of every frame."""
_DITHER_ARCMIN = 3.0
_MIN_ALT = 30.0
_DUSK_LOCAL_HOUR = 19.5


def telescope_for(site: Site, band: str) -> Telescope:
    """The site's first telescope with ``band``; ValueError if none has it."""
    for scope in site.telescopes:
        if band in scope.filters:
            return scope
    raise ValueError(f"site {site.name!r} has no telescope with filter {band!r}")


@lru_cache(maxsize=64)
def _field_stars(ra: float, dec: float, radius: float, mag_limit: float):
    s = stars_in_field(ra, dec, radius, mag_limit=mag_limit)
    return s.ids, s.ra_deg, s.dec_deg, {k: np.asarray(v) for k, v in s.mag.items()}


def _mag_in(mags: dict[str, np.ndarray], band: str) -> np.ndarray:
    if band in mags:
        return mags[band]
    from simulator.starfield import _mag_in as interp
    return interp(mags, band)


def simulate_night(site_name: str, band: str, night: int, *, seed: int, n_frames: int = 30,
                   network: Network | None = None, humidity: float | None = None,
                   cloud_cover_max: float = 0.0, exposure_s: float = 30.0,
                   mag_limit: float = 17.5, frame_offset: int = 0,
                   catalogue_sigma: float = 0.0,
                   first_night: datetime = datetime(2026, 3, 10, tzinfo=UTC),
                   ) -> dict[str, np.ndarray]:
    """Matched stars of ``n_frames`` frames a site takes during one night.

    Parameters
    ----------
    site_name, band : str
        A site of ``network`` (default: the demo network) and a filter one of its
        telescopes has.
    night : int
        Night number after ``first_night`` (the night starts at local dusk, 19:30
        local solar time; frames are spread over the next 9 hours).
    seed : int
        Seeds humidity, seeing, fields, dithers and noise (with site and night).
    humidity : float, optional
        The night's humidity (dew forms above 0.3 after the site's onset hour);
        drawn in 0.1-0.55 when omitted.
    cloud_cover_max : float
        Each frame's cloud cover is uniform in [0, this]; 0 is a photometric night.
    exposure_s, mag_limit : float
        Exposure and faintest catalogue V queried.
    frame_offset : int
        Added to the frame numbers (to keep them unique across calls).
    catalogue_sigma : float
        Error (mag) of the reference catalogue: ``catalogue_mag`` is the true
        magnitude plus a deviate fixed per star (the same at every site and night);
        ``true_mag`` keeps the truth.

    Returns
    -------
    dict of str to numpy.ndarray
        See the module docstring.
    """
    net = network or load_network()
    site = net.site(site_name)
    scope = telescope_for(site, band_of(band).name)
    cam = camera_for(scope)
    rng = stream(seed, "calibration", site_name, band, str(night))
    hum = float(rng.uniform(0.1, 0.55)) if humidity is None else float(humidity)
    local_midnight = first_night + timedelta(days=night + 1)
    dusk = local_midnight - timedelta(hours=24.0 - _DUSK_LOCAL_HOUR + site.longitude_deg / 15.0)
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, dusk)
    h, w = SHAPE
    scale = scope.field_of_view_arcmin * 60.0 / w
    radius = math.hypot(h, w) / 2.0 * scale / 3600.0 + 0.01
    binning = max(scale / scope.pixel_scale_arcsec, 1.0)
    full_well = cam.full_well_e * binning**2
    b = band_of(band)
    sky_mag = site.climate.dark_sky_v_mag_arcsec2 + b.dark_sky_offset
    cterm = 2.0 * site.effects.colour_tint * (b.wavelength_nm - 550.0) / 250.0
    gain_mag = 2.5 * math.log10(cam.gain_e_per_adu)
    rows: list[dict[str, np.ndarray]] = []
    hours = np.sort(rng.uniform(0.3, 9.0, n_frames))
    for k, hour in enumerate(hours):
        t = dusk + timedelta(hours=float(hour))
        ts = t.timestamp()
        alts = np.array([frame.altaz(ra, dec, ts)[0] for ra, dec in FIELDS])
        up = np.flatnonzero(alts >= _MIN_ALT)
        pick = int(up[rng.integers(len(up))]) if len(up) else int(np.argmax(alts))
        f_ra, f_dec = FIELDS[pick]
        d_ra, d_dec = rng.uniform(-_DITHER_ARCMIN, _DITHER_ARCMIN, 2) / 60.0
        ra0 = (f_ra + d_ra / max(math.cos(math.radians(f_dec)), 1e-3)) % 360.0
        dec0 = f_dec + d_dec
        alt = frame.altaz(ra0, dec0, ts)[0]
        airmass = float(min(astro_airmass(alt), 40.0))
        seeing = float(site.climate.median_seeing_arcsec * math.exp(0.25 * rng.standard_normal()))
        cloud = float(rng.uniform(0.0, cloud_cover_max)) if cloud_cover_max > 0 else 0.0
        cond = Conditions(cloud_cover=cloud, humidity=hum, wind_m_s=site.climate.median_wind_m_s,
                          seeing_arcsec=seeing, sky_v_mag_arcsec2=sky_mag, open=True)
        since_dew = hours_since_dew_onset(site, ts)
        zp_e = zero_point_e(site, scope, band, airmass, cond, float(hour), since_dew)
        fwhm = float(delivered_seeing(seeing, airmass, band,
                                      vibration_arcsec=site.effects.vibration_arcsec,
                                      wind_m_s=cond.wind_m_s))
        fwhm_px = max(fwhm / scale, 0.5)
        ids, sra, sdec, mags = _field_stars(f_ra, f_dec, radius + 0.1, mag_limit)
        m = _mag_in(mags, band)
        bv = mags["B"] - mags["V"]
        cosd = math.cos(math.radians(dec0))
        px = ((sra - ra0 + 180.0) % 360.0 - 180.0) * cosd * 3600.0 / scale + (w - 1) / 2.0
        py = (sdec - dec0) * 3600.0 / scale + (h - 1) / 2.0
        inside = (px >= 5) & (px <= w - 6) & (py >= 5) & (py <= h - 6)
        flat = flat_field(site.name, scope, SHAPE, ts / 86400.0 + 40587.0)
        ix, iy = np.rint(px[inside]).astype(int), np.rint(py[inside]).astype(int)
        box = np.zeros(ix.size)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                box += flat[iy + dy, ix + dx]
        box /= 25.0
        mi, bvi = m[inside], bv[inside]
        flux_e = exposure_s * 10.0 ** (-0.4 * (mi + cterm * (bvi - 0.65) - zp_e)) * box
        sky_e = _photons_mag0(scope, band) * 10.0 ** (-0.4 * sky_mag) * scale**2 * exposure_s
        npix = math.pi * max(2.0 * fwhm_px, 3.0) ** 2
        flux_err = np.sqrt(flux_e + npix * (sky_e + READ_NOISE_E**2))
        peak = flux_e * 0.8 / fwhm_px**2 + sky_e
        good = (flux_e >= 20.0 * flux_err) & (peak < 0.8 * full_well)
        noisy = flux_e + flux_err * rng.standard_normal(flux_e.size)
        good &= noisy > 0
        to_adu = 1.0 / (cam.gain_e_per_adu * exposure_s)
        inst_true = -2.5 * np.log10(flux_e[good] * to_adu)
        inst = -2.5 * np.log10(noisy[good] * to_adu)
        n = int(good.sum())
        rows.append({
            "time_mjd": np.full(n, (ts + exposure_s / 2.0) / 86400.0 + 40587.0),
            "airmass": np.full(n, airmass),
            "instrumental_mag": inst,
            "instrumental_err": 1.0857 * flux_err[good] / flux_e[good],
            "catalogue_mag": mi[good] + catalogue_sigma * star_deviates(ids[inside][good]),
            "catalogue_colour": bvi[good], "true_mag": mi[good],
            "x": (px[inside][good] - (w - 1) / 2.0) / ((w - 1) / 2.0),
            "y": (py[inside][good] - (h - 1) / 2.0) / ((h - 1) / 2.0),
            "star_id": ids[inside][good], "frame": np.full(n, frame_offset + k),
            "night": np.full(n, night), "inst_noiseless": inst_true,
            "zp_adu": np.full(n, zp_e - gain_mag),
            "colour_term_true": np.full(n, -cterm),
            "flat_mag": 2.5 * np.log10(box[good]),
            "fwhm_arcsec": np.full(n, fwhm), "field": np.full(n, pick),
        })
    return concat(rows)


def star_deviates(ids: np.ndarray) -> np.ndarray:
    """A standard normal deviate fixed per star id (a hash; no random state)."""
    z = np.asarray(ids).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(31)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(29)
    u1 = ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    u2 = (((z * np.uint64(0x94D049BB133111EB)) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate column dicts with the same keys."""
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
