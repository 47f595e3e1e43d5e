"""Simulated CCD frames: FITS images with WCS, full headers and their truth.

:func:`render_frame` draws what a telescope of a site records: the catalogue
stars of :mod:`simulator.starfield` and the OpenNGC galaxies through a Moffat
seeing PSF, the sky with a gentle gradient, the site's effects (zero-point
drift, grey dust, colour tint and colour term, vibration, dew halos, a flat
field with vignetting and drifting dust donuts), the camera's bias, gain, read
and photon noise, saturation and bleeding, and on request transients and
anomalies (:data:`~simulator.artefacts.ARTEFACT_KINDS`). The result is an
:class:`astropy.io.fits.HDUList`: the image (float32 ADU) with a TAN WCS, and
tables ``TRUTH`` (point sources), ``GALAXIES`` and ``ARTEFACTS`` (labels).
:func:`frame_for_observation` renders a :class:`~simulator.site.Observation`.

Every random draw comes from a named stream of ``seed``: the same arguments give
a bit-identical frame, and adding an artefact does not change the noise.

Photometric truth: a star of magnitude ``m`` in the frame's filter and colour
``B-V`` yields ``exptime * 10**(-0.4 (m + OA_CTERM (B-V - 0.65) - OA_ZP))``
ADU (at flat-field response 1), and the sky ``OA_SKY`` ADU per pixel. The PSF
is a Moffat profile with beta = 3.5: its half-light radius (SExtractor's and
sep's ``flux_radius``) is 0.604 FWHM.

Examples
--------
>>> from datetime import datetime, UTC
>>> from control_center.network import load_network
>>> from control_center.plugin_api.types import Conditions
>>> site = load_network().site("la-palma")
>>> sky = Conditions(cloud_cover=0.0, humidity=0.3, wind_m_s=4.0, seeing_arcsec=0.9,
...                  sky_v_mag_arcsec2=21.8, open=True)
>>> hdul = render_frame(site, site.telescopes[0], ra_deg=150.1, dec_deg=2.2, filter="r",
...                     exposure_s=60.0, start=datetime(2026, 3, 21, 23, tzinfo=UTC),
...                     conditions=sky, altitude_deg=60.0, sky_mag_arcsec2=20.8, seed=1,
...                     shape=(128, 128), artefacts=["satellite"], transients=1)
>>> hdul[0].header["OA_ANOM"], hdul[0].data.shape, int(hdul["TRUTH"].data["is_transient"].sum())
('satellite', (128, 128), 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from control_center.astro import airmass as _airmass
from control_center.network import Site, Telescope
from control_center.plugin_api.types import Conditions
from simulator._seeding import stream
from simulator.artefacts import (
    ARTEFACT_KINDS,
    Layers,
    apply_bad_readout,
    check_kinds,
    halo,
    inject_artefacts,
    tracking_record,
    tracking_trail,
)
from simulator.bands import band
from simulator.detector import Camera, add_noise, bleed, camera_for, flat_field
from simulator.frame_hdus import build_hdus, make_wcs, world_to_pixel
from simulator.outcome import _OBSTRUCTED, delivered_seeing
from simulator.psf import PSF, add_point_sources
from simulator.sky import extinction_mag
from simulator.starfield import FAINT_LIMIT, galaxies_in_field, stars_in_field

if TYPE_CHECKING:
    from astropy.io.fits import HDUList

    from simulator.site import Observation, SimulatedSite

__all__ = ["ARTEFACT_KINDS", "Transient", "frame_for_observation", "render_frame",
           "zero_point_e"]

RENDER_DEPTH_CAP = 23.0
"""Faintest V magnitude ever drawn (fainter stars are lost in the sky noise anyway)."""
_CR_PER_MPIX_S = 0.02
"""Cosmic-ray hits per megapixel per second that every exposure collects."""
_POINTING_ERR_ARCSEC = 4.0
_ROTATION_ERR_DEG = 0.08
_REF_COLOUR = 0.65


@dataclass(frozen=True)
class Transient:
    """A point source to inject, absent from the catalogue."""

    ra_deg: float
    dec_deg: float
    mag: float


def _photons_mag0(telescope: Telescope, filter: str) -> float:
    area = math.pi * (telescope.aperture_m / 2.0) ** 2 * (1.0 - _OBSTRUCTED)
    return band(filter).photons_mag0 * area


def _dew_mag(conditions: Conditions, hours_since_dew_onset: float) -> float:
    return (min(0.6, 0.15 * hours_since_dew_onset)
            * min(max((conditions.humidity - 0.3) / 0.4, 0.0), 1.0))


def zero_point_e(site: Site, telescope: Telescope, filter: str, airmass: float,
                 conditions: Conditions, hours_since_dusk: float,
                 hours_since_dew_onset: float) -> float:
    """Magnitude giving 1 e-/s, as :func:`simulator.outcome.simulate_outcome` computes it,
    with the cloud transparency taken as ``1 - 0.75 cloud_cover``."""
    b, fx = band(filter), site.effects
    transparency = min(max(1.0 - 0.75 * conditions.cloud_cover, 0.05), 1.0)
    loss = (-2.5 * math.log10(transparency) + fx.dust_extinction_mag * airmass
            + fx.zero_point_drift_mag_per_hour * hours_since_dusk
            + _dew_mag(conditions, hours_since_dew_onset)
            - fx.colour_tint * (b.wavelength_nm - 550.0) / 250.0)
    return 2.5 * math.log10(_photons_mag0(telescope, filter)) - float(
        extinction_mag(airmass, filter)) - loss


def _transients(spec: int | Sequence, wcs, shape, zp_e: float, exposure_s: float,
                limit_mag: float, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    if isinstance(spec, int | np.integer):
        h, w = shape
        n = int(spec)
        xs, ys = rng.uniform(10, w - 10, n), rng.uniform(10, h - 10, n)
        ra, dec = wcs.wcs_pix2world(xs, ys, 0)
        mags = rng.uniform(limit_mag - 5.0, limit_mag - 1.0, n)
        return [(float(a), float(d), float(m)) for a, d, m in zip(ra, dec, mags, strict=True)]
    out = []
    for t in spec:
        ra, dec, mag = (t.ra_deg, t.dec_deg, t.mag) if isinstance(t, Transient) else t
        out.append((float(ra), float(dec), float(mag)))
    return out


def render_frame(site: Site, telescope: Telescope, *, ra_deg: float, dec_deg: float,
                 filter: str, exposure_s: float, start: datetime, conditions: Conditions,
                 altitude_deg: float, sky_mag_arcsec2: float,
                 zero_point_mag: float | None = None, seed: int,
                 shape: tuple[int, int] = (1024, 1024), artefacts: Sequence[str] = (),
                 transients: int | Sequence[Transient | tuple[float, float, float]] = 0,
                 hours_since_dusk: float = 0.0, hours_since_dew_onset: float = 0.0,
                 seeing_fwhm_arcsec: float | None = None, object_name: str | None = None,
                 sources: Sequence[tuple[float, float, float, str]] = (),
                 ) -> HDUList:
    """Render one exposure as a FITS file in memory.

    Parameters
    ----------
    site, telescope : Site, Telescope
        Where and with what; the pixel scale is the telescope's field of view
        over ``shape[1]`` (a binned camera).
    ra_deg, dec_deg : float
        Requested pointing (ICRS); the frame is centred a few arcsec away.
    filter : str
        Any filter of :mod:`simulator.bands`.
    exposure_s : float
    start : datetime
        Shutter opening (naive means UTC).
    conditions : Conditions
        Weather during the exposure; a closed dome gives a dark frame.
    altitude_deg : float
        Target altitude at mid-exposure (sets the airmass).
    sky_mag_arcsec2 : float
        Sky brightness in ``filter`` at the target.
    zero_point_mag : float, optional
        Magnitude giving 1 e-/s including all losses (``Outcome.zero_point_mag``);
        computed from the site effects and conditions when omitted.
    seed : int
        Seeds the pointing error, PSF shape, noise, transients and artefacts,
        together with the site, telescope and ``start`` (two exposures never
        share their noise).
    shape : tuple of int
        (rows, columns).
    artefacts : sequence of str
        Kinds from :data:`ARTEFACT_KINDS` to inject.
    transients : int or sequence
        A number of new point sources at random places (``limit - 5`` to
        ``limit - 1`` mag), or explicit :class:`Transient` / ``(ra, dec, mag)``.
    hours_since_dusk, hours_since_dew_onset : float
        Drive the zero-point drift and dew (when the zero point is computed here;
        dew halos always).
    seeing_fwhm_arcsec : float, optional
        Delivered FWHM; by default from the zenith seeing, airmass, filter, wind
        and the site's vibration.
    object_name : str, optional
        ``OBJECT``; the pointing when omitted.
    sources : sequence of (ra_deg, dec_deg, mag, kind)
        More point sources absent from the catalogue, at their magnitude in
        ``filter`` (B-V 0.65): a programme star (kind ``target``) or the sky's
        transients (their kind, e.g. ``supernova``). They are in ``TRUTH`` with
        that kind (``is_transient`` 0 for a target).

    Returns
    -------
    astropy.io.fits.HDUList
        Primary image plus ``TRUTH``, ``GALAXIES`` and ``ARTEFACTS`` tables.
    """
    kinds = check_kinds(artefacts)
    if not exposure_s > 0:
        raise ValueError(f"exposure_s must be positive, got {exposure_s}")
    h, w = (int(v) for v in shape)
    if min(h, w) < 16:
        raise ValueError(f"shape must be at least 16 x 16, got {shape}")
    band(filter)
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    mjd = start.timestamp() / 86400.0 + 40587.0
    cam: Camera = camera_for(telescope)
    scale = telescope.field_of_view_arcmin * 60.0 / w
    x_air = float(min(_airmass(altitude_deg), 40.0))

    shot = (site.name, telescope.name, str(round(start.timestamp() * 1000)))

    def rng(*purpose: str) -> np.random.Generator:
        """This exposure's stream for ``purpose``: keyed by seed, site, telescope and time."""
        return stream(seed, "frame", *shot, *purpose)

    geo = rng("geometry").standard_normal(5)
    d_ra, d_dec = geo[0] * _POINTING_ERR_ARCSEC, geo[1] * _POINTING_ERR_ARCSEC
    rotation = float(geo[2] * _ROTATION_ERR_DEG)
    cos_dec = max(math.cos(math.radians(dec_deg)), 1e-3)
    centre = ((ra_deg + d_ra / 3600.0 / cos_dec) % 360.0, dec_deg + d_dec / 3600.0)
    wcs = make_wcs(centre, scale, rotation, (h, w))

    fwhm = seeing_fwhm_arcsec if seeing_fwhm_arcsec is not None else float(delivered_seeing(
        conditions.seeing_arcsec, x_air, filter, vibration_arcsec=site.effects.vibration_arcsec,
        wind_m_s=conditions.wind_m_s))
    fwhm_px = max(fwhm / scale, 0.5)
    vib_angle = float(stream(0, "vibration", site.name).uniform(0.0, math.pi))
    ellip = min(0.25, abs(0.03 + 0.015 * geo[3]) + 0.2 * site.effects.vibration_arcsec / fwhm)
    psf = PSF(fwhm_px, ellip, vib_angle + 0.2 * float(geo[4]))
    art = rng("artefacts", "psf").random(8)
    if "defocus" in kinds:
        psf = PSF(fwhm_px, 0.0, 0.0, donut_outer_px=float(3.0 + fwhm_px * (2.5 + 4.0 * art[0])),
                  donut_inner_frac=float(0.3 + 0.2 * art[1]))

    zp_e = (zero_point_mag if zero_point_mag is not None and math.isfinite(zero_point_mag)
            else zero_point_e(site, telescope, filter, x_air, conditions, hours_since_dusk,
                              hours_since_dew_onset))
    light = 1.0 if conditions.open else 0.0
    cterm = 2.0 * site.effects.colour_tint * (band(filter).wavelength_nm - 550.0) / 250.0
    sky_e = (_photons_mag0(telescope, filter) * 10.0 ** (-0.4 * sky_mag_arcsec2) * scale**2
             * exposure_s * light)
    noise_e = math.sqrt(sky_e + cam.read_noise_e**2)
    npix = max(math.pi * fwhm_px**2, 1.0)
    f5 = 12.5 + math.sqrt(156.25 + 25.0 * npix * noise_e**2)          # SNR 5 in ~1 FWHM
    limit_mag = zp_e + 2.5 * math.log10(exposure_s / f5)
    depth = limit_mag + 1.0

    radius = math.hypot(h, w) / 2.0 * scale / 3600.0 + 0.01
    colour_margin = 1.2 if band(filter).wavelength_nm > 600 else 0.4
    stars = stars_in_field(centre[0], centre[1], radius,
                           mag_limit=min(depth + colour_margin, RENDER_DEPTH_CAP, FAINT_LIMIT))
    mags = stars.mag_in(filter)
    keep = mags <= depth
    sx, sy = world_to_pixel(wcs, stars.ra_deg[keep], stars.dec_deg[keep])
    s_mag, s_bv, s_ids = mags[keep], stars.b_minus_v[keep], stars.ids[keep]
    s_flux = exposure_s * 10.0 ** (-0.4 * (s_mag + cterm * (s_bv - _REF_COLOUR) - zp_e))

    specs = _transients(transients, wcs, (h, w), zp_e, exposure_s, limit_mag,
                        rng("transients"))
    t_kind = ["transient"] * len(specs)
    if "new_source" in kinds:
        ns = _transients(1, wcs, (h, w), zp_e, exposure_s, limit_mag - 2.0,
                         rng("artefacts", "new_source"))
        specs, t_kind = specs + ns, t_kind + ["new_source"]
    for ra_s, dec_s, mag_s, kind_s in sources:
        specs.append((float(ra_s), float(dec_s), float(mag_s)))
        t_kind.append(str(kind_s)[:10])
    t_ra = np.array([s[0] for s in specs])
    t_dec = np.array([s[1] for s in specs])
    t_mag = np.array([s[2] for s in specs])
    tx, ty = world_to_pixel(wcs, t_ra, t_dec)
    t_flux = exposure_s * 10.0 ** (-0.4 * (t_mag - zp_e))

    px = np.concatenate([sx, tx])
    py = np.concatenate([sy, ty])
    pflux = np.concatenate([s_flux, t_flux]) * light
    track = tracking_trail(kinds, fwhm_px, art)
    if len(track) > 1:
        psf = replace(psf, trail=tuple(track))
    sources = np.zeros((h, w), np.float32)
    add_point_sources(sources, px, py, pflux, psf, wing_threshold=0.3 * noise_e,
                      drop_below=0.05 * noise_e)
    gal = _add_galaxies(sources, wcs, centre, radius, scale, rotation, filter, zp_e, exposure_s,
                        fwhm_px, light)

    dew = _dew_mag(conditions, hours_since_dew_onset)
    if dew > 0.0:
        sources += np.float32(0.6 * (1.0 - 10.0 ** (-0.4 * dew))) * (
            halo(sources, 3.0 * fwhm_px + 4.0) - sources)
    grad = 0.01 + 0.05 * min(max((21.0 - sky_mag_arcsec2) / 4.0, 0.0), 1.0)
    g_ang = float(rng("sky").uniform(0.0, 2.0 * math.pi))
    sky = (np.float32(sky_e) * (1.0 + np.float32(grad * math.cos(g_ang))
                                * np.linspace(-1, 1, w, dtype=np.float32)[None, :]
                                + np.float32(grad * math.sin(g_ang))
                                * np.linspace(-1, 1, h, dtype=np.float32)[:, None]))
    layers = Layers(sources, sky, np.zeros((h, w), np.float32), psf, noise_e, exposure_s)
    n_cr = int(rng("cosmic").poisson(_CR_PER_MPIX_S * exposure_s * h * w / 1e6))
    inject_artefacts(layers, kinds, rng("artefacts", "layers"),
                     natural_cosmic_rays=n_cr)
    if "tracking" in kinds:
        layers.records.append(("tracking", tracking_record(track)))
    if "defocus" in kinds:
        layers.records.append(("defocus", {"donut_radius_px": round(psf.donut_outer_px, 2)}))

    flat = flat_field(site.name, telescope, (h, w), mjd)
    signal = ((layers.sources + layers.sky) * flat).astype(np.float32, copy=False)
    signal += layers.additive + np.float32(cam.dark_e_per_s * exposure_s)
    binning = max(scale / telescope.pixel_scale_arcsec, 1.0)
    saturated = bleed(signal, cam.full_well_e * binning**2)
    image = add_noise(signal, cam.read_noise_e, rng("noise"))
    image *= np.float32(1.0 / cam.gain_e_per_adu)
    image += np.float32(cam.bias_adu)
    if "bad_readout" in kinds:
        layers.records.append(("bad_readout", apply_bad_readout(
            image, rng("artefacts", "readout"),
            noise_e / cam.gain_e_per_adu)))
    np.rint(image, out=image)
    image[saturated] = cam.saturate_adu
    np.clip(image, 0.0, cam.saturate_adu, out=image)
    if "new_source" in kinds:
        i = t_kind.index("new_source")
        layers.records.append(("new_source", {"x": round(float(tx[i]), 2),
                                              "y": round(float(ty[i]), 2),
                                              "mag": round(float(t_mag[i]), 3)}))

    order = {k: i for i, k in enumerate(kinds)}
    records = sorted(layers.records, key=lambda r: order.get(r[0], len(order)))
    point = {"ids": np.concatenate([s_ids, -np.arange(1, len(specs) + 1, dtype=np.int64)]),
             "ra": np.concatenate([stars.ra_deg[keep], t_ra]),
             "dec": np.concatenate([stars.dec_deg[keep], t_dec]),
             "x": px, "y": py, "mag": np.concatenate([s_mag, t_mag]),
             "b_minus_v": np.concatenate([s_bv, np.full(len(specs), _REF_COLOUR)]),
             "flux_adu": pflux / cam.gain_e_per_adu,
             "kind": np.concatenate([np.full(len(s_ids), b"star", dtype="S10"),
                                     np.array(t_kind, dtype="S10")])}
    meta = {
        "site": site, "telescope": telescope, "camera": cam, "ra": ra_deg, "dec": dec_deg,
        "filter": filter, "exposure_s": exposure_s, "start": start, "mjd": mjd,
        "airmass": x_air, "altitude": altitude_deg, "fwhm": fwhm, "sky_mag": sky_mag_arcsec2,
        "scale": scale, "zp_e": zp_e, "sky_e": sky_e, "cterm": cterm, "seed": seed,
        "object": object_name or f"{ra_deg:.4f}{dec_deg:+.4f}", "ellip": ellip,
        "depth": depth, "limit": limit_mag, "dew": dew, "open": conditions.open,
        "cloud": conditions.cloud_cover, "d_ra": d_ra, "d_dec": d_dec,
        "rotation": rotation, "n_cr": n_cr,
    }
    return build_hdus(image, wcs, meta, point, gal, records)


