"""Sky, sources and image quality on synthetic frames with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from site_node.edge.frame import load_frame
from site_node.edge.quality import fit_fwhm, measure_quality
from site_node.edge.sources import bad_column_mask, extract_sources
from site_node.edge.synthetic import synthetic_frame
from site_node.edge.thumbnails import ThumbnailSpec, model_input


def _measure(hdul):
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    return frame, ext, measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)


@pytest.mark.parametrize("fwhm_px", [1.2, 2.5, 4.0])
def test_fwhm_sky_and_noise_are_recovered(fwhm_px: float) -> None:
    hdul, _ = synthetic_frame(shape=(512, 512), n_stars=150, fwhm_px=fwhm_px, sky_adu=800.0,
                              gain=2.0, read_noise_e=5.0, pixel_scale_arcsec=0.5, seed=3)
    _, _ext, q = _measure(hdul)
    assert q.fwhm_px == pytest.approx(fwhm_px, rel=0.05)
    assert q.fwhm_arcsec == pytest.approx(0.5 * fwhm_px, rel=0.05)
    assert q.sky_level == pytest.approx(800.0, rel=0.01)
    expected_noise = np.sqrt(800.0 * 2.0 + 5.0**2) / 2.0
    assert q.sky_noise == pytest.approx(expected_noise, rel=0.05)
    assert q.ellipticity is not None and q.ellipticity < 0.1


def test_every_bright_star_is_found_once() -> None:
    hdul, cat = synthetic_frame(shape=(512, 512), n_stars=80, mag_range=(14.0, 18.0), seed=1)
    _, ext, q = _measure(hdul)
    assert q.n_sources == pytest.approx(80, abs=4)  # a few close pairs blend
    x, y = np.asarray(ext.objects["x"]), np.asarray(ext.objects["y"])
    from astropy.wcs import WCS

    cx, cy = WCS(hdul[0].header).all_world2pix(cat.ra_deg, cat.dec_deg, 0)
    d = np.hypot(cx[:, None] - x[None, :], cy[:, None] - y[None, :]).min(axis=1)
    assert np.mean(d < 1.0) > 0.9


def test_saturated_stars_are_flagged_and_skipped_for_fwhm() -> None:
    hdul, _ = synthetic_frame(shape=(512, 512), n_stars=120, mag_range=(9.0, 19.0),
                              saturate=30000.0, fwhm_px=2.5, seed=2)
    _, ext, q = _measure(hdul)
    assert ext.objects["saturated"].any()
    assert q.fwhm_px == pytest.approx(2.5, rel=0.06)


def test_non_finite_pixels_are_masked_not_fatal() -> None:
    hdul, _ = synthetic_frame(shape=(256, 256), n_stars=40, seed=4)
    hdul[0].data[10:20, :] = np.nan
    hdul[0].data[100, 100] = np.inf
    frame, _ext, q = _measure(hdul)
    assert frame.mask is not None and frame.mask.sum() == 10 * 256 + 1
    assert any("non-finite" in w for w in frame.warnings)
    assert np.isfinite(q.sky_level) and q.n_sources > 20


def test_hot_columns_are_found_and_masked() -> None:
    hdul, _ = synthetic_frame(shape=(512, 512), n_stars=60, seed=5)
    hdul[0].data[:, 100] += 300.0
    hdul[0].data[256:, 300] += 200.0
    bad = bad_column_mask(hdul[0].data.astype(np.float32))
    assert bad is not None
    assert set(np.flatnonzero(bad.any(axis=0))) == {100, 300}
    assert bad[:200, 300].sum() == 0 and bad[300:, 300].all()
    _, ext, _ = _measure(hdul)
    assert any("bad columns" in w for w in ext.warnings)


def test_fit_fwhm_needs_a_few_stars() -> None:
    assert fit_fwhm(np.zeros((64, 64), np.float32), np.array([1.0]), np.array([1.0])) is None


def test_thumbnails_have_the_spec_shape_and_range() -> None:
    hdul, _ = synthetic_frame(shape=(1000, 700), n_stars=100, seed=6)
    frame, ext, _ = _measure(hdul)
    x = model_input(frame.data, ext.image, ext.background, ext.rms, ext.objects,
                    gain=frame.gain, read_noise_e=5.0)
    spec = ThumbnailSpec()
    assert x.shape == spec.shape == (3, 64, 64) and x.dtype == np.float32
    assert x[0].max() <= spec.light_clip[1] / spec.light_scale
    assert abs(float(np.median(x[1]))) < 0.05  # flat synthetic sky
    assert x[2].max() == pytest.approx(1.0)  # cutouts are peak-normalised
    assert ThumbnailSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unsupported preprocessing"):
        ThumbnailSpec.from_dict({"version": "oa-thumb-v99"})
