"""A stand-in edge pipeline: sky median and noise with numpy, nothing else.

Used by the node only while the real pipeline (:mod:`site_node.edge.pipeline`)
is not installed; :func:`load_pipeline` picks the real one when it imports.
It has the same surface: ``analyze(hdul)`` returning an object with
``to_dict()``, and ``deploy_model(name, onnx_bytes, sha256)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["SkyStats", "SkyStatsPipeline", "load_pipeline"]


@dataclass(frozen=True)
class SkyStats:
    """Robust sky level and noise of a frame."""

    sky_level: float
    sky_noise: float
    n_pixels: int
    nan_fraction: float
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SkyStatsPipeline:
    """Measures the sky median and noise (MAD) of the first image HDU."""

    name = "sky-stats"

    def __init__(self) -> None:
        self.models: dict[str, str] = {}

    def analyze(self, hdul: Any) -> SkyStats:
        """Raise ValueError when the file holds no 2-D image or no finite pixel."""
        image = next((h.data for h in hdul if getattr(h, "data", None) is not None
                      and np.ndim(h.data) == 2), None)
        if image is None:
            raise ValueError("no 2-D image in the FITS file")
        data = np.asarray(image, dtype=np.float64)
        finite = data[np.isfinite(data)]
        if finite.size == 0:
            raise ValueError("no finite pixel in the frame")
        median = float(np.median(finite))
        noise = float(1.4826 * np.median(np.abs(finite - median)))
        nan_fraction = 1.0 - finite.size / data.size
        verdict = "ok" if nan_fraction < 0.01 else "suspect"
        return SkyStats(median, noise, int(data.size), nan_fraction, verdict)

    def deploy_model(self, name: str, onnx_bytes: bytes, sha256: str) -> None:
        """Check the hash and that onnxruntime can load the model; remember it."""
        if hashlib.sha256(onnx_bytes).hexdigest() != sha256.lower():
            raise ValueError(f"model {name!r}: sha256 does not match its bytes")
        import onnxruntime

        try:
            onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise ValueError(f"model {name!r}: not a loadable ONNX model ({exc})") from None
        self.models[name] = sha256.lower()


def load_pipeline() -> Any:
    """The real edge pipeline (``site_node.edge.pipeline.EdgePipeline()``) if importable,
    else :class:`SkyStatsPipeline`."""
    try:
        from site_node.edge.pipeline import EdgePipeline
    except ImportError:
        return SkyStatsPipeline()
    return EdgePipeline()
