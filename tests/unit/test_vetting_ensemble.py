"""The averaged vetting networks: one ONNX graph, any batch size, orientation-blind."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.vetting.model import VettingEnsemble, VettingNet
from models.vetting.train import VIEW_OPS, check_onnx, export_onnx
from site_node.edge.transients import CUTOUT, FEATURE_NAMES


def _ensemble(views: int) -> VettingEnsemble:
    torch.manual_seed(0)
    nf = len(FEATURE_NAMES)
    members = [VettingNet(np.zeros(nf), np.ones(nf), width=4).eval() for _ in range(2)]
    model = VettingEnsemble(members, ops=VIEW_OPS[:views]).eval()
    model.temperature.fill_(1.3)
    model.bias.fill_(-0.4)
    return model


def _inputs(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return (rng.normal(size=(n, 3, CUTOUT, CUTOUT)).astype(np.float32),
            rng.normal(size=(n, len(FEATURE_NAMES))).astype(np.float32))


def test_four_rotation_views_make_the_score_independent_of_orientation() -> None:
    stamps, feats = _inputs(6)
    rotated = np.ascontiguousarray(np.rot90(stamps, k=1, axes=(-2, -1)))
    with torch.no_grad():
        four = _ensemble(4)
        a = four(torch.from_numpy(stamps), torch.from_numpy(feats)).numpy()
        b = four(torch.from_numpy(rotated), torch.from_numpy(feats)).numpy()
        one = _ensemble(1)
        c = one(torch.from_numpy(stamps), torch.from_numpy(feats)).numpy()
        d = one(torch.from_numpy(rotated), torch.from_numpy(feats)).numpy()
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert np.max(np.abs(c - d)) > 1e-4   # a single view is not


def test_exported_ensemble_matches_torch_for_any_batch_size() -> None:
    model = _ensemble(4)
    onnx_bytes = export_onnx(model, {"name": "vetting", "version": "v0"})
    for n in (1, 5, 300):
        stamps, feats = _inputs(n)
        assert check_onnx(onnx_bytes, model, stamps, feats) < 1e-4


def test_ensemble_needs_members_and_valid_views() -> None:
    with pytest.raises(ValueError, match="ops"):
        VettingEnsemble([], ops=(0,))
    nf = len(FEATURE_NAMES)
    with pytest.raises(ValueError, match="ops"):
        VettingEnsemble([VettingNet(np.zeros(nf), np.ones(nf), width=4)], ops=(9,))
