"""``models.vetting.train --quick``: a toy-size run writes a servable model with its metadata."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from models.vetting import train
from site_node.edge.vetting import VettingModel


def test_quick_training_writes_a_model_the_node_can_serve(tmp_path, capsys) -> None:
    assert train.main(["--quick", "--seed", "3", "--out", str(tmp_path), "--cache", ""]) == 0
    onnx = tmp_path / "vetting-v2.onnx"
    meta = json.loads((tmp_path / "vetting-v2.json").read_text())
    assert meta["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    assert {"name", "version", "metrics", "promotion_metric"} <= set(meta)
    assert meta["version"] == "v2"
    assert meta["promotion_metric"]["name"] == "max_fnr_fpr_at_threshold"
    assert meta["promotion_metric"]["higher_is_better"] is False
    assert 0.0 <= meta["promotion_metric"]["value"] <= 1.0
    assert meta["training"]["quick"] is True and meta["training"]["seed"] == 3
    # two networks, two views each: the ablation on the validation nights lists both
    assert meta["architecture"]["members"] == 2 and meta["architecture"]["views"] == 2
    assert {(a["members"], a["views"]) for a in meta["validation_ablation"]} == {
        (1, 1), (1, 2), (2, 1), (2, 2)}
    assert "ambiguous" in meta["metrics"] and "all_candidates" in meta["metrics"]
    model = VettingModel.from_files(onnx)
    with np.load(tmp_path / "vetting-v2-check.npz") as z:
        np.testing.assert_allclose(model.score(z["stamps"], z["features"]), z["real_bogus"],
                                   atol=1e-5)
    assert (tmp_path / "vetting-v2-reliability.png").read_bytes()[:4] == b"\x89PNG"
    card = (tmp_path / "card.md").read_text()
    assert "max(FNR, FPR)" in card and "S/N 5" in card
    assert "vetting CNN" in capsys.readouterr().out
