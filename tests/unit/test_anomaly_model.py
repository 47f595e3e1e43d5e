"""The anomaly model's definition, training, export and metrics (torch tests skip without it)."""

from __future__ import annotations

import numpy as np
import pytest

from models.anomaly.evaluate import auroc, evaluate, fpr_at_tpr


def test_auroc_and_fpr_at_tpr() -> None:
    normal = np.arange(100.0)
    assert auroc(normal, normal + 1000) == 1.0
    assert auroc(normal + 1000, normal) == 0.0
    assert auroc(normal, normal) == pytest.approx(0.5)
    # 95 % of anomalies above 50: the threshold sits at the anomalies' 5th percentile
    anomalous = np.concatenate([np.full(95, 200.0), np.full(5, 10.0)])
    assert fpr_at_tpr(normal, anomalous) == 0.0
    assert fpr_at_tpr(normal, np.full(100, 50.0)) == pytest.approx(0.5)


def test_evaluate_reports_every_kind() -> None:
    kinds = np.array(["normal"] * 50 + ["satellite"] * 10 + ["fog"] * 10)
    scores = np.concatenate([np.linspace(0, 1, 50), np.full(10, 5.0), np.linspace(0, 1, 10)])
    metrics = evaluate(scores, scores, kinds, threshold=0.99)
    assert metrics["n_test_normal"] == 50
    assert metrics["per_kind"]["satellite"]["auroc"] == 1.0
    assert metrics["per_kind"]["satellite"]["recall_at_threshold"] == 1.0
    assert metrics["per_kind"]["fog"]["auroc"] == pytest.approx(0.5, abs=0.1)
    assert set(metrics["per_kind"]["fog"]) >= {"baseline_auroc", "baseline_fpr_at_95tpr"}


def test_augmentations_keep_cutouts_in_their_slots() -> None:
    torch = pytest.importorskip("torch")
    from models.anomaly.train import augment

    x = torch.zeros(1, 3, 64, 64)
    x[0, 2, 0:16, 16:32] = 1.0  # the second bright-star slot of the mosaic
    x[0, 2, 3, 20] = 5.0        # a mark inside it
    for op in range(8):
        y = augment(x, op)
        assert float(y[0, 2, 0:16, 16:32].sum()) == pytest.approx(float(x[0, 2].sum()))
    frame = torch.arange(64.0 * 64).reshape(1, 1, 64, 64).repeat(1, 3, 1, 1)
    seen = {tuple(augment(frame, op)[0, 0, 0, :3].tolist()) for op in range(8)}
    assert len(seen) == 8  # eight distinct symmetries


def test_training_is_seeded_and_export_matches_pytorch() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from models.anomaly.export import check_onnx, export_onnx
    from models.anomaly.train import train_autoencoder
    from site_node.edge.anomaly import AnomalyScorer, sha256_hex
    from site_node.edge.thumbnails import ThumbnailSpec

    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, (48, 3, 64, 64)).astype(np.float32)
    m1, l1 = train_autoencoder(x[:32], x[32:], seed=3, epochs=2, batch=16)
    _, l2 = train_autoencoder(x[:32], x[32:], seed=3, epochs=2, batch=16)
    assert l1 == l2
    from models.anomaly.train import calibrate

    score, threshold = calibrate(m1, x[:32], x[32:], far=0.1)
    assert len(score["channel_scale"]) == 3 and len(score["latent_mean"]) == 32
    meta = {"name": "tiny", "threshold": threshold, "preprocessing": ThumbnailSpec().to_dict(),
            "score": score}
    onnx_bytes = export_onnx(m1, meta, (3, 64, 64))
    assert check_onnx(onnx_bytes, m1, x[:4]) < 1e-4
    scorer = AnomalyScorer(onnx_bytes)  # metadata embedded in the file
    assert scorer.model_id == f"tiny@{sha256_hex(onnx_bytes)[:12]}"
    assert scorer.score_inputs(x[:3]).shape == (3,)


def test_v2_training_drops_the_difference_channel_and_scores_without_it() -> None:
    pytest.importorskip("torch")
    from models.anomaly.train import calibrate, train_autoencoder
    from site_node.edge.anomaly import reconstruction_score

    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.2, (40, 8, 64, 64)).astype(np.float32)
    model, _ = train_autoencoder(x[:24], x[24:], seed=0, epochs=1, batch=8, dropout_channel=7)
    score, threshold = calibrate(model, x[:24], x[24:], far=0.1, top_fraction=0.03,
                                 optional_channels=(7,))
    assert score["optional_channels"] == [7] and len(score["log_median"]) == 9
    import torch

    with torch.no_grad():
        recon, z = (t.numpy() for t in model.forward_with_latent(torch.from_numpy(x[24:])))
    with_ref = reconstruction_score(x[24:], recon, score, z)
    x0 = x[24:].copy()
    x0[:, 7] = 0.0
    with torch.no_grad():
        recon0, z0 = (t.numpy() for t in model.forward_with_latent(torch.from_numpy(x0)))
    without = reconstruction_score(x0, recon0, score, z0)
    assert np.all(np.isfinite(with_ref)) and np.all(np.isfinite(without))
    assert np.mean(with_ref > threshold) <= 0.2


@pytest.mark.integration
def test_quick_training_writes_a_servable_model(tmp_path) -> None:
    pytest.importorskip("torch")
    import json

    from models.anomaly.train import main
    from site_node.edge.anomaly import AnomalyScorer

    assert main(["--quick", "--seed", "1", "--out", str(tmp_path), "--workers", "1",
                 "--name", "anomaly-v9"]) == 0
    meta = json.loads((tmp_path / "anomaly-v9.json").read_text())
    assert meta["version"] == "v9" and meta["promotion_metric"]["name"] == "min_auroc_per_kind"
    assert set(meta["metrics"]["per_kind"]) == {"satellite", "ghost"}
    # v3's score is fitted on normal frames only: every kind is held out
    assert meta["tuning"]["kinds"] == [] and meta["tuning"]["held_out_kinds"] == [
        "satellite", "ghost"]
    assert meta["score"]["method"] == "multiscale-residuals"
    scorer = AnomalyScorer.from_files(tmp_path / "anomaly-v9.onnx")
    check = np.load(tmp_path / "anomaly-v9-check.npz")
    np.testing.assert_allclose(scorer.score_inputs(check["x"]), check["scores"], rtol=1e-4)
    assert (tmp_path / "card.md").read_text().count("held out") >= 1
