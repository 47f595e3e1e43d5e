"""Star and galaxy cutouts as each site's telescope records them (the domain task's data).

Each simulated exposure of a site (its r-band telescope, at its native pixel scale)
draws conditions the way the frame renderer does (:mod:`simulator.frames`): zenith
seeing around the site's median, airmass 1-2, wind, the delivered FWHM with the
site's vibration (:func:`simulator.outcome.delivered_seeing`), the PSF's
ellipticity and vibration direction, the sky of the site's dark sky, the camera's
gain and read noise, and dew halos on humid nights after the site's dew onset.
It then yields :data:`PER_EXPOSURE` cutouts of :data:`SIZE` x :data:`SIZE` pixels,
half stars (a pixel-integrated Moffat, :class:`simulator.psf.PSF`) and half
galaxies (a Sersic profile, exponential or de Vaucouleurs, of effective radius
0.4-3 arcsec, convolved with the same PSF), r = 16-19.5, with photon, sky and read
noise; with each, a bright star (r = 15.5) of the same exposure shows the PSF (as a
site node knows it from the frame's stars): without it, a star in poor seeing and a
small galaxy in good seeing look alike. The label is the truth: 1 for a galaxy.

:func:`~models.calibration.serve.preprocess` (shared by training and serving)
subtracts the border median and divides by the flux in the central 7x7 pixels,
giving scale-free images.
Sites differ in pixel scale (0.30-0.67 arcsec), seeing, vibration (elongated
stars at Hanle), sky and dew: the domain shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from control_center.network import Site, load_network
from control_center.plugin_api.types import Conditions
from models.calibration.serve import preprocess
from models.calibration.simulate import telescope_for
from simulator._seeding import stream
from simulator.artefacts import halo
from simulator.detector import camera_for
from simulator.frames import _dew_mag, zero_point_e
from simulator.outcome import READ_NOISE_E, delivered_seeing
from simulator.psf import PSF, add_point_sources, add_sersic

__all__ = ["PER_EXPOSURE", "SIZE", "CutoutSet", "preprocess", "site_cutouts"]

SIZE = 25
"""Cutout side (pixels)."""
PER_EXPOSURE = 16
_BAND = "r"
_EXPOSURE_S = 60.0
_REFERENCE_MAG = 15.5


@dataclass(frozen=True)
class CutoutSet:
    """Preprocessed cutouts (n, 2, SIZE, SIZE) float32 (the source, and a bright star of
    the same exposure showing its PSF), labels (n,) int64 (1 = galaxy),
    the site index of each (n,), and truth per cutout: magnitude, FWHM (arcsec) and
    galaxy effective radius (arcsec; 0 for stars)."""

    x: np.ndarray
    label: np.ndarray
    domain: np.ndarray
    mag: np.ndarray
    fwhm: np.ndarray
    r_eff: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def take(self, idx: np.ndarray) -> CutoutSet:
        return CutoutSet(*(a[idx] for a in (self.x, self.label, self.domain, self.mag,
                                            self.fwhm, self.r_eff)))

    @staticmethod
    def join(parts: list[CutoutSet]) -> CutoutSet:
        return CutoutSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                           ("x", "label", "domain", "mag", "fwhm", "r_eff")))


def _psf_kernel(psf: PSF) -> np.ndarray:
    k = np.zeros((SIZE, SIZE), np.float32)
    add_point_sources(k, np.array([SIZE // 2], float), np.array([SIZE // 2], float),
                      np.array([1.0]), psf, wing_threshold=1e-4)
    return k


def _exposure(site: Site, domain: int, seed: int, k: int) -> tuple[np.ndarray, ...]:
    from scipy.signal import fftconvolve

    scope = telescope_for(site, _BAND)
    cam = camera_for(scope)
    rng = stream(seed, "calibration-cutouts", site.name, str(k))
    scale = scope.pixel_scale_arcsec
    seeing = site.climate.median_seeing_arcsec * math.exp(0.3 * rng.standard_normal())
    airmass = float(rng.uniform(1.0, 2.0))
    wind = float(site.climate.median_wind_m_s * math.exp(0.4 * rng.standard_normal()))
    humidity = float(rng.uniform(0.1, 0.7))
    dew_hours = float(rng.uniform(0, 3)) if site.effects.dew_onset_local_hour is not None \
        and rng.random() < 0.3 else 0.0
    fwhm = float(delivered_seeing(seeing, airmass, _BAND,
                                  vibration_arcsec=site.effects.vibration_arcsec, wind_m_s=wind))
    fwhm_px = max(fwhm / scale, 0.5)
    geo = rng.standard_normal(2)
    vib_angle = float(stream(0, "vibration", site.name).uniform(0.0, math.pi))
    ellip = min(0.25, abs(0.03 + 0.015 * geo[0]) + 0.2 * site.effects.vibration_arcsec / fwhm)
    psf = PSF(fwhm_px, ellip, vib_angle + 0.2 * float(geo[1]))
    cond = Conditions(cloud_cover=0.0, humidity=humidity, wind_m_s=wind, seeing_arcsec=seeing,
                      sky_v_mag_arcsec2=site.climate.dark_sky_v_mag_arcsec2, open=True)
    zp_e = zero_point_e(site, scope, _BAND, airmass, cond, float(rng.uniform(0, 8)), dew_hours)
    sky_mag = site.climate.dark_sky_v_mag_arcsec2 - 0.5 + float(rng.uniform(-0.8, 0.2))
    from simulator.frames import _photons_mag0
    sky_e = _photons_mag0(scope, _BAND) * 10 ** (-0.4 * sky_mag) * scale**2 * _EXPOSURE_S
    dew = _dew_mag(cond, dew_hours)
    kernel = _psf_kernel(psf)
    n = PER_EXPOSURE
    labels = (np.arange(n) % 2).astype(np.int64)
    mags = rng.uniform(16.0, 19.5, n)
    r_eff = np.where(labels == 1, np.exp(rng.uniform(math.log(0.4), math.log(3.0), n)), 0.0)
    c = SIZE // 2

    def render(galaxy: bool, mag: float, r_e: float) -> np.ndarray:
        flux = _EXPOSURE_S * 10 ** (-0.4 * (mag - zp_e))
        dx, dy = rng.uniform(-0.5, 0.5, 2)
        img = np.zeros((SIZE, SIZE), np.float32)
        if galaxy:
            gal = np.zeros((SIZE, SIZE), np.float32)
            sersic = 1.0 if rng.random() < 0.6 else 4.0
            add_sersic(gal, c + dx, c + dy, 1.0, r_e / scale, sersic,
                       float(rng.uniform(0.3, 1.0)), float(rng.uniform(0, math.pi)),
                       soften_px=0.3)
            img += np.float32(flux) * fftconvolve(gal, kernel, mode="same").astype(np.float32)
        else:
            add_point_sources(img, np.array([c + dx]), np.array([c + dy]), np.array([flux]),
                              psf, wing_threshold=0.01)
        if dew > 0:
            img += np.float32(0.6 * (1 - 10 ** (-0.4 * dew))) * (halo(img, 3 * fwhm_px + 4)
                                                                  - img)
        signal = np.maximum(img + np.float32(sky_e), 0)
        noisy = signal + np.sqrt(signal + READ_NOISE_E**2) * rng.standard_normal(
            signal.shape).astype(np.float32)
        return noisy / cam.gain_e_per_adu + cam.bias_adu

    reference = render(False, _REFERENCE_MAG, 0.0)     # the exposure's PSF star
    out = np.empty((n, 2, SIZE, SIZE), np.float32)
    for i in range(n):
        out[i, 0] = render(bool(labels[i]), float(mags[i]), float(r_eff[i]))
        out[i, 1] = reference
    return (out, labels, np.full(n, domain), mags, np.full(n, fwhm), r_eff)


def site_cutouts(site_name: str, domain: int, *, n: int, seed: int,
                 raw: bool = False) -> CutoutSet:
    """``n`` cutouts (rounded up to whole exposures) of one site, ``domain`` its index."""
    site = load_network().site(site_name)
    parts = [_exposure(site, domain, seed, k) for k in range(-(-n // PER_EXPOSURE))]
    x, label, dom, mag, fwhm, r_eff = (np.concatenate(p) for p in zip(*parts, strict=True))
    return CutoutSet(x if raw else preprocess(x[:, 0], x[:, 1]), label, dom, mag, fwhm, r_eff)
