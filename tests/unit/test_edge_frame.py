"""Bad input to the edge pipeline: a FrameError for nothing to analyse, warnings otherwise.

The documented split (``site_node.edge.pipeline``): not FITS, no image, not
2-D, too small, or no finite pixel raise FrameError with one line naming the
frame; a missing/broken WCS, missing header values, some NaNs or a constant
frame give a result with warnings.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from site_node.edge.pipeline import EdgePipeline, FrameError
from site_node.edge.synthetic import synthetic_frame


@pytest.fixture(scope="module")
def pipeline() -> EdgePipeline:
    return EdgePipeline()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_frame_of_nans_is_a_frame_error(pipeline: EdgePipeline) -> None:
    hdul = fits.HDUList([fits.PrimaryHDU(np.full((128, 128), np.nan, np.float32))])
    with pytest.raises(FrameError) as exc:
        pipeline.analyze(hdul, name="nan.fits")
    assert _one_line(exc) == "nan.fits: no finite pixel (all NaN or infinite)"


def test_not_fits_is_a_frame_error(pipeline: EdgePipeline, tmp_path) -> None:
    path = tmp_path / "notes.fits"
    path.write_text("this is not a FITS file\n")
    with pytest.raises(FrameError) as exc:
        pipeline.analyze(path)
    assert _one_line(exc).startswith("notes.fits: not a readable FITS file")
    with pytest.raises(FrameError, match="no such file"):
        pipeline.analyze(tmp_path / "missing.fits")
    with pytest.raises(FrameError, match="not a readable FITS"):
        pipeline.analyze(b"SIMPLE  =  garbage")


def test_broken_header_is_a_frame_error_or_a_warning(pipeline: EdgePipeline, tmp_path) -> None:
    hdul, _ = synthetic_frame(shape=(128, 128), n_stars=20)
    good = tmp_path / "good.fits"
    hdul.writeto(good)
    raw = bytearray(good.read_bytes())
    # truncate the header in the middle: astropy cannot find its end
    (tmp_path / "truncated.fits").write_bytes(bytes(raw[:1000]))
    with pytest.raises(FrameError) as exc:
        pipeline.analyze(tmp_path / "truncated.fits")
    _one_line(exc)
    # a WCS card that cannot be parsed: analysed, without WCS, with a warning
    broken = hdul[0].header.copy()
    broken["CTYPE1"] = "RA---XYZ"
    result = pipeline.analyze(fits.HDUList([fits.PrimaryHDU(hdul[0].data, broken)]))
    assert result.zero_point is None
    assert any("WCS unusable" in w for w in result.warnings)
    # a non-numeric GAIN: ignored with a warning
    bad_gain = hdul[0].header.copy()
    bad_gain["GAIN"] = "lots"
    result = pipeline.analyze(fits.HDUList([fits.PrimaryHDU(hdul[0].data, bad_gain)]))
    assert any("GAIN" in w for w in result.warnings)


@pytest.mark.parametrize("shape", [(5, 64, 64), (4096,), (32, 32)])
def test_not_a_2d_image_is_a_frame_error(pipeline: EdgePipeline, shape) -> None:
    hdul = fits.HDUList([fits.PrimaryHDU(np.ones(shape, np.float32))])
    with pytest.raises(FrameError) as exc:
        pipeline.analyze(hdul)
    assert "2-D" in _one_line(exc) or "smaller than" in str(exc.value)


def test_no_image_hdu_is_a_frame_error(pipeline: EdgePipeline) -> None:
    table = fits.BinTableHDU.from_columns([fits.Column("a", "E", array=np.ones(3))])
    with pytest.raises(FrameError, match="no image HDU"):
        pipeline.analyze(fits.HDUList([fits.PrimaryHDU(), table]))


def test_all_zero_frame_gives_a_result_with_warnings(pipeline: EdgePipeline) -> None:
    result = pipeline.analyze(fits.HDUList([fits.PrimaryHDU(np.zeros((256, 256), np.float32))]))
    assert result.n_sources == 0 and result.sky_level == 0.0
    assert result.fwhm_arcsec is None and result.zero_point is None
    assert result.anomaly_verdict in ("anomalous", "unscored")
    assert any("constant" in w or "zero" in w for w in result.warnings)
    assert result.to_json()  # JSON-able even with missing values


def test_frame_without_wcs_is_analysed_with_a_warning(pipeline: EdgePipeline) -> None:
    hdul, _ = synthetic_frame(shape=(256, 256), n_stars=60, wcs=False)
    result = pipeline.analyze(hdul)
    assert result.n_sources > 30 and result.fwhm_px is not None
    assert result.fwhm_arcsec is None  # no pixel scale without WCS
    assert result.zero_point is None and result.transients == []
    assert any("no WCS" in w for w in result.warnings)


def test_bare_array_and_bytes_are_accepted(pipeline: EdgePipeline, tmp_path) -> None:
    hdul, _ = synthetic_frame(shape=(256, 256), n_stars=60)
    from_array = pipeline.analyze(np.asarray(hdul[0].data))
    path = tmp_path / "f.fits"
    hdul.writeto(path)
    from_bytes = pipeline.analyze(path.read_bytes())
    assert from_array.n_sources == from_bytes.n_sources
    assert from_bytes.to_dict()["frame"] == "<memory>"
