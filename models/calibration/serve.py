"""The shipped site-invariant star/galaxy classifier, with onnxruntime and numpy only.

Input: a 25x25 cutout centred on a source and a bright star of the same frame (its
PSF), both in native pixels; output: P(galaxy) and 32 site-invariant features.

Examples
--------
>>> import numpy as np
>>> clf = SiteInvariantClassifier()
>>> noise = np.random.default_rng(0).normal(1000, 10, (2, 25, 25))
>>> p, features = clf.predict(noise, noise)
>>> p.shape, features.shape
((2,), (2, 32))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_MODEL", "INPUT_NAME", "METADATA_KEY", "OUTPUT_NAMES",
           "SiteInvariantClassifier", "preprocess"]

INPUT_NAME = "cutouts"
OUTPUT_NAMES = ("p_galaxy", "features")
METADATA_KEY = "openastro.calibration"
DEFAULT_MODEL = Path(__file__).with_name("calibration-v1.onnx")


def _normalise(raw: np.ndarray, what: str) -> np.ndarray:
    raw = np.asarray(raw, np.float32)
    if raw.ndim != 3 or raw.shape[1:] != (25, 25):
        raise ValueError(f"{what} must be (batch, 25, 25), got shape {raw.shape}")
    border = np.concatenate([raw[:, 0, :], raw[:, -1, :], raw[:, 1:-1, 0], raw[:, 1:-1, -1]],
                            axis=1)
    img = raw - np.median(border, axis=1)[:, None, None]
    core = img[:, 9:16, 9:16].sum(axis=(1, 2))
    img = img * (10.0 / np.maximum(core, 1e-3))[:, None, None]
    return np.clip(img, -2.0, 10.0)


def preprocess(cutouts: np.ndarray, psf_stars: np.ndarray) -> np.ndarray:
    """Raw cutouts and PSF stars (batch, 25, 25) in ADU -> the model's input
    (batch, 2, 25, 25) float32.

    Each image: the border median subtracted, divided by a tenth of the flux of its
    central 7x7 pixels (a point source's peak is then about 1-5), clipped to [-2, 10].
    ``psf_stars`` are bright, isolated stars of the same frames (one per cutout).
    """
    a = _normalise(cutouts, "cutouts")
    b = _normalise(psf_stars, "psf_stars")
    if len(a) != len(b):
        raise ValueError(f"{len(a)} cutouts but {len(b)} psf_stars")
    return np.stack([a, b], axis=1).astype(np.float32)


class SiteInvariantClassifier:
    """P(galaxy) and site-invariant features of 25x25 cutouts centred on a source.

    Parameters
    ----------
    path : path-like, optional
        The ONNX file (default: the shipped ``calibration-v1.onnx``).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path) if path is not None else DEFAULT_MODEL
        self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        props = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] = json.loads(props.get(METADATA_KEY, "{}"))

    def predict(self, cutouts: np.ndarray, psf_stars: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Galaxy probabilities (n,) and features (n, 32) of raw cutouts (n, 25, 25) centred
        on sources, each with a bright star of its frame (n, 25, 25)."""
        x = preprocess(cutouts, psf_stars)
        p, f = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})
        return p, f
