"""The shipped real/bogus vetting model: its files, its check input, and the node using it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from site_node.edge.pipeline import EdgePipeline
from site_node.edge.synthetic import simulated_frame
from site_node.edge.transients import CUTOUT, FEATURE_NAMES
from site_node.edge.vetting import VettingModel, VettingModelRejected, find_vetting_model

SHIPPED = find_vetting_model()


@pytest.fixture(scope="module")
def model() -> VettingModel:
    assert SHIPPED is not None, "models/vetting/vetting-vN.onnx is missing"
    return VettingModel.from_files(SHIPPED)


def test_metadata_follows_the_model_contract(model) -> None:
    meta = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert meta["name"] == "vetting" and meta["version"] == SHIPPED.stem.split("-")[-1]
    assert meta["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    promo = meta["promotion_metric"]
    assert promo["higher_is_better"] is False
    assert promo["value"] == meta["metrics"]["model"]["max_fnr_fpr"]
    assert meta["feature_names"] == list(FEATURE_NAMES) and meta["cutout"] == CUTOUT
    assert 0.0 < model.threshold < 1.0
    assert (SHIPPED.parent / f"{SHIPPED.stem}-reliability.png").stat().st_size > 1000
    assert (SHIPPED.parent / "card.md").is_file()


def test_check_file_reproduces_the_shipped_outputs(model) -> None:
    with np.load(SHIPPED.with_name(SHIPPED.stem + "-check.npz")) as z:
        got = model.score(z["stamps"], z["features"])
        np.testing.assert_allclose(got, z["real_bogus"], atol=1e-5)
        label = z["label"]
    assert ((got >= model.threshold) == (label == 1)).mean() >= 0.75


def test_shipped_model_beats_the_hand_cuts_on_held_out_data() -> None:
    meta = json.loads(SHIPPED.with_suffix(".json").read_text())
    m = meta["metrics"]
    assert m["model"]["max_fnr_fpr"] < m["hand_cuts"]["max_fnr_fpr"]
    assert m["model"]["ece"] <= 0.05


def test_shipped_model_beats_the_previous_one_on_the_same_candidates() -> None:
    meta = json.loads(SHIPPED.with_suffix(".json").read_text())
    m = meta["metrics"]
    if m.get("previous") is None:
        pytest.skip("the shipped model is the first version")
    assert m["model"]["max_fnr_fpr"] < m["previous"]["max_fnr_fpr"]
    assert m["model"]["n_real"] == m["previous"]["n_real"]   # the same honest test set
    assert "S/N" in meta["positives"]


def test_tampered_or_mismatched_models_are_refused(tmp_path) -> None:
    data = SHIPPED.read_bytes()
    meta = json.loads(SHIPPED.with_suffix(".json").read_text())
    with pytest.raises(VettingModelRejected, match="SHA-256"):
        VettingModel(data[:-1] + bytes([data[-1] ^ 1]), meta)
    with pytest.raises(VettingModelRejected, match="features"):
        VettingModel(data, {**meta, "feature_names": ["snr"]})
    with pytest.raises(VettingModelRejected, match="threshold"):
        VettingModel(data, {**meta, "threshold": 1.5})
    with pytest.raises(ValueError, match="do not match"):
        VettingModel(data, meta).score(np.zeros((2, 3, 9, 9)), np.zeros((2, len(FEATURE_NAMES))))


@pytest.fixture(scope="module")
def vetted_frame(tmp_path_factory):
    ref = simulated_frame(seed=21, seeing_arcsec=1.2)
    new = simulated_frame(seed=22, seeing_arcsec=1.5, transients=5, artefacts=("cosmic_rays",))
    # no anomaly model: the reference must be stored whatever that model says of it
    pipeline = EdgePipeline(tmp_path_factory.mktemp("no-anomaly-model"))
    assert pipeline.analyze(ref).reference == "stored"
    return new, pipeline.analyze(new)


def test_node_reports_only_vetted_candidates_and_keeps_the_rejected(model, vetted_frame) -> None:
    _, result = vetted_frame
    assert result.vetting_model == model.model_id and result.reference == "compared"
    assert result.transients, result.warnings
    assert all(c["vetted"] and c["real_bogus"] >= model.threshold for c in result.transients)
    assert result.rejected_transients  # the cosmic-ray shower gives many candidates
    assert all(not c["vetted"] and c["real_bogus"] < model.threshold
               for c in result.rejected_transients)
    json.loads(result.to_json())
    assert "vetting" in result.timings_ms


def test_vetting_finds_the_injected_sources_and_rejects_the_cosmic_rays(vetted_frame) -> None:
    new, result = vetted_frame
    truth = new["TRUTH"].data
    injected = truth[truth["is_transient"] == 1]
    limit = new[0].header["OA_LIM5"]

    def near(cands, x, y):
        return [c for c in cands if np.hypot(c["x"] - x, c["y"] - y) < 2.0]

    for t in injected:
        if t["mag"] < limit - 1.5:
            assert len(near(result.transients, t["x"], t["y"])) == 1, (t, result.transients)
    false = [c for c in result.transients
             if not any(near([c], t["x"], t["y"]) for t in injected)]
    assert len(false) <= 1, false
    assert len(result.rejected_transients) > 10 * max(len(false), 1)
