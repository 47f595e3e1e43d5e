"""Image quality from an extraction: sky, noise, FWHM, ellipticity, source count.

The FWHM comes from a fit to the 7x7-pixel cores of up to 30 bright, isolated,
unsaturated stars (:func:`fit_fwhm`): one circular profile shared by all of
them, each star with its own amplitude, integrated over the pixels (so that
undersampled frames are measured right), for Moffat indices 2.5, 3.5 and 4.5
and a Gaussian; the best-fitting one gives the FWHM. When the fit is not
possible, twice the median half-light radius is used (exact for a Gaussian,
about 20 % high for a Moffat). The ellipticity is the median ``1 - b/a`` of the
same stars (sep's isophotal moments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from site_node.edge.sources import Extraction

__all__ = ["Quality", "fit_fwhm", "measure_quality", "psf_stars"]

MIN_PSF_STARS = 3
"""Fewer usable stars than this and FWHM and ellipticity are not reported."""
_FIT_STARS = 30
_PROFILES: tuple[float | None, ...] = (2.5, 3.5, 4.5, None)
"""Moffat indices tried by :func:`fit_fwhm` (None: a Gaussian)."""


@dataclass(frozen=True)
class Quality:
    """Image quality of one frame (None where it could not be measured)."""

    sky_level: float
    sky_noise: float
    n_sources: int
    fwhm_px: float | None
    fwhm_arcsec: float | None
    ellipticity: float | None
    n_psf_stars: int
    warnings: tuple[str, ...] = ()


def psf_stars(objects: np.ndarray, *, snr_min: float = 20.0, max_stars: int = 200) -> np.ndarray:
    """Indices of the sources fit to measure the PSF.

    Unblended (sep flag 0), unsaturated, ``snr >= snr_min``, with a finite
    half-light radius of at least 0.5 pixel (rejects cosmic rays and hot
    pixels), then the ``max_stars`` brightest whose radius lies within 3 MAD of
    the median (rejects galaxies and trails).
    """
    if len(objects) == 0:
        return np.zeros(0, dtype=np.intp)
    radius = objects["flux_radius"]
    good = ((objects["flag"] == 0) & ~objects["saturated"] & (objects["snr"] >= snr_min)
            & np.isfinite(radius) & (radius >= 0.5))
    idx = np.flatnonzero(good)
    if idx.size == 0:
        return idx
    idx = idx[np.argsort(-objects["flux"][idx], kind="stable")][: 2 * max_stars]
    r = radius[idx]
    med = np.median(r)
    mad = 1.4826 * np.median(np.abs(r - med)) + 0.05 * med
    return idx[np.abs(r - med) <= 3 * mad][:max_stars]


def measure_quality(extraction: Extraction, *,
                    pixel_scale_arcsec: float | None = None) -> Quality:
    """Sky level and noise, source count, FWHM and ellipticity.

    Parameters
    ----------
    extraction : Extraction
        From :func:`~site_node.edge.sources.extract_sources`.
    pixel_scale_arcsec : float, optional
        Converts the FWHM to arcseconds; without it ``fwhm_arcsec`` is None.

    Returns
    -------
    Quality
    """
    objects = extraction.objects
    notes: list[str] = []
    stars = psf_stars(objects)
    fwhm_px = ellipticity = None
    if stars.size >= MIN_PSF_STARS:
        fwhm_px = fit_fwhm(extraction.image, objects["x"][stars[:_FIT_STARS]],
                           objects["y"][stars[:_FIT_STARS]])
        if fwhm_px is None:
            fwhm_px = float(2.0 * np.median(objects["flux_radius"][stars]))
            notes.append("PSF fit failed: FWHM from the half-light radius")
        axis_ratio = objects["b"][stars] / np.maximum(objects["a"][stars], 1e-6)
        ellipticity = float(np.clip(1.0 - np.median(axis_ratio), 0.0, 1.0))
    else:
        notes.append(f"only {stars.size} usable stars: FWHM and ellipticity not measured")
    fwhm_arcsec = None
    if fwhm_px is not None and pixel_scale_arcsec is not None:
        fwhm_arcsec = fwhm_px * pixel_scale_arcsec
    return Quality(sky_level=extraction.background, sky_noise=extraction.rms,
                   n_sources=len(objects), fwhm_px=fwhm_px, fwhm_arcsec=fwhm_arcsec,
                   ellipticity=ellipticity, n_psf_stars=int(stars.size), warnings=tuple(notes))


def fit_fwhm(image: np.ndarray, x: np.ndarray, y: np.ndarray, *, half: int = 3,
             sub: int = 3) -> float | None:
    """FWHM (pixels) of the stars at (x, y) by a shared pixel-integrated profile fit.

    Parameters
    ----------
    image : numpy.ndarray
        Background-subtracted image.
    x, y : numpy.ndarray
        Star centroids (0-based pixels).
    half : int
        Cutouts are ``2 * half + 1`` pixels on a side.
    sub : int
        Sub-pixel samples per axis for the pixel integration.

    Returns
    -------
    float or None
        None with fewer than :data:`MIN_PSF_STARS` stars away from the edges.
    """
    ny, nx = image.shape
    ix, iy = np.rint(x).astype(int), np.rint(y).astype(int)
    ok = (ix >= half) & (iy >= half) & (ix < nx - half) & (iy < ny - half)
    if np.count_nonzero(ok) < MIN_PSF_STARS:
        return None
    ix, iy, x, y = ix[ok], iy[ok], x[ok], y[ok]
    off = np.arange(-half, half + 1)
    yy, xx = np.broadcast_arrays(iy[:, None, None] + off[None, :, None],
                                 ix[:, None, None] + off[None, None, :])
    values = image[yy, xx].reshape(len(x), -1).astype(np.float32)
    s = (np.arange(sub) + 0.5) / sub - 0.5
    dx = (xx - x[:, None, None]).reshape(len(x), -1)[:, :, None, None] + s[None, None, None, :]
    dy = (yy - y[:, None, None]).reshape(len(x), -1)[:, :, None, None] + s[None, None, :, None]
    r2 = (dx**2 + dy**2).reshape(len(x), values.shape[1], sub * sub).astype(np.float32)
    best: tuple[float, float] | None = None
    for beta in _PROFILES:
        w, cost = _best_width(values, r2, beta)
        if best is None or cost < best[1]:
            best = (w, cost)
    return None if best is None or not math.isfinite(best[0]) else best[0]


def _profile_cost(values: np.ndarray, r2: np.ndarray, beta: float | None, fwhm: float) -> float:
    """Median over stars of the unexplained fraction of the cutout's power."""
    if beta is None:
        sig2 = (fwhm / 2.354820045) ** 2
        model = np.exp(-0.5 * r2 / sig2).mean(axis=2) / (2 * math.pi * sig2)
    else:
        a2 = (fwhm / (2 * math.sqrt(2 ** (1 / beta) - 1))) ** 2
        model = ((beta - 1) / (math.pi * a2) * (1 + r2 / a2) ** (-beta)).mean(axis=2)
    amp = (values * model).sum(axis=1) / (model * model).sum(axis=1)
    amp = np.where(amp > 0, amp, np.nan)
    resid = ((values - amp[:, None] * model) ** 2).sum(axis=1) / (values**2).sum(axis=1)
    return float(np.nanmedian(resid)) if np.isfinite(resid).any() else math.inf


def _best_width(values: np.ndarray, r2: np.ndarray, beta: float | None) -> tuple[float, float]:
    """Grid then golden-section search of the FWHM (log scale, 0.5 to 30 px, ~0.5 %)."""
    grid = np.linspace(math.log(0.5), math.log(30.0), 12)
    costs = [_profile_cost(values, r2, beta, math.exp(g)) for g in grid]
    k = int(np.argmin(costs))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc = _profile_cost(values, r2, beta, math.exp(c))
    fd = _profile_cost(values, r2, beta, math.exp(d))
    for _ in range(10):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = _profile_cost(values, r2, beta, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = _profile_cost(values, r2, beta, math.exp(d))
    w = math.exp((a + b) / 2)
    return w, _profile_cost(values, r2, beta, w)