def _add_galaxies(image, wcs, centre, radius, scale, rotation, filter, zp_e, exposure_s,
                  fwhm_px, light) -> dict[str, np.ndarray | list]:
    from simulator.psf import add_sersic

    gals = galaxies_in_field(centre[0], centre[1], radius + 1.6)
    cos_sep = (np.sin(np.radians(centre[1])) * np.sin(np.radians(gals.dec_deg))
               + np.cos(np.radians(centre[1])) * np.cos(np.radians(gals.dec_deg))
               * np.cos(np.radians(gals.ra_deg - centre[0])))
    sep = np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0)))
    keep = np.flatnonzero(sep < radius + gals.major_arcmin / 120.0)
    x, y = world_to_pixel(wcs, gals.ra_deg[keep], gals.dec_deg[keep])
    mags = gals.mag_in(filter)[keep]
    for k, i in enumerate(keep):
        flux = exposure_s * 10.0 ** (-0.4 * (mags[k] - zp_e)) * light
        semi = gals.major_arcmin[i] * 30.0 / scale
        q = gals.minor_arcmin[i] / gals.major_arcmin[i]
        pa = math.radians(gals.pa_deg[i] + rotation)
        angle = math.atan2(math.cos(pa), -math.sin(pa))
        n = float(gals.sersic_n[i])
        r_e = semi * (0.3 if n >= 4 else 0.35 if n > 1 else 0.45)
        disc = 0.8 if n == 1.0 else 1.0
        add_sersic(image, x[k], y[k], flux * disc, r_e, n, q, angle, soften_px=0.6 * fwhm_px)
        if disc < 1.0:   # a spiral's bulge
            add_sersic(image, x[k], y[k], flux * (1 - disc), 0.12 * r_e, 4.0, min(1.0, q + 0.3),
                       angle, soften_px=0.6 * fwhm_px)
    return {"names": [gals.names[i] for i in keep], "ra": gals.ra_deg[keep],
            "dec": gals.dec_deg[keep], "x": x, "y": y, "mag": mags,
            "major": gals.major_arcmin[keep], "minor": gals.minor_arcmin[keep],
            "pa": gals.pa_deg[keep], "n": gals.sersic_n[keep]}


