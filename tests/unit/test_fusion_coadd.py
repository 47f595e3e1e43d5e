"""Image coaddition: proper coaddition (Zackay & Ofek 2017) against weighted sums."""

from __future__ import annotations

import numpy as np
import pytest

from models.fusion import coadd as co


def _field(seed: int):
    shape = (128, 128)
    psfs = [co.gaussian_psf(shape, 2.5), co.moffat_psf(shape, 4.0), co.gaussian_psf(shape, 8.0)]
    sigmas, fluxes = [1.0, 0.7, 0.4], [1.0, 0.8, 1.3]
    grid = np.arange(8, 128, 16)
    pos = np.array([(a, b) for a in grid for b in grid])
    images, noise = co.simulate_field(shape, psfs, sigmas, fluxes, pos, 15.0, seed)
    return images, noise, psfs, sigmas, fluxes, pos


def test_proper_coadd_beats_weighted_sums_when_seeing_differs() -> None:
    images, noise, psfs, sigmas, fluxes, pos = _field(seed=1)
    snr = {fn.__name__: np.mean(co.matched_filter_snr(fn(images, psfs, sigmas, fluxes),
                                                      fn(noise, psfs, sigmas, fluxes), pos))
           for fn in (co.weighted_sum, co.psf_weighted_sum, co.proper_coadd)}
    # proper coaddition is the sufficient statistic: it beats either weighted sum
    assert snr["proper_coadd"] > 1.05 * max(snr["psf_weighted_sum"], snr["weighted_sum"])
    ideal = np.sqrt(sum((f * 15.0) ** 2 * np.sum(p**2) / s**2
                        for p, s, f in zip(psfs, sigmas, fluxes, strict=True)))
    assert snr["proper_coadd"] == pytest.approx(ideal, rel=0.1)


def test_proper_coadd_noise_is_white_with_unit_variance() -> None:
    _, noise, psfs, sigmas, fluxes, _ = _field(seed=2)
    r = co.proper_coadd(noise, psfs, sigmas, fluxes)
    assert np.std(r.image) == pytest.approx(1.0, rel=0.03)
    assert r.psf.sum() == pytest.approx(1.0)


def test_single_image_coadds_agree() -> None:
    images, noise, psfs, sigmas, fluxes, pos = _field(seed=3)
    args = ([images[0]], [psfs[0]], [sigmas[0]], [fluxes[0]])
    nargs = ([noise[0]], *args[1:])
    a = co.matched_filter_snr(co.proper_coadd(*args), co.proper_coadd(*nargs), pos)
    b = co.matched_filter_snr(co.weighted_sum(*args), co.weighted_sum(*nargs), pos)
    assert np.mean(a) == pytest.approx(np.mean(b), rel=0.05)


def test_mismatched_inputs_are_rejected() -> None:
    images, _, psfs, sigmas, fluxes, _ = _field(seed=4)
    with pytest.raises(ValueError, match="one length"):
        co.proper_coadd(images, psfs[:2], sigmas, fluxes)
    with pytest.raises(ValueError, match="fwhm"):
        co.gaussian_psf((8, 8), 0.0)
