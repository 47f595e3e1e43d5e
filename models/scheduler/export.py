"""Export the value ensemble and the policy to ONNX, check them, write their artefacts."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_metadata import sealed_onnx
from models.scheduler.serve import (
    METADATA_KEY,
    POLICY_INPUTS,
    POLICY_OUTPUTS,
    VALUE_INPUT,
    VALUE_OUTPUTS,
)

__all__ = ["check_policy", "check_value", "export_policy", "export_value", "write_artefacts"]

OPSET = 17


def export_value(model: Any, metadata: dict[str, Any]) -> bytes:
    """The ensemble as ONNX (dynamic batch): features -> mean, variance."""
    import torch

    buffer = io.BytesIO()
    dummy = torch.zeros((2, model.config["n_features"]), dtype=torch.float32)
    torch.onnx.export(model.eval(), (dummy,), buffer, input_names=[VALUE_INPUT],
                      output_names=list(VALUE_OUTPUTS), opset_version=OPSET, dynamo=False,
                      dynamic_axes={VALUE_INPUT: {0: "batch"}, "mean": {0: "batch"},
                                    "variance": {0: "batch"}})
    return sealed_onnx(buffer.getvalue(), metadata, METADATA_KEY)


def export_policy(net: Any, metadata: dict[str, Any]) -> bytes:
    """The policy as ONNX: dynamic batch and number of candidates; the GRU state in and out."""
    import torch

    c = net.config
    dummy = (torch.zeros(1, 5, c["n_cand"]), torch.ones(1, 5), torch.zeros(1, c["n_ctx"]),
             torch.zeros(1, c["n_cand"]), torch.zeros(1, c["memory"]))
    buffer = io.BytesIO()
    axes = {"cand": {0: "batch", 1: "candidates"}, "mask": {0: "batch", 1: "candidates"},
            "ctx": {0: "batch"}, "prev": {0: "batch"}, "h": {0: "batch"},
            "logits": {0: "batch", 1: "candidates"}, "value": {0: "batch"},
            "h_out": {0: "batch"}}
    torch.onnx.export(net.eval(), dummy, buffer, input_names=list(POLICY_INPUTS),
                      output_names=list(POLICY_OUTPUTS), opset_version=OPSET, dynamo=False,
                      dynamic_axes=axes)
    return sealed_onnx(buffer.getvalue(), metadata, METADATA_KEY)


def _ort(onnx_bytes: bytes):
    import onnxruntime as ort

    return ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])


def check_value(onnx_bytes: bytes, model: Any, x: np.ndarray, tolerance: float = 1e-4) -> float:
    """Max difference of onnxruntime vs PyTorch (mean and variance), relative to the
    largest output (float32 rounding of the mixture variance, not of each row)."""
    import torch

    got = _ort(onnx_bytes).run(None, {VALUE_INPUT: x.astype(np.float32)})
    with torch.no_grad():
        want = [t.numpy() for t in model(torch.from_numpy(x.astype(np.float32)))]
    diff = max(float(np.max(np.abs(g - w)) / (1e-6 + np.max(np.abs(w))))
               for g, w in zip(got, want, strict=True))
    if not diff < tolerance:
        raise AssertionError(f"value ONNX and PyTorch differ by {diff:.2e} (> {tolerance:g})")
    return diff


def policy_check_inputs(n_cand: int, n_ctx: int, memory: int, seed: int = 0,
                        candidates: tuple[int, ...] = (1, 7, 40)) -> list[dict[str, np.ndarray]]:
    """Fixed random inputs with different numbers of candidates (and some padding)."""
    rng = np.random.default_rng(seed)
    out = []
    for n in candidates:
        mask = np.ones((1, n), np.float32)
        if n > 2:
            mask[0, -1] = 0.0
        out.append({"cand": rng.normal(0, 0.5, (1, n, n_cand)).astype(np.float32), "mask": mask,
                    "ctx": rng.normal(0, 0.5, (1, n_ctx)).astype(np.float32),
                    "prev": rng.normal(0, 0.5, (1, n_cand)).astype(np.float32),
                    "h": rng.normal(0, 0.3, (1, memory)).astype(np.float32)})
    return out


def check_policy(onnx_bytes: bytes, net: Any, feeds: list[dict[str, np.ndarray]],
                 tolerance: float = 1e-4) -> float:
    """Max absolute difference of onnxruntime vs PyTorch over ``feeds`` (real candidates)."""
    import torch

    session = _ort(onnx_bytes)
    worst = 0.0
    for feed in feeds:
        got = session.run(None, feed)
        with torch.no_grad():
            want = [t.numpy() for t in net(*(torch.from_numpy(feed[k]) for k in POLICY_INPUTS))]
        real = feed["mask"] > 0
        worst = max(worst, float(np.max(np.abs(got[0][real] - want[0][real]))),
                    float(np.max(np.abs(got[1] - want[1]))),
                    float(np.max(np.abs(got[2] - want[2]))))
    if not worst < tolerance:
        raise AssertionError(f"policy ONNX and PyTorch differ by {worst:.2e} (> {tolerance:g})")
    return worst


def write_artefacts(out: Path, name: str, onnx_bytes: bytes, metadata: dict[str, Any],
                    check: dict[str, np.ndarray]) -> dict[str, Any]:
    """Write ``NAME.onnx``, ``NAME.json`` (SHA-256 of the .onnx) and ``NAME-check.npz``
    (the given inputs and onnxruntime's outputs for them); returns the metadata."""
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    full = dict(metadata, sha256=digest, onnx_file=f"{name}.onnx")
    (out / f"{name}.onnx").write_bytes(onnx_bytes)
    (out / f"{name}.json").write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    session = _ort(onnx_bytes)
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(None, check)
    np.savez_compressed(out / f"{name}-check.npz", **{f"in_{k}": v for k, v in check.items()},
                        **{f"out_{k}": v for k, v in zip(names, outputs, strict=True)})
    return full
