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

from models.onnx_session import cpu_session
from site_node.edge.thumbnails import ThumbnailSpec, align_reference, model_input

__all__ = [
    "METADATA_KEY",
    "MULTISCALE",
    "AnomalyScore",
    "AnomalyScorer",
    "ModelRejected",
    "ModelSlot",
    "multiscale_parts",
    "reconstruction_score",
    "score_components",
    "sha256_hex",
    "standardised_parts",
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
    frame; one fraction for all channels or one per channel), divided by its
    median on normal frames (``channel_scale``). With ``latent_mean`` and
    ``latent_precision`` in ``score`` and the model's ``latent`` code, one more
    part: the Mahalanobis distance of the code from the normal frames' codes,
    divided by ``latent_scale`` (frames unlike any normal one that are
    nevertheless easy to reconstruct, such as fog).
    """
    n, c = x.shape[:2]
    err = ((x.astype(np.float64) - reconstruction) ** 2).reshape(n, c, -1)
    fractions = np.broadcast_to(np.asarray(score.get("top_fraction", 1.0), float), (c,))
    parts = np.empty((n, c))
    for ch in range(c):
        k = max(1, round(float(fractions[ch]) * err.shape[2]))
        parts[:, ch] = -np.partition(-err[:, ch], k - 1, axis=1)[:, :k].mean(axis=1)
    parts /= np.asarray(score.get("channel_scale", [1.0] * c))
    if latent is not None and "latent_mean" in score:
        d = latent.astype(np.float64) - np.asarray(score["latent_mean"])
        maha = np.sqrt(np.einsum("ni,ij,nj->n", d, np.asarray(score["latent_precision"]), d))
        parts = np.column_stack([parts, maha / float(score.get("latent_scale", 1.0))])
    return parts


MULTISCALE = "multiscale-residuals"
"""``score["method"]`` of models scored by :func:`multiscale_parts` (anomaly-v3 on)."""


def _box_extremes(field: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest and (minus) smallest ``scale`` x ``scale`` window sum over ``scale``.

    ``field`` is ``(N, H, W)``; windows lie inside the image. A window of
    ``scale**2`` independent unit-variance pixels has unit variance after the
    division, so a faint but extended offset (a ghost, a halo) adds up, while a
    single bright pixel does not grow with the scale.
    """
    if scale <= 1:
        flat = field.reshape(len(field), -1)
        return flat.max(axis=1), -flat.min(axis=1)
    c = np.zeros((field.shape[0], field.shape[1] + 1, field.shape[2] + 1))
    c[:, 1:, 1:] = field.cumsum(axis=1).cumsum(axis=2)
    win = (c[:, scale:, scale:] - c[:, :-scale, scale:] - c[:, scale:, :-scale]
           + c[:, :-scale, :-scale]).reshape(len(field), -1) / scale
    return win.max(axis=1), -win.min(axis=1)


def multiscale_parts(x: np.ndarray, reconstruction: np.ndarray, score: dict[str, Any],
                     latent: np.ndarray | None = None) -> np.ndarray:
    """The raw parts of a ``multiscale-residuals`` score, ``(N, P)`` (P = ``len(score["parts"])``).

    Each part is named by ``[source, channel, scale, sign]``: ``source`` ``res``
    is the reconstruction residual ``(x - reconstruction) / channel_sd[channel]``
    and ``raw`` the input itself; the part is the largest (``sign`` ``+``) or
    minus the smallest (``-``) ``scale`` x ``scale`` window sum over ``scale``
    (:func:`_box_extremes`). ``["latent"]`` is the Mahalanobis distance of the
    latent code from the training codes. Parts of ``optional_channels`` are NaN
    for frames where that channel is all zero (no reference).
    """
    n = len(x)
    x64 = x.astype(np.float64)
    res = (x64 - reconstruction) / np.asarray(score["channel_sd"], float)[None, :, None, None]
    cache: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}
    out = np.full((n, len(score["parts"])), np.nan)
    for j, spec in enumerate(score["parts"]):
        if spec[0] == "latent":
            if latent is not None:
                d = latent.astype(np.float64) - np.asarray(score["latent_mean"])
                out[:, j] = np.sqrt(np.einsum("ni,ij,nj->n", d,
                                              np.asarray(score["latent_precision"]), d))
            continue
        source, ch, scale, sign = spec[0], int(spec[1]), int(spec[2]), spec[3]
        key = (source, ch, scale)
        if key not in cache:
            cache[key] = _box_extremes((res if source == "res" else x64)[:, ch], scale)
        out[:, j] = cache[key][0 if sign == "+" else 1]
    for ch in score.get("optional_channels", []):
        missing = ~np.any(x[:, ch].reshape(n, -1) != 0, axis=1)
        cols = [j for j, spec in enumerate(score["parts"])
                if spec[0] != "latent" and int(spec[1]) == ch]
        out[np.ix_(missing, cols)] = np.nan
    return out


