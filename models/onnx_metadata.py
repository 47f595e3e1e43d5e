"""The last step of every model's ONNX export: stamp, check, serialise."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["sealed_onnx"]


def sealed_onnx(exported: bytes, metadata: dict[str, Any], key: str) -> bytes:
    """``exported`` (bytes from ``torch.onnx.export``) with ``metadata`` embedded as JSON
    under ``key`` and the producer set to ``openastro``, after ``onnx.checker`` passes."""
    import onnx

    proto = onnx.load_from_string(exported)
    proto.producer_name = "openastro"
    entry = proto.metadata_props.add()
    entry.key = key
    entry.value = json.dumps(metadata, sort_keys=True)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()
