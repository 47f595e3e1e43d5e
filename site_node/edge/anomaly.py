"""The anomaly model at the site: an ONNX autoencoder, its score, and hot swapping.

A model is an ONNX file plus metadata (a JSON sidecar, also embedded in the
ONNX as the ``openastro`` metadata property) giving its name, the SHA-256 of
the ONNX bytes, the input preprocessing (:class:`~site_node.edge.thumbnails.ThumbnailSpec`),
how the score is computed and the threshold. The score is the reconstruction
error (:func:`reconstruction_score`); the verdict is ``score > threshold``.

:class:`ModelSlot` holds the current :class:`AnomalyScorer` and replaces it
atomically: :meth:`ModelSlot.deploy` checks the hash, loads and test-runs the
new model and only then swaps, so a bad model never replaces a good one and
frames being scored keep the model they started with.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from site_node.edge.thumbnails import ThumbnailSpec, model_input

__all__ = [
    "METADATA_KEY",
    "AnomalyScore",
    "AnomalyScorer",
    "ModelRejected",
    "ModelSlot",
    "reconstruction_score",
    "score_components",
    "sha256_hex",
]

METADATA_KEY = "openastro"
"""Key of the model metadata (JSON) in the ONNX file's metadata properties."""


class ModelRejected(ValueError):
    """A model that cannot be used (bad hash, not ONNX, wrong input); the message says why."""


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def score_components(x: np.ndarray, reconstruction: np.ndarray, score: dict[str, Any],
                     latent: np.ndarray | None = None) -> np.ndarray:
    """The parts of the anomaly score, ``(N, C)`` or ``(N, C + 1)`` with a latent term.

    Per channel, the mean of the largest ``top_fraction`` of squared pixel
    errors (a small trail or a bad patch is not diluted by the rest of the
    frame), divided by its median on normal frames (``channel_scale``). With
    ``latent_mean`` and ``latent_precision`` in ``score`` and the model's
    ``latent`` code, one more part: the Mahalanobis distance of the code from
    the normal frames' codes, divided by ``latent_scale`` (frames unlike any
    normal one that are nevertheless easy to reconstruct, such as fog).
    """
    n, c = x.shape[:2]
    err = ((x.astype(np.float64) - reconstruction) ** 2).reshape(n, c, -1)
    k = max(1, round(score.get("top_fraction", 1.0) * err.shape[2]))
    top = -np.partition(-err, k - 1, axis=2)[:, :, :k]
    parts = top.mean(axis=2) / np.asarray(score.get("channel_scale", [1.0] * c))
    if latent is not None and "latent_mean" in score:
        d = latent.astype(np.float64) - np.asarray(score["latent_mean"])
        maha = np.sqrt(np.einsum("ni,ij,nj->n", d, np.asarray(score["latent_precision"]), d))
        parts = np.column_stack([parts, maha / float(score.get("latent_scale", 1.0))])
    return parts


def reconstruction_score(x: np.ndarray, reconstruction: np.ndarray, score: dict[str, Any],
                         latent: np.ndarray | None = None) -> np.ndarray:
    """Anomaly scores ``(N,)`` of a batch: the :func:`score_components` combined.

    With ``log_median`` and ``log_mad`` in ``score``, each part is first
    standardised on a log scale (``(log part - log_median) / log_mad``, from
    normal training frames), so that every part speaks in the same units:
    robust standard deviations above normal. ``score["combine"]`` is ``max``
    (default) or ``mean``.
    """
    parts = score_components(x, reconstruction, score, latent)
    if "log_median" in score:
        parts = ((np.log(np.maximum(parts, 1e-12)) - np.asarray(score["log_median"]))
                 / np.asarray(score["log_mad"]))
    if score.get("combine", "max") == "mean":
        return parts.mean(axis=1)
    return parts.max(axis=1)


@dataclass(frozen=True)
class AnomalyScore:
    """One frame's anomaly score, verdict and the model that gave them."""

    score: float
    verdict: str
    model: str