def frame_for_observation(simulated_site: SimulatedSite, observation: Observation, *,
                          seed: int, shape: tuple[int, int] = (1024, 1024),
                          artefacts: Sequence[str] = (),
                          transients: int | Sequence[Transient | tuple[float, float, float]] = 0,
                          object_name: str | None = None, sky_transients: bool = False,
                          ) -> HDUList:
    """Render the frame of an :class:`~simulator.site.Observation` of ``simulated_site``.

    Conditions, altitude, sky brightness, zero point and seeing come from the
    observation and its outcome; hours since dusk and since dew onset from the
    site at mid-exposure.

    When ``object_name`` is a programme star (a generated variable star of the
    site's run seed, :func:`simulator.variability.programme_star`), it is drawn
    at the observation's target position at its magnitude at mid-exposure.
    With ``sky_transients`` the transients of the simulated sky
    (:attr:`SimulatedSite.transients`) that exist in the field at mid-exposure
    are drawn too, at their magnitude in the filter.

    Returns
    -------
    astropy.io.fits.HDUList
    """
    from simulator.variability import programme_star
    from simulator.weather import hours_since_dew_onset

    site = simulated_site.site
    scope = simulated_site.telescopes[observation.telescope]
    out = observation.outcome
    mid = observation.exposure_start.timestamp() + observation.exposure_s / 2.0
    sky = out.sky_mag_arcsec2
    if not math.isfinite(sky):
        sky = simulated_site.sky_brightness(observation.ra_deg, observation.dec_deg,
                                            observation.exposure_start, observation.filter)
    zp = out.zero_point_mag if math.isfinite(out.zero_point_mag) else None
    sources: list[tuple[float, float, float, str]] = []
    star = programme_star(simulated_site.seed, object_name)
    if star is not None:
        sources.append((observation.ra_deg, observation.dec_deg,
                        star.magnitude(mid, observation.filter), "target"))
    if sky_transients:
        h, w = (int(v) for v in shape)
        radius = math.hypot(h, w) / 2.0 * scope.field_of_view_arcmin / 60.0 / w
        for t in simulated_site.transients.active(
                mid, ra_deg=observation.ra_deg, dec_deg=observation.dec_deg,
                radius_deg=radius, filter=observation.filter, max_mag=RENDER_DEPTH_CAP + 1.0):
            sources.append((t.ra_deg, t.dec_deg, t.mag(observation.filter, mid), t.kind))
    return render_frame(
        site, scope, ra_deg=observation.ra_deg, dec_deg=observation.dec_deg,
        filter=observation.filter, exposure_s=observation.exposure_s,
        start=observation.exposure_start, conditions=observation.conditions,
        altitude_deg=observation.altitude_deg, sky_mag_arcsec2=sky, zero_point_mag=zp,
        seed=seed, shape=shape, artefacts=artefacts, transients=transients,
        hours_since_dusk=simulated_site.ephemeris.hours_since_dusk(mid),
        hours_since_dew_onset=hours_since_dew_onset(site, mid),
        seeing_fwhm_arcsec=out.seeing_arcsec, object_name=object_name, sources=sources)
