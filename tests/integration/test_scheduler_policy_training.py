"""``python -m models.scheduler.train --model policy --quick``: imitation on the real night
loop writes a complete policy (toy size: 1.5-hour nights, 40 requests; ~20 s of CPU)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnxruntime as ort
import pytest

from models.scheduler.features import POLICY_FEATURES
from models.scheduler.train import main

pytestmark = pytest.mark.integration


def test_quick_policy_run_writes_a_complete_model(tmp_path, capsys):
    assert main(["--model", "policy", "--quick", "--seed", "1", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "policy-v2.json").read_text())
    onnx_bytes = (tmp_path / "policy-v2.onnx").read_bytes()
    assert meta["sha256"] == hashlib.sha256(onnx_bytes).hexdigest()
    assert meta["name"] == "policy" and meta["version"] == "v2"
    assert meta["candidate_features"] == list(POLICY_FEATURES)
    pm = meta["promotion_metric"]
    assert pm["higher_is_better"] is True and pm["value"] == \
        meta["metrics"]["held_out"]["ratio_to_greedy"] > 0
    t = meta["training"]
    assert t["decisions"] > 50 and 0 <= t["train_accuracy"] <= 1
    with np.load(tmp_path / "policy-v2-check.npz") as z:
        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        feeds = {k[3:]: z[k] for k in z.files if k.startswith("in_")}
        assert np.allclose(session.run(None, feeds)[0], z["out_logits"], atol=1e-5)
    assert "science value, held-out nights" in capsys.readouterr().out