class AnomalyScorer:
    """An ONNX anomaly model ready to score frames.

    Parameters
    ----------
    onnx_bytes : bytes
        The model.
    metadata : dict, optional
        Its metadata; None reads the metadata embedded in the ONNX file.
    threads : int
        onnxruntime intra-op threads.
    name : str, optional
        Overrides the name in the metadata.

    Raises
    ------
    ModelRejected
        Invalid ONNX, metadata missing or inconsistent, or the bytes' SHA-256
        differs from ``metadata["sha256"]``.
    """

    def __init__(self, onnx_bytes: bytes, metadata: dict[str, Any] | None = None, *,
                 threads: int = 1, name: str | None = None) -> None:
        import onnxruntime as ort

        self.sha256 = sha256_hex(onnx_bytes)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(onnx_bytes, sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise ModelRejected(f"not a loadable ONNX model ({_one_line(exc)})") from None
        if metadata is None:
            embedded = self._session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
            if embedded is None:
                raise ModelRejected("no metadata given and none embedded in the ONNX file")
            metadata = json.loads(embedded)
        expected = metadata.get("sha256")
        if expected is not None and expected != self.sha256:
            raise ModelRejected(f"SHA-256 mismatch: metadata says {expected}, "
                                f"file is {self.sha256}")
        self.metadata = dict(metadata, sha256=self.sha256)
        if name is not None:
            self.metadata["name"] = name
        try:
            self.name = str(self.metadata["name"])
            self.threshold = float(metadata["threshold"])
            self.spec = ThumbnailSpec.from_dict(metadata["preprocessing"])
            self._score = dict(metadata["score"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelRejected(f"model metadata incomplete or invalid ({_one_line(exc)})"
                                ) from None
        self._input = self._session.get_inputs()[0].name
        self._check_runs()

    @classmethod
    def from_files(cls, onnx_path: str | Path, metadata_path: str | Path | None = None, *,
                   threads: int = 1) -> AnomalyScorer:
        """Load ``NAME.onnx`` and its ``NAME.json`` (default: beside it)."""
        onnx_path = Path(onnx_path)
        meta_path = Path(metadata_path) if metadata_path else onnx_path.with_suffix(".json")
        try:
            metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else None
        except (OSError, ValueError) as exc:
            raise ModelRejected(f"{meta_path}: unreadable metadata ({_one_line(exc)})") from None
        return cls(onnx_path.read_bytes(), metadata, threads=threads)

    @property
    def model_id(self) -> str:
        """``name@sha256[:12]``: what results and events cite."""
        return f"{self.name}@{self.sha256[:12]}"

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Reconstruction of a batch ``(N, C, H, W)``, and the latent code if the model has it."""
        out = self._session.run(None, {self._input: np.ascontiguousarray(x, np.float32)})
        return out[0], (out[1] if len(out) > 1 else None)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """The model's reconstruction of a batch ``(N, C, H, W)``."""
        return self.run(x)[0]

    def score_inputs(self, x: np.ndarray) -> np.ndarray:
        """Scores of a batch of preprocessed inputs ``(N, C, H, W)``."""
        recon, latent = self.run(x)
        return reconstruction_score(x, recon, self._score, latent)

    def score(self, data: np.ndarray, image: np.ndarray, background: float, rms: float,
              objects: np.ndarray, *, gain: float | None = None,
              read_noise_e: float | None = None) -> AnomalyScore:
        """Score one frame (arguments as :func:`~site_node.edge.thumbnails.model_input`)."""
        x = model_input(data, image, background, rms, objects, gain=gain,
                        read_noise_e=read_noise_e, spec=self.spec)[None]
        value = float(self.score_inputs(x)[0])
        verdict = "anomalous" if value > self.threshold else "normal"
        return AnomalyScore(value, verdict, self.model_id)

    def _check_runs(self) -> None:
        shape = (1, *self.spec.shape)
        try:
            out = self.reconstruct(np.zeros(shape, np.float32))
        except Exception as exc:  # noqa: BLE001 - any failure means the model is unusable
            raise ModelRejected(f"model does not accept input {shape} ({_one_line(exc)})"
                                ) from None
        if out.shape != shape:
            raise ModelRejected(f"model output {out.shape} differs from its input {shape}")


class ModelSlot:
    """The anomaly model in service, replaceable without a restart (thread-safe).

    Parameters
    ----------
    scorer : AnomalyScorer, optional
        The initial model (None: frames are ``unscored`` until one is deployed).
    threads : int
        onnxruntime threads of deployed models.
    """

    def __init__(self, scorer: AnomalyScorer | None = None, *, threads: int = 1) -> None:
        self._scorer = scorer
        self._threads = threads
        self._lock = threading.Lock()

    @property
    def current(self) -> AnomalyScorer | None:
        """The model in service (read once per frame: a swap never splits a frame)."""
        return self._scorer

    def deploy(self, onnx_bytes: bytes, sha256: str, metadata: dict[str, Any] | None = None,
               *, name: str | None = None) -> AnomalyScorer:
        """Verify a model and put it in service.

        Parameters
        ----------
        onnx_bytes : bytes
            The ONNX model.
        sha256 : str
            Its expected SHA-256 (hex), as announced by the sender.
        metadata : dict, optional
            Its metadata; None uses the metadata embedded in the ONNX file.
        name : str, optional
            Overrides the model name of the metadata.

        Returns
        -------
        AnomalyScorer
            The model now in service.

        Raises
        ------
        ModelRejected
            Hash mismatch (naming the expected and actual hashes) or an unusable
            model; the previous model stays in service.
        """
        actual = sha256_hex(onnx_bytes)
        if sha256.strip().lower() != actual:
            raise ModelRejected(f"SHA-256 mismatch: expected {sha256}, got {actual}")
        scorer = AnomalyScorer(onnx_bytes, metadata, threads=self._threads, name=name)
        with self._lock:
            self._scorer = scorer
        return scorer

    def swap(self, scorer: AnomalyScorer | None) -> None:
        """Put an already loaded model in service (or none)."""
        with self._lock:
            self._scorer = scorer


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
