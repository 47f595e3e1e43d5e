"""Real/bogus vetting of difference-image candidates with the shipped ONNX model.

:func:`~site_node.edge.transients.search_candidates` keeps every source of the
difference above the signal-to-noise floor, with its cutouts (new, reference,
difference) and scalar features. :class:`VettingModel` scores them with small
CNNs (``models/vetting``: from v2 the mean logit of two networks, one ONNX graph,
about 0.13 ms of CPU per candidate; onnxruntime and numpy only): ``real_bogus`` is the
calibrated probability that a candidate is a real new source, and ``vetted`` is
``real_bogus >= threshold``, the threshold shipped in the model's metadata
(chosen on held-out data for equal false-negative and false-positive rates).

A model is an ONNX file and a JSON sidecar (``vetting-vN.onnx`` /
``vetting-vN.json``) with at least ``name``, ``version``, ``sha256`` (of the
ONNX bytes), ``threshold``, ``cutout`` and ``feature_names``; a model whose
hash or inputs do not match is refused with :class:`VettingModelRejected`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_session import cpu_session
from site_node.edge.transients import CUTOUT, FEATURE_NAMES, Candidates

__all__ = ["VettingModel", "VettingModelRejected", "find_vetting_model"]

_BATCH = 256


class VettingModelRejected(ValueError):
    """A vetting model that cannot be used; the message says why."""


def find_vetting_model(directory: Path | None = None) -> Path | None:
    """The highest ``vetting-vN.onnx`` in ``directory`` (default: the shipped ``models/vetting``)."""
    if directory is None:
        spec = importlib.util.find_spec("models")
        if spec is None or not spec.submodule_search_locations:
            return None
        directory = Path(next(iter(spec.submodule_search_locations))) / "vetting"
    if not Path(directory).is_dir():
        return None

    def version(p: Path) -> int:
        m = re.search(r"-v(\d+)$", p.stem)
        return int(m.group(1)) if m else -1

    found = sorted(Path(directory).glob("vetting-v*.onnx"), key=version)
    return found[-1] if found else None


class VettingModel:
    """The real/bogus model, ready to score candidates.

    Parameters
    ----------
    onnx_bytes : bytes
    metadata : dict
        The model's JSON sidecar (see the module docstring).
    threads : int
        onnxruntime intra-op threads.

    Raises
    ------
    VettingModelRejected
        Hash mismatch, unloadable ONNX, or inputs unlike the node's candidates.
    """

    def __init__(self, onnx_bytes: bytes, metadata: dict[str, Any], *, threads: int = 1) -> None:

        sha = hashlib.sha256(onnx_bytes).hexdigest()
        if metadata.get("sha256") != sha:
            raise VettingModelRejected(
                f"SHA-256 of the ONNX file ({sha[:12]}) differs from its metadata's "
                f"({str(metadata.get('sha256'))[:12]})")
        if list(metadata.get("feature_names", [])) != list(FEATURE_NAMES):
            raise VettingModelRejected("the model's features differ from the node's "
                                       f"({metadata.get('feature_names')} vs {FEATURE_NAMES})")
        if int(metadata.get("cutout", -1)) != CUTOUT:
            raise VettingModelRejected(f"the model's cutouts are {metadata.get('cutout')} px, "
                                       f"the node makes {CUTOUT} px")
        threshold = metadata.get("threshold")
        if not isinstance(threshold, int | float) or not 0.0 < threshold < 1.0:
            raise VettingModelRejected(f"threshold {threshold!r} is not a probability")
        try:
            self._session = cpu_session(onnx_bytes, threads=threads)
        except ValueError as exc:
            raise VettingModelRejected(str(exc)) from None
        names = [i.name for i in self._session.get_inputs()]
        if names != ["stamps", "features"]:
            raise VettingModelRejected(f"inputs {names}, expected ['stamps', 'features']")
        self.metadata = dict(metadata)
        self.threshold = float(threshold)
        self.sha256 = sha
        self.name = str(metadata.get("name", "vetting")) + "-" + str(metadata.get("version", ""))

    @classmethod
    def from_files(cls, onnx_path: str | Path, json_path: str | Path | None = None, *,
                   threads: int = 1) -> VettingModel:
        """Load ``vetting-vN.onnx`` and its sidecar (default: the same name with ``.json``)."""
        onnx_path = Path(onnx_path)
        json_path = Path(json_path) if json_path is not None else onnx_path.with_suffix(".json")
        try:
            metadata = json.loads(json_path.read_text())
        except (OSError, ValueError) as exc:
            raise VettingModelRejected(f"metadata {json_path.name} unreadable: {exc}") from None
        return cls(onnx_path.read_bytes(), metadata, threads=threads)

    @property
    def model_id(self) -> str:
        """``name-vN@sha256[:12]``."""
        return f"{self.name}@{self.sha256[:12]}"

    def score(self, stamps: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Probabilities of being real ``(N,)`` for cutouts ``(N, 3, CUTOUT, CUTOUT)`` and
        features ``(N, len(FEATURE_NAMES))``."""
        stamps = np.ascontiguousarray(stamps, dtype=np.float32)
        features = np.ascontiguousarray(features, dtype=np.float32)
        if stamps.shape[1:] != (3, CUTOUT, CUTOUT) or features.shape != (len(stamps),
                                                                        len(FEATURE_NAMES)):
            raise ValueError(f"cutouts {stamps.shape} and features {features.shape} do not "
                             f"match (N, 3, {CUTOUT}, {CUTOUT}) and (N, {len(FEATURE_NAMES)})")
        out = np.zeros(len(stamps), np.float32)
        for i in range(0, len(stamps), _BATCH):
            out[i:i + _BATCH] = self._session.run(
                None, {"stamps": stamps[i:i + _BATCH],
                       "features": features[i:i + _BATCH]})[0].reshape(-1)
        return out

    def vet(self, candidates: Candidates) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Score candidates: (vetted, rejected), each a list of the candidates' dicts with
        ``real_bogus`` (probability, 4 decimals) and ``vetted`` added, by decreasing SNR."""
        if len(candidates) == 0:
            return [], []
        p = self.score(candidates.stamps, candidates.features)
        vetted, rejected = [], []
        for c, pi in zip(candidates.table, p, strict=True):
            ok = bool(pi >= self.threshold)
            (vetted if ok else rejected).append(
                {**c, "real_bogus": round(float(pi), 4), "vetted": ok})
        return vetted, rejected
