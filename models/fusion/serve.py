"""Run the learned fusion with onnxruntime only (no torch).

The ONNX file maps each measurement's features to ``log(true/reported sigma)``;
:class:`LearnedFusion` rescales the reported sigmas and combines them exactly
(:func:`models.fusion.inverse_variance.gls_weights`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.fusion.inverse_variance import Combined, combine, gls_weights_batch
from models.fusion.simulate import FusionSet, features, set_features

__all__ = ["DEFAULT_MODEL", "METADATA_KEY", "LearnedFusion"]

DEFAULT_MODEL = Path(__file__).resolve().parent / "fusion-v1.onnx"
METADATA_KEY = "openastro"
INPUT_NAME = "features"
OUTPUT_NAME = "log_sigma_factor"


class LearnedFusion:
    """The shipped learned fusion, served with onnxruntime.

    Parameters
    ----------
    path : str or Path
        The ONNX file (default: the shipped ``fusion-v1.onnx``).
    """

    def __init__(self, path: str | Path = DEFAULT_MODEL) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"fusion model not found: {self.path}")
        self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, "{}")
        self.metadata: dict[str, Any] = json.loads(raw)

    def log_factors(self, x: np.ndarray) -> np.ndarray:
        """``log(true sigma / reported sigma)`` for features ``(..., N_FEATURES)``."""
        flat = np.asarray(x, dtype=np.float32).reshape(-1, x.shape[-1])
        out = self.session.run(None, {INPUT_NAME: flat})[0]
        return out.reshape(x.shape[:-1]).astype(np.float64)

    def fuse_set(self, data: FusionSet) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and their sigmas for every object of a :class:`FusionSet`."""
        corrected = data.sigma * np.exp(self.log_factors(set_features(data)))
        w, var = gls_weights_batch(data.covariance(corrected))
        return np.sum(np.where(data.mask, w * data.values, 0.0), axis=1), np.sqrt(var)

    def combine(self, values: Any, sigma: Any, airmass: Any, seeing: Any, site: Any,
                site_stat: Any, correlation: Any = None) -> Combined:
        """Fuse measurements of one quantity, correcting their reported sigmas.

        Parameters
        ----------
        values, sigma : array_like or Quantity (mag), shape (n,)
            Measurements and their reported sigmas.
        airmass : array_like, shape (n,)
        seeing : array_like or Quantity (arcsec), shape (n,)
            Seeing FWHM of each measurement.
        site : array_like of int, shape (n,)
            Site index of each measurement (:data:`models.fusion.simulate.SITES`).
        site_stat : array_like, shape (n,)
            Each measurement's site statistic: ``0.5 log mean(z^2)`` of the site's
            recent standard-star measurements, ``z = (x - truth) / reported sigma``
            (0 for a site that reports honestly).
        correlation : array_like, shape (n, n), optional
            Reported correlation of the errors.
        """
        import astropy.units as u

        unit = getattr(values, "unit", None)
        s = sigma.to_value(unit) if hasattr(sigma, "unit") else np.asarray(sigma, float)
        see = seeing.to_value(u.arcsec) if hasattr(seeing, "unit") else np.asarray(seeing)
        f = np.exp(self.log_factors(features(s, np.asarray(airmass, float),
                                             np.asarray(see, float), np.asarray(site),
                                             np.asarray(site_stat, float))))
        corrected = s * f
        return combine(values, corrected * unit if unit is not None else corrected,
                       correlation=correlation)
