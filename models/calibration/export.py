"""Export the site-invariant classifier to ONNX, check it, and write its files."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from models.calibration.serve import INPUT_NAME, METADATA_KEY, OUTPUT_NAMES
from models.onnx_metadata import sealed_onnx

__all__ = ["check_onnx", "export_onnx", "write_artefacts"]

OPSET = 17


def export_onnx(model: Any, metadata: dict[str, Any]) -> bytes:
    """The model as ONNX bytes: ``cutouts`` (batch, 2, 25, 25) -> ``p_galaxy`` (batch),
    ``features`` (batch, 32); ``metadata`` embedded."""
    import torch

    class _Probabilities(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logit, features = self.inner(x)
            return torch.sigmoid(logit), features

    buffer = io.BytesIO()
    dummy = torch.zeros((1, 2, 25, 25), dtype=torch.float32)
    torch.onnx.export(_Probabilities(model).eval(), (dummy,), buffer, input_names=[INPUT_NAME],
                      output_names=list(OUTPUT_NAMES), opset_version=OPSET, dynamo=False,
                      dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAMES[0]: {0: "batch"},
                                    OUTPUT_NAMES[1]: {0: "batch"}})
    return sealed_onnx(buffer.getvalue(), metadata, METADATA_KEY)


def check_onnx(onnx_bytes: bytes, model: Any, x: np.ndarray, tolerance: float = 1e-4) -> float:
    """Max absolute difference between onnxruntime and PyTorch probabilities on ``x``;
    raises above ``tolerance``."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAMES[0]], {INPUT_NAME: x.astype(np.float32)})[0]
    with torch.no_grad():
        want = torch.sigmoid(model(torch.from_numpy(x.astype(np.float32)))[0]).numpy()
    diff = float(np.max(np.abs(got - want)))
    if not diff < tolerance:
        raise AssertionError(f"ONNX and PyTorch outputs differ by {diff:.2e} (> {tolerance:g})")
    return diff


def write_artefacts(out: Path, name: str, onnx_bytes: bytes, metadata: dict[str, Any],
                    check_x: np.ndarray) -> dict[str, Any]:
    """Write ``NAME.onnx``, ``NAME.json`` (with SHA-256) and ``NAME-check.npz`` (a fixed
    input and the ONNX outputs); return the metadata as written."""
    import onnxruntime as ort

    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    full = dict(metadata, sha256=digest, onnx_file=f"{name}.onnx")
    (out / f"{name}.onnx").write_bytes(onnx_bytes)
    (out / f"{name}.json").write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    p, f = session.run(list(OUTPUT_NAMES), {INPUT_NAME: check_x.astype(np.float32)})
    np.savez_compressed(out / f"{name}-check.npz", x=check_x.astype(np.float32), p_galaxy=p,
                        features=f)
    return full
