"""Training the fusion error model (torch; skipped without it): quick, seeded, beats IV."""

from __future__ import annotations

import numpy as np
import pytest

from models.fusion.evaluate import fusion_metrics, gls_estimate
from models.fusion.simulate import set_features, simulate, simulate_states


def test_short_training_beats_inverse_variance_and_exports() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from models.fusion.export import check_onnx, export_onnx
    from models.fusion.train import train_error_model

    torch.set_num_threads(1)
    model, losses = train_error_model(simulate_states(100, 100, 101),
                                      simulate_states(25, 100, 102), seed=0,
                                      epochs=10)
    test = simulate(3000, 103)
    with torch.no_grad():
        f = model(torch.from_numpy(set_features(test))).squeeze(-1).numpy()
    iv = fusion_metrics(test.truth, *gls_estimate(test, test.sigma))
    ours = fusion_metrics(test.truth, *gls_estimate(test, test.sigma * np.exp(f)))
    assert ours["rmse_mmag"] <= 0.9 * iv["rmse_mmag"]
    assert np.isfinite(losses["best_val_nll"])
    x = set_features(test)[test.mask][:256]
    assert check_onnx(export_onnx(model, {"name": "test"}), model, x) < 1e-5
