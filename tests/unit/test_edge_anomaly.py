"""The anomaly scorer at the site: the shipped model, hashes, hot swap, and what it flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from site_node.edge.anomaly import AnomalyScorer, ModelRejected, ModelSlot, sha256_hex
from site_node.edge.pipeline import EdgePipeline, default_models_dir, find_model

MODELS = Path(__file__).resolve().parents[2] / "models" / "anomaly"
ONNX = MODELS / "anomaly-v1.onnx"


def _variant(onnx_bytes: bytes, note: str) -> bytes:
    """The same model with one more metadata entry (protobuf field 14): a new hash."""

    def varint(n: int) -> bytes:
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    key, value = b"note", note.encode()
    entry = b"\x0a" + varint(len(key)) + key + b"\x12" + varint(len(value)) + value
    return onnx_bytes + b"\x72" + varint(len(entry)) + entry


def test_shipped_model_is_found_and_matches_its_metadata() -> None:
    assert default_models_dir() == MODELS
    assert find_model(MODELS) == ONNX
    meta = json.loads(ONNX.with_suffix(".json").read_text())
    assert meta["sha256"] == sha256_hex(ONNX.read_bytes())
    scorer = AnomalyScorer.from_files(ONNX)
    assert scorer.model_id == f"anomaly-v1@{meta['sha256'][:12]}"
    assert scorer.spec.shape == tuple(meta["input"]["shape"][1:])
    assert ONNX.stat().st_size < 5_000_000


def test_shipped_model_reproduces_its_checked_in_output() -> None:
    check = np.load(MODELS / "anomaly-v1-check.npz")
    scorer = AnomalyScorer.from_files(ONNX)
    np.testing.assert_allclose(scorer.reconstruct(check["x"]), check["reconstruction"],
                               atol=1e-5)
    np.testing.assert_allclose(scorer.score_inputs(check["x"]), check["scores"], rtol=1e-4)


def test_hash_mismatch_is_rejected_and_the_old_model_stays() -> None:
    onnx_bytes = ONNX.read_bytes()
    slot = ModelSlot(AnomalyScorer.from_files(ONNX))
    before = slot.current.model_id
    wrong = "0" * 64
    with pytest.raises(ModelRejected) as exc:
        slot.deploy(onnx_bytes, wrong)
    assert wrong in str(exc.value) and sha256_hex(onnx_bytes) in str(exc.value)
    assert slot.current.model_id == before
    meta = json.loads(ONNX.with_suffix(".json").read_text())
    with pytest.raises(ModelRejected, match="SHA-256 mismatch"):
        AnomalyScorer(_variant(onnx_bytes, "tampered"), meta)
    with pytest.raises(ModelRejected, match="not a loadable ONNX"):
        slot.deploy(b"not a model", sha256_hex(b"not a model"))
    assert slot.current.model_id == before


def test_hot_swap_changes_the_model_without_restart(tmp_path: Path) -> None:
    from site_node.edge.synthetic import synthetic_frame

    shutil.copy(ONNX, tmp_path)
    shutil.copy(ONNX.with_suffix(".json"), tmp_path)
    pipeline = EdgePipeline(tmp_path)
    hdul, _ = synthetic_frame(shape=(256, 256), n_stars=50, seed=1)
    first = pipeline.analyze(hdul).anomaly_model
    assert first.startswith("anomaly-v1@")
    new = _variant(ONNX.read_bytes(), "retrained")
    model_id = pipeline.deploy_model("anomaly-v2", new, sha256_hex(new))  # embedded metadata
    assert model_id == f"anomaly-v2@{sha256_hex(new)[:12]}"
    assert pipeline.analyze(hdul).anomaly_model == model_id != first
    # persisted: a restarted node serves the deployed model
    assert (tmp_path / "ACTIVE").read_text() == "anomaly-v2"
    assert EdgePipeline(tmp_path).model_id == model_id
    with pytest.raises(ModelRejected):
        pipeline.deploy_model("../evil", new, sha256_hex(new))


@pytest.fixture(scope="module")
def scored_frames() -> dict[str, list[float]]:
    from site_node.edge.synthetic import simulated_frame

    pipeline = EdgePipeline()
    scores: dict[str, list[float]] = {"normal": [], "satellite": []}
    for seed, seeing in ((1, 0.9), (2, 1.2), (3, 1.6)):
        scores["normal"].append(pipeline.analyze(
            simulated_frame(seed=seed, seeing_arcsec=seeing)).anomaly_score)
    for seed in (4, 5):
        scores["satellite"].append(pipeline.analyze(
            simulated_frame(seed=seed, seeing_arcsec=1.2, artefacts=("satellite",))
        ).anomaly_score)
    return scores


def test_satellite_trails_score_higher_than_normal_frames(scored_frames) -> None:
    assert min(scored_frames["satellite"]) > max(scored_frames["normal"])


def test_normal_frames_are_not_flagged(scored_frames) -> None:
    threshold = json.loads(ONNX.with_suffix(".json").read_text())["threshold"]
    assert max(scored_frames["normal"]) <= threshold
