"""``python -m models.calibration.train --quick`` writes a complete, loadable model."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_quick_training_writes_the_contracted_files(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    import hashlib

    from models.calibration.serve import SiteInvariantClassifier
    from models.calibration.train import main

    assert main(["--quick", "--seed", "3", "--out", str(tmp_path), "--name", "toy-v9"]) == 0
    meta = json.loads((tmp_path / "toy-v9.json").read_text())
    onnx_bytes = (tmp_path / "toy-v9.onnx").read_bytes()
    assert meta["sha256"] == hashlib.sha256(onnx_bytes).hexdigest()
    assert meta["name"] == "toy-v9" and meta["version"] == "v9"
    promo = meta["promotion_metric"]
    assert promo["name"] == "unseen_site_accuracy_mean" and promo["higher_is_better"] is True
    assert 0.0 <= promo["value"] <= 100.0
    assert set(meta["metrics"]["domain"]["loso"]) == {"cerro-pachon", "la-palma", "hanle"}
    assert meta["metrics"]["cross_site"]["network"]["n_pairs"] > 0
    assert (tmp_path / "toy-v9-reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert "toy-v9" in (tmp_path / "card.md").read_text()
    check = np.load(tmp_path / "toy-v9-check.npz")
    p, _ = SiteInvariantClassifier(tmp_path / "toy-v9.onnx").session.run(
        None, {"cutouts": check["x"]})
    assert np.allclose(p, check["p_galaxy"], atol=1e-6)
    out = capsys.readouterr().out
    assert "calibration metrics" in out and "wrote" in out
