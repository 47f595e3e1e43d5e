"""The shipped learned fusion (onnxruntime only, no torch): check file, metadata, accuracy."""

from __future__ import annotations

import hashlib
import json

import astropy.units as u
import numpy as np
import pytest

from models.fusion.evaluate import fusion_metrics, gls_estimate
from models.fusion.serve import DEFAULT_MODEL, LearnedFusion
from models.fusion.simulate import simulate


def test_shipped_onnx_reproduces_its_check_file_and_hash() -> None:
    fusion = LearnedFusion()
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest() == meta["sha256"]
    check = np.load(DEFAULT_MODEL.with_name(DEFAULT_MODEL.stem + "-check.npz"))
    np.testing.assert_allclose(fusion.log_factors(check["x"]), check["y"], atol=1e-6)
    assert fusion.metadata["name"] == meta["name"]


def test_learned_fusion_beats_inverse_variance_when_sigmas_are_misreported() -> None:
    data = simulate(3000, seed=12345)
    fusion = LearnedFusion()
    iv = fusion_metrics(data.truth, *gls_estimate(data, data.sigma))
    ours = fusion_metrics(data.truth, *fusion.fuse_set(data))
    assert ours["rmse_mmag"] <= 0.9 * iv["rmse_mmag"]
    # and its own sigma is honest where inverse variance's is not
    assert abs(ours["within_1sigma"] - 0.683) < 0.03
    assert iv["within_1sigma"] < 0.6


def test_learned_fusion_corrects_the_site_that_underreports_in_poor_seeing() -> None:
    fusion = LearnedFusion()
    kw = {"airmass": [1.1, 1.1], "site": [0, 1], "site_stat": [0.0, 0.4]}
    values, sigma = [15.00, 15.10] * u.mag, [0.02, 0.02] * u.mag
    good = fusion.combine(values, sigma, seeing=[0.9, 0.9] * u.arcsec, **kw)
    poor = fusion.combine(values, sigma, seeing=[0.9, 2.5] * u.arcsec, **kw)
    assert poor.weights[1] < 0.5 * good.weights[1]
    assert poor.value.unit == u.mag
    # when site 1's standard stars say it now reports honestly, it keeps its weight
    fixed = fusion.combine(values, sigma, seeing=[0.9, 2.5] * u.arcsec,
                           **dict(kw, site_stat=[0.0, 0.0]))
    assert fixed.weights[1] > 1.5 * poor.weights[1]
    with pytest.raises(ValueError, match="site index"):
        fusion.combine([15.0, 15.1], [0.02, 0.02], [1, 1], [1, 1], site=[0, 7],
                       site_stat=[0, 0])


def test_learned_fusion_matches_inverse_variance_when_sigmas_are_honest() -> None:
    data = simulate(3000, seed=54321, honest=True)
    iv = fusion_metrics(data.truth, *gls_estimate(data, data.sigma))
    ours = fusion_metrics(data.truth, *LearnedFusion().fuse_set(data))
    assert ours["rmse_mmag"] <= 1.02 * iv["rmse_mmag"]
