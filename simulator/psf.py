"""Point-spread functions and fast stamp rendering for simulated frames.

A :class:`PSF` is a pixel-integrated elliptical Moffat profile (or, defocused,
a soft-edged donut). Point sources are drawn by adding small stamps: a bank of
``n_sub x n_sub`` sub-pixel-shifted stamps is built once per PSF (each stamp
integrated over its pixels by supersampling and normalised to a sum of 1), each
source picks the stamp nearest its sub-pixel offset (error <= 1/16 px) and all
stamps land in the image through one ``numpy.bincount``. Bright sources get
their own, larger stamp at their exact position so that their wings reach the
sky noise. Extended sources (Sersic galaxies) are drawn on their bounding box.

Coordinates are numpy pixel coordinates: the centre of ``image[0, 0]`` is
``(x, y) = (0, 0)``; ``x`` runs along columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["BETA", "PSF", "add_point_sources", "add_sersic", "sersic_b"]

BETA = 3.5
"""Moffat index: between the atmospheric-turbulence value (4.77) and observed wings (~2.5)."""
_N_SUB = 8
_MAX_HALF = 96
_CHUNK = 4_000_000
_FFT_FACTOR = 2.0
"""Stamps covering more than this many frames' worth of pixels are drawn by FFT instead."""


