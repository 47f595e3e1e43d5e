"""``python -m models.scheduler.train --quick``: artefacts per the model metadata contract."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnxruntime as ort

from models.scheduler.train import main


def test_quick_bellman_run_writes_a_complete_model(tmp_path, capsys):
    assert main(["--model", "bellman", "--quick", "--seed", "1", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "bellman-v1.json").read_text())
    onnx_bytes = (tmp_path / "bellman-v1.onnx").read_bytes()
    assert meta["sha256"] == hashlib.sha256(onnx_bytes).hexdigest()
    assert {"name", "version", "metrics", "promotion_metric"} <= set(meta)
    assert set(meta["promotion_metric"]) == {"name", "value", "higher_is_better"}
    assert 0 < meta["metrics"]["fraction_of_optimum"] <= 1.0 + 1e-9
    with np.load(tmp_path / "bellman-v1-check.npz") as z:
        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        feeds = {k[3:]: z[k] for k in z.files if k.startswith("in_")}
        assert np.allclose(session.run(None, feeds)[2], z["out_h_out"], atol=1e-6)
    assert "optimum" in capsys.readouterr().out
    assert "Bellman check" in (tmp_path / "card.md").read_text()
