"""The loose candidate set the vetting model scores, and the pipeline that uses it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.vetting.evaluate import calibration, equal_error_threshold, rates
from site_node.edge.frame import load_frame
from site_node.edge.pipeline import EdgePipeline
from site_node.edge.quality import measure_quality
from site_node.edge.sources import extract_sources
from site_node.edge.synthetic import simulated_frame
from site_node.edge.transients import (
    CUTOUT,
    FEATURE_NAMES,
    Reference,
    find_transients,
    search_candidates,
)


def _inputs(hdul):
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    return frame, ext, quality


@pytest.fixture(scope="module")
def pair():
    ref = simulated_frame(seed=21, seeing_arcsec=1.3, shape=(512, 512))
    new = simulated_frame(seed=22, seeing_arcsec=1.8, shape=(512, 512), transients=4,
                          artefacts=("cosmic_rays",))
    frame, ext, quality = _inputs(ref)
    reference = Reference(image=ext.image, header=frame.wcs.to_header(relax=True),
                          fwhm_px=quality.fwhm_px, zero_point=None, exptime=frame.exptime,
                          rms=ext.rms, gain=frame.gain,
                          saturation=frame.saturate - ext.background)
    frame, ext, quality = _inputs(new)
    kwargs = {"fwhm_px": quality.fwhm_px, "zero_point": None, "exptime": frame.exptime,
              "rms": ext.rms, "gain": frame.gain,
              "saturation": frame.saturate - ext.background, "reference": reference,
              "objects": ext.objects, "bad_columns": ext.bad_columns}
    return ext.image, frame.wcs, kwargs, new


def test_loose_candidates_contain_the_hand_cut_ones_with_cutouts_and_features(pair) -> None:
    image, wcs, kwargs, _ = pair
    hand, _ = find_transients(image, wcs, **kwargs)
    loose, notes = search_candidates(image, wcs, **kwargs)
    assert len(loose) > len(hand) > 0, notes  # cosmic rays are candidates, cut by hand
    assert loose.stamps.shape == (len(loose), 3, CUTOUT, CUTOUT)
    assert loose.features.shape == (len(loose), len(FEATURE_NAMES))
    assert np.isfinite(loose.stamps).all() and np.isfinite(loose.features).all()
    kept = [c for c in loose.table if c["hand_cuts"]]
    assert [(c["x"], c["y"]) for c in kept] == [(c["x"], c["y"]) for c in hand]
    snr = [c["snr"] for c in loose.table]
    assert snr == sorted(snr, reverse=True) and min(snr) > 5.0
    # the difference channel peaks at the candidate, the brightest one well above noise
    centre = CUTOUT // 2
    assert loose.stamps[0, 2, centre - 1:centre + 2, centre - 1:centre + 2].max() == \
        pytest.approx(loose.stamps[0, 2].max())


def test_hand_cut_features_explain_the_hand_verdict(pair) -> None:
    image, wcs, kwargs, _ = pair
    loose, _ = search_candidates(image, wcs, **kwargs)
    f = {n: loose.features[:, i] for i, n in enumerate(FEATURE_NAMES)}
    rejected = ~loose.hand_cuts
    # a rejected candidate is near an edge, a bad column or saturation, a dipole, or
    # misshapen: at least one of those features is out of the stars' range
    odd = ((f["edge_margins"] <= 1.0) | (f["bad_column"] > 0) | (f["saturation_new"] >= 0.9)
           | (f["saturation_ref"] >= 0.9) | (f["dipole"] > 0.5) | (f["size_ratio"] < 0.6)
           | (f["elongation_excess"] > 0) | (f["peak_ratio"] > 1.0))
    assert odd[rejected].all()


def test_max_candidates_and_no_stamps(pair) -> None:
    image, wcs, kwargs, _ = pair
    few, _ = search_candidates(image, wcs, **kwargs, max_candidates=2, stamps=False)
    assert len(few) == 2 and few.stamps.shape[0] == 0


def test_pipeline_without_vetting_keeps_the_hand_cuts(pair, tmp_path) -> None:
    _, _, _, new = pair
    ref = simulated_frame(seed=21, seeing_arcsec=1.3, shape=(512, 512))
    # no anomaly model (empty models_dir): the reference is stored whatever it scores
    pipeline = EdgePipeline(tmp_path, vetting=None)
    assert pipeline.analyze(ref).reference == "stored"
    result = pipeline.analyze(new)
    assert result.vetting_model is None and result.rejected_transients == []
    assert result.transients and all("real_bogus" not in c for c in result.transients)


def test_unloadable_vetting_model_falls_back_with_a_warning(tmp_path, pair) -> None:
    bad = tmp_path / "vetting-v9.onnx"
    bad.write_bytes(b"not onnx")
    (tmp_path / "vetting-v9.json").write_text(json.dumps({"sha256": "0" * 64}))
    pipeline = EdgePipeline(vetting=bad)
    assert pipeline.vetting is None
    result = pipeline.analyze(simulated_frame(seed=31, seeing_arcsec=1.3, shape=(256, 256)))
    assert any("vetting model vetting-v9.onnx not loaded" in w and "SHA-256" in w
               for w in result.warnings)


def test_equal_error_threshold_and_rates() -> None:
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.4, 0.8])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    t = equal_error_threshold(p, y)
    r = rates(p, y, t)
    assert r["fnr"] == r["fpr"] == 0.25 and r["max_fnr_fpr"] == 0.25
    perfect = equal_error_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert 0.2 < perfect < 0.8


def test_calibration_error_is_zero_when_probabilities_match_frequencies() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)
    assert calibration(p, y)["ece"] < 0.01
    assert calibration(np.clip(p * 0.5 + 0.5, 0, 1), y)["ece"] > 0.2  # over-confident
