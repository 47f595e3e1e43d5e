"""Edge inference at the site node: onnxruntime, sep and numpy only (never torch).

:class:`~site_node.edge.pipeline.EdgePipeline` analyses every frame: sky and
sources (``sources``), image quality (``quality``), the photometric zero point
against the sky-model catalogue (``zeropoint``), the anomaly model's score
(``anomaly``, preprocessing in ``thumbnails``) and transient candidates against
a reference image of the field (``transients``). Names are imported lazily, so
``import site_node.edge`` costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AnomalyScorer",
    "EdgePipeline",
    "FrameError",
    "FrameResult",
    "ModelRejected",
    "ModelSlot",
    "ReferenceStore",
]

_WHERE = {
    "AnomalyScorer": "anomaly",
    "ModelRejected": "anomaly",
    "ModelSlot": "anomaly",
    "EdgePipeline": "pipeline",
    "FrameResult": "pipeline",
    "FrameError": "frame",
    "ReferenceStore": "references",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"site_node.edge.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'site_node.edge' has no attribute {name!r}")