@dataclass(frozen=True)
class PSF:
    """A point-spread function in pixel units.

    Attributes
    ----------
    fwhm_px : float
        Full width at half maximum (geometric mean of the two axes).
    ellipticity : float
        ``1 - b/a`` of the Moffat core.
    angle_rad : float
        Position angle of the major axis, from +x toward +y.
    beta : float
        Moffat index.
    donut_outer_px : float
        Radius of a defocused donut; 0 means in focus.
    donut_inner_frac : float
        Radius of the central obscuration's shadow, as a fraction of the donut's.
    trail : tuple of (dx, dy, weight)
        Images of the source during the exposure (a tracking error); empty
        means one image at the centre.
    """

    fwhm_px: float
    ellipticity: float = 0.0
    angle_rad: float = 0.0
    beta: float = BETA
    donut_outer_px: float = 0.0
    donut_inner_frac: float = 0.4
    trail: tuple[tuple[float, float, float], ...] = ()

    @property
    def _extent(self) -> int:
        return math.ceil(max((math.hypot(dx, dy) for dx, dy, _ in self.trail), default=0.0))

    @property
    def alpha_px(self) -> float:
        """Moffat core radius: ``FWHM / (2 sqrt(2**(1/beta) - 1))``."""
        return self.fwhm_px / (2.0 * math.sqrt(2.0 ** (1.0 / self.beta) - 1.0))

    @property
    def core_half(self) -> int:
        """Half-width of the standard stamp (4 FWHM, or the donut plus 2 FWHM)."""
        if self.donut_outer_px > 0:
            base = math.ceil(self.donut_outer_px + 2.0 * self.fwhm_px) + 1
        else:
            base = max(3, math.ceil(4.0 * self.fwhm_px))
        return min(_MAX_HALF, base + self._extent)

    @property
    def min_half(self) -> int:
        """Half-width of the stamp of faint sources, whose wings vanish in the noise."""
        if self.donut_outer_px > 0:
            return self.core_half
        return min(self.core_half, max(2, math.ceil(1.5 * self.fwhm_px)) + self._extent)

    def density(self, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """Surface density (per px^2, integrating to ~1) at offsets from the centre."""
        if not self.trail:
            return self._single(dx, dy)
        return sum(w * self._single(dx - ox, dy - oy) for ox, oy, w in self.trail)

    def _single(self, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        if self.donut_outer_px > 0:
            r = np.hypot(dx, dy)
            w = max(0.35 * self.fwhm_px, 0.3)
            ring = (1.0 / (1.0 + np.exp((r - self.donut_outer_px) / w))
                    / (1.0 + np.exp((self.donut_inner_frac * self.donut_outer_px - r) / w)))
            area = math.pi * self.donut_outer_px**2 * (1.0 - self.donut_inner_frac**2)
            return ring / area
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        q = math.sqrt(max(1.0 - self.ellipticity, 0.05))
        a = self.alpha_px
        u = (c * dx + s * dy) * q / a
        v = (-s * dx + c * dy) / (q * a)
        return (self.beta - 1.0) / (math.pi * a * a) * (1.0 + u * u + v * v) ** -self.beta

    def half_for(self, flux: np.ndarray, threshold: float) -> np.ndarray:
        """Stamp half-width at which a source's wing falls to ``threshold`` (per px)."""
        flux = np.asarray(flux, dtype=float)
        if self.donut_outer_px > 0:
            return np.full(flux.shape, self.core_half)
        norm = (self.beta - 1.0) / (math.pi * self.alpha_px**2)
        ratio = np.maximum(flux * norm / threshold, 1.0)
        r = self.alpha_px * np.sqrt(ratio ** (1.0 / self.beta) - 1.0) + self._extent
        return np.clip(np.ceil(r), self.min_half, _MAX_HALF).astype(int)


def _oversample(psf: PSF) -> int:
    if psf.trail or psf.donut_outer_px > 0:   # smooth on the pixel scale anyway
        return 2
    return int(np.clip(math.ceil(4.0 / psf.fwhm_px), 2, 6))


@lru_cache(maxsize=16)
def _bank(psf: PSF, half: int, n_sub: int) -> np.ndarray:
    """Stamps ``(n_sub, n_sub, S, S)`` for sources at sub-pixel offsets ``(k + 0.5)/n - 0.5``."""
    os_ = _oversample(psf)
    s = 2 * half + 1
    sub = (np.arange(os_) + 0.5) / os_ - 0.5
    grid = (np.arange(s) - half)[:, None] + sub[None, :]                # (S, os)
    offs = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    x = grid.reshape(-1)[None, :] - offs[:, None]                      # (n, S*os)
    dy = x[:, None, :, None]
    dx = x[None, :, None, :]
    dens = psf.density(dx, dy).reshape(n_sub, n_sub, s, os_, s, os_).mean(axis=(3, 5))
    dens /= dens.sum(axis=(2, 3), keepdims=True)
    return dens.astype(np.float32)


def _stamp(psf: PSF, x: float, y: float, half: int) -> tuple[np.ndarray, int, int]:
    """One stamp at an exact position; returns it and its pixel centre (ix, iy)."""
    ix, iy = round(x), round(y)
    os_ = min(_oversample(psf), 2)
    sub = (np.arange(os_) + 0.5) / os_ - 0.5
    axis = ((np.arange(2 * half + 1) - half)[:, None] + sub[None, :]).reshape(-1)
    d = psf.density(axis[None, :] - (x - ix), axis[:, None] - (y - iy))
    s = 2 * half + 1
    d = d.reshape(s, os_, s, os_).mean(axis=(1, 3))
    return (d / d.sum()).astype(np.float32), ix, iy


def add_point_sources(image: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray,
                      psf: PSF, *, wing_threshold: float = np.inf,
                      drop_below: float = 0.0) -> None:
    """Add point sources to ``image`` in place.

    Parameters
    ----------
    image : numpy.ndarray
        2-D float array.
    x, y : numpy.ndarray
        Source positions (numpy pixel coordinates); sources whose stamp misses
        the image are skipped.
    flux : numpy.ndarray
        Total counts of each source.
    psf : PSF
    wing_threshold : float
        Counts per pixel (e.g. a fraction of the sky noise) down to which a
        source's wings are drawn: faint sources get a small stamp, bright ones
        their own large stamp.
    drop_below : float
        Sources whose brightest pixel would hold less than this are skipped
        (with a donut or trailed PSF most faint stars vanish in the noise).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    flux = np.asarray(flux, dtype=float)
    h, w = image.shape
    half = psf.core_half
    n_sub = 4 if psf.trail or psf.donut_outer_px > 0 else _N_SUB
    core = _bank(psf, half, n_sub)
    halves = psf.half_for(flux, wing_threshold) if np.isfinite(wing_threshold) \
        else np.full(flux.shape, half)
    near = (x > -halves) & (x < w - 1 + halves) & (y > -halves) & (y < h - 1 + halves)
    if drop_below > 0:
        near &= flux * float(core.max()) >= drop_below
    for k in np.flatnonzero(near & (halves > half)):
        stamp, ix, iy = _stamp(psf, float(x[k]), float(y[k]), int(halves[k]))
        _add_block(image, stamp * np.float32(flux[k]), ix, iy)
    tiers = sorted({psf.min_half, half})
    for lo, hi in zip([-1, *tiers[:-1]], tiers, strict=True):
        sel = near & (halves > lo) & (halves <= hi)
        n = int(sel.sum())
        if n and n * (2 * hi + 1) ** 2 > _FFT_FACTOR * (h + 2 * hi) * (w + 2 * hi) \
                and (psf.trail or psf.donut_outer_px > 0):
            _add_fft(image, x[sel], y[sel], flux[sel], psf, hi)
        elif n:
            _add_bank(image, x[sel], y[sel], flux[sel], _bank(psf, hi, n_sub))


def _add_fft(image: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray, psf: PSF,
             half: int) -> None:
    """Many large stamps at once: sources splatted bilinearly, then one FFT convolution."""
    from scipy import fft

    h, w = image.shape
    hc, wc = fft.next_fast_len(h + 2 * half, real=True), fft.next_fast_len(w + 2 * half, real=True)
    xs, ys = x + half, y + half
    ix, iy = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    fx, fy = xs - ix, ys - iy
    idx, wts = [], []
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            idx.append(np.clip(iy + dy, 0, hc - 1) * wc + np.clip(ix + dx, 0, wc - 1))
            wts.append(flux * wy * wx)
    canvas = np.bincount(np.concatenate(idx), np.concatenate(wts), minlength=hc * wc)
    kernel = np.zeros((hc, wc), np.float32)
    stamp, _, _ = _stamp(psf, 0.0, 0.0, half)
    kernel[:2 * half + 1, :2 * half + 1] = stamp
    kernel = np.roll(kernel, (-half, -half), axis=(0, 1))
    out = fft.irfft2(fft.rfft2(canvas.reshape(hc, wc).astype(np.float32)) * fft.rfft2(kernel),
                     s=(hc, wc))
    image += out[half:half + h, half:half + w]


def _add_block(image: np.ndarray, block: np.ndarray, ix: int, iy: int) -> None:
    half = block.shape[0] // 2
    h, w = image.shape
    y0, y1, x0, x1 = iy - half, iy + half + 1, ix - half, ix + half + 1
    cy0, cy1, cx0, cx1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if cy0 < cy1 and cx0 < cx1:
        image[cy0:cy1, cx0:cx1] += block[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]


def _add_bank(image: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray,
              bank: np.ndarray) -> None:
    n_sub, s = bank.shape[0], bank.shape[2]
    half = s // 2
    h, w = image.shape
    ix = np.rint(x).astype(np.int32)
    iy = np.rint(y).astype(np.int32)
    kx = np.clip(((x - ix + 0.5) * n_sub).astype(np.int32), 0, n_sub - 1)
    ky = np.clip(((y - iy + 0.5) * n_sub).astype(np.int32), 0, n_sub - 1)
    pad = 2 * half
    wp = w + 2 * pad
    offsets = (np.arange(s)[:, None] * wp + np.arange(s)[None, :]).reshape(-1).astype(np.int32)
    size = (h + 2 * pad) * wp
    canvas = None
    per_chunk = max(1, _CHUNK // (s * s))
    for i in range(0, len(x), per_chunk):
        sl = slice(i, i + per_chunk)
        corner = (iy[sl] + half) * wp + ix[sl] + half   # stamp's top-left in the padded canvas
        idx = (corner[:, None] + offsets[None, :]).reshape(-1)
        vals = (bank[ky[sl], kx[sl]].reshape(len(corner), -1)
                * flux[sl, None].astype(np.float32)).reshape(-1)
        part = np.bincount(idx, vals, minlength=size)
        canvas = part if canvas is None else canvas + part
    if canvas is not None:
        image += canvas.reshape(h + 2 * pad, wp)[pad:pad + h, pad:pad + w]


def sersic_b(n: float) -> float:
    """``b_n`` such that the effective radius holds half the light (Ciotti & Bertin 1999)."""
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n)


def add_sersic(image: np.ndarray, x: float, y: float, flux: float, r_eff_px: float, n: float,
               axis_ratio: float, angle_rad: float, *, soften_px: float) -> None:
    """Add a Sersic profile in place, tapered to zero between 0.7 and 1 times its extent
    (4 effective radii for exponential discs, 8 for steeper profiles).

    The profile is softened by ``soften_px`` (about the seeing) in quadrature,
    an inexpensive stand-in for the PSF convolution. When the whole profile
    fits in the image it is normalised numerically to ``flux``; otherwise with
    the analytic total of an unsoftened Sersic profile.
    """
    r_eff_px = max(r_eff_px, 0.3)
    q = min(max(axis_ratio, 0.05), 1.0)
    reach = 4.0 if n <= 1.5 else 8.0
    extent = reach * r_eff_px + 3.0 * soften_px
    h, w = image.shape
    x0, x1 = max(int(x - extent), 0), min(int(x + extent) + 2, w)
    y0, y1 = max(int(y - extent), 0), min(int(y + extent) + 2, h)
    if x0 >= x1 or y0 >= y1:
        return
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(x)
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(y)
    u = c * dx + s * dy
    v = (-s * dx + c * dy) / q
    r = np.sqrt(u * u + v * v + np.float32(soften_px * soften_px)) / np.float32(r_eff_px)
    b = sersic_b(n)
    prof = np.exp(-b * (r ** np.float32(1.0 / n) - 1.0)).astype(np.float32)
    prof *= np.clip((reach - r) / np.float32(0.3 * reach), 0.0, 1.0)
    inside = x - extent >= 0 and y - extent >= 0 and x + extent < w - 1 and y + extent < h - 1
    if inside:
        total = float(prof.sum(dtype=np.float64))
    else:
        total = (2.0 * math.pi * n * r_eff_px**2 * q * math.exp(b) * b ** (-2.0 * n)
                 * math.gamma(2.0 * n))
    if total > 0:
        image[y0:y1, x0:x1] += prof * np.float32(flux / total)
