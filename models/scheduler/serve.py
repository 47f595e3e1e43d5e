"""Run the shipped scheduler models with onnxruntime only (no torch).

:class:`ValueNetwork` predicts the science value of proposed observations with
its 1-sigma uncertainty; :class:`PolicyRunner` runs one decision of the policy,
taking and returning the telescope's recurrent state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_session import cpu_session

__all__ = ["DEFAULT_POLICY", "DEFAULT_VALUE", "METADATA_KEY", "PolicyRunner", "ValueNetwork",
           "newest"]

HERE = Path(__file__).resolve().parent


def newest(prefix: str, directory: Path = HERE) -> Path:
    """The shipped ``PREFIX-vN.onnx`` with the highest N (``PREFIX-v1.onnx`` if none)."""
    found = [(int(p.stem[len(prefix) + 2:]), p) for p in directory.glob(f"{prefix}-v*.onnx")
             if p.stem[len(prefix) + 2:].isdigit()]
    return max(found)[1] if found else directory / f"{prefix}-v1.onnx"


DEFAULT_VALUE = newest("value")
DEFAULT_POLICY = newest("policy")
"""The newest shipped policy (policy-v2: imitation of the physics look-ahead teacher)."""
METADATA_KEY = "openastro"
VALUE_INPUT = "features"
VALUE_OUTPUTS = ("mean", "variance")
POLICY_INPUTS = ("cand", "mask", "ctx", "prev", "h")
POLICY_OUTPUTS = ("logits", "value", "h_out")


def _session(path: Path, what: str):
    if not path.is_file():
        raise FileNotFoundError(f"{what} model not found: {path}")
    session = cpu_session(path)
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, "{}")
    return session, json.loads(raw)


class ValueNetwork:
    """The value ensemble (``value-v1.onnx``): features -> expected value and sigma.

    Parameters
    ----------
    path : str or Path
        The ONNX file (default: the shipped one).
    """

    def __init__(self, path: str | Path = DEFAULT_VALUE) -> None:
        self.path = Path(path)
        self.session, self.metadata = _session(self.path, "value network")

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and 1-sigma of the science value for rows of ``VALUE_FEATURES``."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"value features must be 2-D (rows, features), got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros(0), np.zeros(0)
        mean, var = self.session.run(None, {VALUE_INPUT: x})
        return mean.astype(float), np.sqrt(np.maximum(var.astype(float), 0.0))


class PolicyRunner:
    """The policy (newest ``policy-vN.onnx``): one decision from candidate and context features.

    Parameters
    ----------
    path : str or Path
        The ONNX file (default: the shipped one).
    """

    def __init__(self, path: str | Path = DEFAULT_POLICY) -> None:
        self.path = Path(path)
        self.session, self.metadata = _session(self.path, "policy")
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        self.n_cand = int(shapes["cand"][-1])
        self.memory = int(shapes["h"][-1])

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """A telescope's state at the start of the night: (previous choice, memory)."""
        return np.zeros(self.n_cand, np.float32), np.zeros(self.memory, np.float32)

    def run(self, cand: np.ndarray, ctx: np.ndarray, prev: np.ndarray,
            h: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """Logits over the candidates, the critic's value and the new memory."""
        cand = np.asarray(cand, dtype=np.float32)
        if cand.ndim != 2 or cand.shape[1] != self.n_cand:
            raise ValueError(f"candidate features must be (n, {self.n_cand}), got {cand.shape}")
        feeds: dict[str, Any] = {
            "cand": cand[None], "mask": np.ones((1, cand.shape[0]), np.float32),
            "ctx": np.asarray(ctx, np.float32)[None], "prev": np.asarray(prev, np.float32)[None],
            "h": np.asarray(h, np.float32)[None]}
        logits, value, h_out = self.session.run(None, feeds)
        return logits[0], float(value[0]), h_out[0]
