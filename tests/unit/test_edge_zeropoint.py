"""The zero point against the catalogue: exact on synthetic frames, ~0.05 mag on simulated ones."""

from __future__ import annotations

import pytest

from site_node.edge.pipeline import EdgePipeline
from site_node.edge.synthetic import synthetic_frame


def test_zero_point_of_a_synthetic_frame_is_exact() -> None:
    hdul, cat = synthetic_frame(shape=(512, 512), n_stars=200, zero_point=24.3, fwhm_px=2.2,
                                seed=7)
    result = EdgePipeline(catalogue=cat).analyze(hdul)
    assert result.zero_point == pytest.approx(24.3, abs=0.01)
    assert result.n_zp_stars >= 30
    assert 0 < result.zero_point_err < 0.01


def test_too_few_catalogue_matches_gives_none_with_a_reason() -> None:
    hdul, cat = synthetic_frame(shape=(256, 256), n_stars=3, seed=8)
    result = EdgePipeline(catalogue=cat).analyze(hdul)
    assert result.zero_point is None and result.zero_point_err is None
    assert any("zero point not measured" in w for w in result.warnings)


@pytest.fixture(scope="module")
def simulated_frames():
    from site_node.edge.synthetic import simulated_frame

    return [simulated_frame("la-palma", "palma-1m", filter="r", seeing_arcsec=1.5, seed=1,
                            shape=(1024, 1024)),
            simulated_frame("cerro-pachon", "pachon-0.4m", filter="V", ra_deg=170.0,
                            dec_deg=-20.0, seeing_arcsec=0.8, seed=2, shape=(768, 768)),
            simulated_frame("hanle", "hanle-0.7m", filter="i", ra_deg=280.0, dec_deg=30.0,
                            seeing_arcsec=1.6, exposure_s=120.0, seed=3, shape=(768, 768))]


def test_zero_point_recovers_the_simulator_truth(simulated_frames) -> None:
    pipeline = EdgePipeline()
    for hdul in simulated_frames:
        header = hdul[0].header
        result = pipeline.analyze(hdul)
        assert result.zero_point == pytest.approx(header["OA_ZP"], abs=0.05), header["TELESCOP"]
        assert result.n_zp_stars >= 20
        if header["SEEING"] / header["PIXSCALE"] >= 1.2:  # FWHM is measured, not guessed
            assert result.fwhm_arcsec == pytest.approx(header["SEEING"], rel=0.1)