def _quantile_z(parts: np.ndarray, score: dict[str, Any]) -> np.ndarray:
    """Parts as normal scores through their quantiles on normal frames (``part_quantiles``).

    Inside the range of the normal frames a part maps to the normal score of its
    quantile (``z_grid``); above it, it goes on linearly in units of the part's
    upper spread (``part_tail``), so an anomaly far outside every normal frame
    gets a large score instead of a capped one.
    """
    q = np.asarray(score["part_quantiles"], float)          # (Q, P)
    grid = np.asarray(score["z_grid"], float)               # (Q,)
    tail = np.asarray(score["part_tail"], float)            # (P,)
    z = np.full(parts.shape, np.nan)
    for j in range(parts.shape[1]):
        v = parts[:, j]
        ok = np.isfinite(v)
        zj = np.interp(v[ok], q[:, j], grid)
        hi = v[ok] > q[-1, j]
        zj[hi] = grid[-1] + (v[ok][hi] - q[-1, j]) / tail[j]
        z[ok, j] = zj
    return z


def standardised_parts(x: np.ndarray, reconstruction: np.ndarray, score: dict[str, Any],
                       latent: np.ndarray | None = None) -> np.ndarray:
    """:func:`score_components` in robust standard deviations above normal, ``(N, P)``.

    With ``log_median`` and ``log_mad`` in ``score`` each part is standardised
    on a log scale; parts listed in ``two_sided`` count in absolute value (a
    channel that is abnormally easy to reconstruct, such as a map of sharp
    pixels left empty by a defocused or trailed frame, is abnormal too). Parts
    of the channels listed in ``optional_channels`` are
    NaN for frames where that channel is all zero (an input the site could not
    make, such as the difference with a reference the node does not have yet),
    and so are parts switched off by ``use_parts`` (booleans).
    """
    if score.get("method") == MULTISCALE:
        return _quantile_z(multiscale_parts(x, reconstruction, score, latent), score)
    parts = score_components(x, reconstruction, score, latent)
    if "log_median" in score:
        parts = ((np.log(np.maximum(parts, 1e-12)) - np.asarray(score["log_median"]))
                 / np.asarray(score["log_mad"]))
    for j in score.get("two_sided", []):
        parts[:, j] = np.abs(parts[:, j])   # abnormally small errors count too
    for ch in score.get("optional_channels", []):
        missing = ~np.any(x[:, ch].reshape(len(x), -1) != 0, axis=1)
        parts[missing, ch] = np.nan
    if "use_parts" in score:
        parts[:, ~np.asarray(score["use_parts"], bool)] = np.nan
    return parts


def reconstruction_score(x: np.ndarray, reconstruction: np.ndarray, score: dict[str, Any],
                         latent: np.ndarray | None = None) -> np.ndarray:
    """Anomaly scores ``(N,)`` of a batch: the :func:`standardised_parts` combined.

    Every part speaks in the same units, robust standard deviations above
    normal; parts that are NaN (see :func:`standardised_parts`) are left out.
    ``score["combine"]`` is ``max`` (default), ``mean``, ``top2`` (the mean
    of the two largest parts), ``topK`` for any K (the mean of the K largest) or
    ``mahalanobis``: the distance of the vector of parts from the normal frames'
    (``combine_mean``, ``combine_precision``; a missing part counts as its median,
    0), which also sees many parts that are each only a little off (a trailed
    frame changes its cutouts, autocorrelation and sharp pixels together).
    ``multiscale-residuals`` scores (anomaly-v3) standardise their parts by
    their quantiles on normal frames (:func:`multiscale_parts`).
    """
    parts = standardised_parts(x, reconstruction, score, latent)
    how = score.get("combine", "max")
    if how == "mahalanobis":
        d = np.where(np.isnan(parts), 0.0, parts) - np.asarray(score["combine_mean"])
        return np.sqrt(np.einsum("ni,ij,nj->n", d, np.asarray(score["combine_precision"]), d))
    parts = np.where(np.isnan(parts), -np.inf, parts)
    if how.startswith("top") and how[3:].isdigit() and how != "top2":
        k = min(int(how[3:]), parts.shape[1])
        top = -np.partition(-parts, k - 1, axis=1)[:, :k]
        finite = np.isfinite(top)
        return np.where(finite, top, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
    if how == "mean":
        finite = np.isfinite(parts)
        return np.where(finite, parts, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
    if how == "top2" and parts.shape[1] >= 2:
        top = -np.partition(-parts, 1, axis=1)[:, :2]
        return np.where(np.isfinite(top[:, 1]), top.mean(axis=1), top[:, 0])
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

        self.sha256 = sha256_hex(onnx_bytes)
        try:
            self._session = cpu_session(onnx_bytes, threads=threads)
        except ValueError as exc:
            raise ModelRejected(str(exc)) from None
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
              read_noise_e: float | None = None, reference: Any = None,
              wcs: Any = None) -> AnomalyScore:
        """Score one frame (arguments as :func:`~site_node.edge.thumbnails.model_input`).

        ``reference`` is the field's reference, used by models whose input has
        a ``difference`` channel (``oa-thumb-v2``): either an object with
        ``image`` (background-subtracted pixels) and ``wcs`` (such as
        :class:`~site_node.edge.references.Reference`), aligned here through
        ``wcs`` (this frame's WCS), or an already aligned ``(image, valid)``
        pair. Without one (or when it cannot be aligned) that channel is left
        out of the score.
        """
        aligned = None
        if reference is not None and "difference" in self.spec.channels:
            if isinstance(reference, tuple):
                aligned = reference
            elif wcs is not None:
                aligned = align_reference(reference.image, reference.wcs, wcs, image.shape)
        x = model_input(data, image, background, rms, objects, gain=gain,
                        read_noise_e=read_noise_e, spec=self.spec, reference=aligned)[None]
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
