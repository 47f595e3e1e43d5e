"""CPU onnxruntime sessions, opened the same way by every server of our models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["cpu_session"]


def cpu_session(model: bytes | str | Path, *, threads: int = 1) -> Any:
    """An onnxruntime session on the CPU with ``threads`` intra-op threads.

    Parameters
    ----------
    model : bytes, str or Path
        The ONNX model's bytes, or the path of its file.
    threads : int
        Intra-op threads (inter-op is always 1; the node runs stages side by side).

    Raises
    ------
    ValueError
        ``"not a loadable ONNX model (...)"`` with onnxruntime's reason on one line.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        reason = " ".join(str(exc).split())[:160]
        raise ValueError(f"not a loadable ONNX model ({reason})") from None
