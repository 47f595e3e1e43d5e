"""Coaddition of images of one field from sites with different seeing (numpy FFT).

Three coadds of registered images ``M_j = F_j (P_j * T) + noise_j`` (white
Gaussian background noise of standard deviation ``sigma_j``, PSF ``P_j``, flux
scaling ``F_j``):

- :func:`weighted_sum`: flux-normalised images ``M_j / F_j`` summed with
  inverse-variance weights ``F_j^2 / sigma_j^2`` (the plain weighted sum);
- :func:`psf_weighted_sum`: the same with point-source weights
  ``F_j^2 / sigma_j^2 * sum(P_j^2)``, i.e. each image's point-source S/N^2;
- :func:`proper_coadd`: Zackay & Ofek (2017, ApJ 836, 187), eq. 7-8:
  ``R^ = sum_j F_j/sigma_j^2 conj(P^_j) M^_j / sqrt(sum_j F_j^2/sigma_j^2 |P^_j|^2)``,
  a sufficient statistic for point-source detection with white noise, and its
  PSF ``P^_R = sqrt(sum_j F_j^2/sigma_j^2 |P^_j|^2) / F_R``.

:func:`matched_filter_snr` measures the S/N of point sources at known positions
in any coadd, after filtering it with its own PSF, against the standard deviation
of the filtered coadd of a source-free realisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Coadd", "gaussian_psf", "matched_filter_snr", "moffat_psf", "proper_coadd",
           "psf_weighted_sum", "simulate_field", "weighted_sum"]


@dataclass(frozen=True)
class Coadd:
    """A coadded image, its PSF (centred, unit sum) and its flux scaling."""

    image: np.ndarray
    psf: np.ndarray
    flux: float


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.indices(shape, dtype=np.float64)
    return y - shape[0] // 2, x - shape[1] // 2


def gaussian_psf(shape: tuple[int, int], fwhm: float) -> np.ndarray:
    """A centred circular Gaussian PSF of FWHM ``fwhm`` pixels, unit sum."""
    if fwhm <= 0:
        raise ValueError(f"fwhm must be positive, got {fwhm}")
    y, x = _grid(shape)
    s = fwhm / 2.3548
    p = np.exp(-(x**2 + y**2) / (2 * s**2))
    return p / p.sum()


def moffat_psf(shape: tuple[int, int], fwhm: float, beta: float = 3.0) -> np.ndarray:
    """A centred circular Moffat PSF of FWHM ``fwhm`` pixels and index ``beta``, unit sum."""
    if fwhm <= 0 or beta <= 1:
        raise ValueError("fwhm must be positive and beta > 1")
    y, x = _grid(shape)
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    p = (1 + (x**2 + y**2) / alpha**2) ** (-beta)
    return p / p.sum()


def _fft_psf(psf: np.ndarray) -> np.ndarray:
    return np.fft.fft2(np.fft.ifftshift(psf))


def _check(images: list[np.ndarray], psfs: list[np.ndarray], sigmas: list[float],
           fluxes: list[float]) -> None:
    if not (len(images) == len(psfs) == len(sigmas) == len(fluxes)) or not images:
        raise ValueError("images, psfs, sigmas and fluxes must be non-empty and of one length")
    shape = images[0].shape
    for im, p in zip(images, psfs, strict=True):
        if im.shape != shape or p.shape != shape:
            raise ValueError(f"every image and PSF must have shape {shape} (pad the PSFs)")
    if min(sigmas) <= 0 or min(fluxes) <= 0:
        raise ValueError("sigmas and fluxes must be positive")


def _sum(images, psfs, sigmas, fluxes, weights) -> Coadd:
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    image = sum(wj * m / f for wj, m, f in zip(w, images, fluxes, strict=True))
    psf = sum(wj * p for wj, p in zip(w, psfs, strict=True))
    return Coadd(image=image, psf=psf, flux=1.0)


def weighted_sum(images: list[np.ndarray], psfs: list[np.ndarray], sigmas: list[float],
                 fluxes: list[float]) -> Coadd:
    """Flux-normalised images summed with inverse-variance weights ``F^2/sigma^2``."""
    _check(images, psfs, sigmas, fluxes)
    return _sum(images, psfs, sigmas, fluxes,
                [f**2 / s**2 for f, s in zip(fluxes, sigmas, strict=True)])


def psf_weighted_sum(images: list[np.ndarray], psfs: list[np.ndarray], sigmas: list[float],
                     fluxes: list[float]) -> Coadd:
    """Flux-normalised images weighted by their point-source S/N^2, ``F^2 sum(P^2)/sigma^2``."""
    _check(images, psfs, sigmas, fluxes)
    return _sum(images, psfs, sigmas, fluxes,
                [f**2 * np.sum(p**2) / s**2
                 for f, s, p in zip(fluxes, sigmas, psfs, strict=True)])


def proper_coadd(images: list[np.ndarray], psfs: list[np.ndarray], sigmas: list[float],
                 fluxes: list[float]) -> Coadd:
    """Zackay & Ofek (2017) proper coaddition: image ``R`` (white noise), PSF and ``F_R``."""
    _check(images, psfs, sigmas, fluxes)
    num = np.zeros(images[0].shape, dtype=np.complex128)
    den = np.zeros(images[0].shape, dtype=np.float64)
    for m, p, s, f in zip(images, psfs, sigmas, fluxes, strict=True):
        ph = _fft_psf(p)
        num += f / s**2 * np.conj(ph) * np.fft.fft2(m)
        den += f**2 / s**2 * np.abs(ph) ** 2
    root = np.sqrt(np.maximum(den, 1e-300))
    f_r = float(np.sqrt(sum(f**2 / s**2 for f, s in zip(fluxes, sigmas, strict=True))))
    image = np.real(np.fft.ifft2(num / root))
    psf = np.fft.fftshift(np.real(np.fft.ifft2(root / f_r)))
    return Coadd(image=image, psf=psf / psf.sum(), flux=f_r)


def _filtered(coadd: Coadd) -> np.ndarray:
    return np.real(np.fft.ifft2(np.fft.fft2(coadd.image) * np.conj(_fft_psf(coadd.psf))))


def matched_filter_snr(coadd: Coadd, noise_coadd: Coadd, positions: np.ndarray) -> np.ndarray:
    """S/N of point sources at ``positions`` (``(k, 2)`` integer y, x) in a coadd.

    The coadd is cross-correlated with its own PSF; the signal is the filtered
    value at each position and the noise the standard deviation of the filtered
    ``noise_coadd`` (the same coadd of a source-free realisation of the noise).
    """
    pos = np.asarray(positions, dtype=int)
    signal = _filtered(coadd)[pos[:, 0], pos[:, 1]]
    return signal / np.std(_filtered(noise_coadd))


def simulate_field(shape: tuple[int, int], psfs: list[np.ndarray], sigmas: list[float],
                   fluxes: list[float], positions: np.ndarray, source_flux: float,
                   seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Images of point sources at ``positions`` through each site's PSF, plus noise.

    Returns the images with sources and the source-free noise images of an
    independent noise realisation (for the S/N's denominator).
    """
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape)
    pos = np.asarray(positions, dtype=int)
    truth[pos[:, 0], pos[:, 1]] = source_flux
    t_hat = np.fft.fft2(truth)
    images, noise = [], []
    for p, s, f in zip(psfs, sigmas, fluxes, strict=True):
        sky = np.real(np.fft.ifft2(t_hat * _fft_psf(p))) * f
        images.append(sky + rng.normal(0.0, s, shape))
        noise.append(rng.normal(0.0, s, shape))
    return images, noise
