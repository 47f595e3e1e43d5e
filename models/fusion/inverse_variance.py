"""Inverse-variance combination with covariance: the generalised least squares estimate.

For measurements ``x`` of one quantity with covariance ``C`` the best linear
unbiased estimate is ``w @ x`` with weights ``w = C^-1 1 / (1^T C^-1 1)`` and
variance ``1 / (1^T C^-1 1)``; for independent measurements this reduces to the
classic ``w_i ∝ 1/sigma_i^2`` and ``1 / sum(1/sigma_i^2)``.

Examples
--------
>>> import astropy.units as u
>>> est = combine([10.0, 10.2] * u.mag, sigma=[0.1, 0.2] * u.mag)
>>> print(f"{est.value:.3f} +- {est.sigma:.4f}")
10.040 mag +- 0.0894 mag
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Combined", "combine", "covariance", "gls_weights", "gls_weights_batch"]


@dataclass(frozen=True)
class Combined:
    """The result of :func:`combine`.

    Attributes
    ----------
    value : float or Quantity
        The combined estimate (in the unit of the inputs).
    sigma : float or Quantity
        Its standard deviation, ``sqrt(1 / (1^T C^-1 1))``.
    weights : ndarray
        The weights given to each measurement (they sum to 1; may be negative
        when measurements are strongly correlated).
    chi2 : float
        ``r^T C^-1 r`` of the residuals around the estimate (``n - 1`` degrees of
        freedom when the covariance is right).
    """

    value: Any
    sigma: Any
    weights: np.ndarray
    chi2: float


def _strip(x: Any, unit: Any, name: str) -> np.ndarray:
    if hasattr(x, "unit"):
        if unit is None:
            raise ValueError(f"{name} has a unit but the measurements do not")
        x = x.to_value(unit)
    elif unit is not None and name != "correlation":
        raise ValueError(f"{name} must carry a unit like the measurements ({unit})")
    return np.asarray(x, dtype=np.float64)


def covariance(sigma: Any, correlation: Any = None) -> np.ndarray:
    """The covariance ``D R D`` from standard deviations and a correlation matrix.

    Parameters
    ----------
    sigma : array_like, shape (n,)
        Standard deviations (plain numbers).
    correlation : array_like, shape (n, n), optional
        Correlation matrix (symmetric, unit diagonal); identity if omitted.
    """
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim != 1 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("sigma must be a 1-d array of positive finite numbers")
    if correlation is None:
        return np.diag(s**2)
    r = np.asarray(correlation, dtype=np.float64)
    if r.shape != (len(s), len(s)):
        raise ValueError(f"correlation must be {len(s)}x{len(s)}, got {r.shape}")
    if not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1.0):
        raise ValueError("correlation must be symmetric with a unit diagonal")
    return r * np.outer(s, s)


def gls_weights(cov: Any) -> tuple[np.ndarray, float]:
    """GLS weights ``C^-1 1 / (1^T C^-1 1)`` and variance ``1 / (1^T C^-1 1)``.

    Parameters
    ----------
    cov : array_like, shape (n, n)
        Covariance of the measurements (symmetric positive definite).

    Returns
    -------
    weights : ndarray, shape (n,)
    variance : float
    """
    c = np.asarray(cov, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"covariance must be a non-empty square matrix, got shape {c.shape}")
    try:
        chol = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise ValueError("covariance is not positive definite") from None
    ones = np.ones(len(c))
    y = np.linalg.solve(chol, ones)
    cinv1 = np.linalg.solve(chol.T, y)
    info = float(ones @ cinv1)
    return cinv1 / info, 1.0 / info


def gls_weights_batch(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gls_weights` for a stack of covariances ``(B, n, n)`` -> ``(B, n)``, ``(B,)``."""
    c = np.asarray(cov, dtype=np.float64)
    ones = np.ones(c.shape[:-1])
    cinv1 = np.linalg.solve(c, ones[..., None])[..., 0]
    info = cinv1.sum(axis=-1)
    return cinv1 / info[..., None], 1.0 / info


def combine(values: Any, sigma: Any = None, *, correlation: Any = None,
            cov: Any = None) -> Combined:
    """Combine measurements of one quantity by generalised least squares.

    Parameters
    ----------
    values : array_like or Quantity, shape (n,)
        The measurements (e.g. a star's magnitude from several sites).
    sigma : array_like or Quantity, shape (n,), optional
        Their reported standard deviations (same unit as ``values``).
    correlation : array_like, shape (n, n), optional
        Correlation between measurements (with ``sigma``).
    cov : array_like or Quantity, shape (n, n), optional
        Full covariance, instead of ``sigma`` and ``correlation`` (unit squared).

    Returns
    -------
    Combined
        Estimate, its sigma, the weights and the chi-square of the residuals.
    """
    unit = getattr(values, "unit", None)
    x = _strip(values, unit, "values")
    if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError("values must be a non-empty 1-d array of finite numbers")
    if (sigma is None) == (cov is None):
        raise ValueError("give either sigma (with optional correlation) or cov")
    if cov is not None:
        c = _strip(cov, None if unit is None else unit**2, "cov")
    else:
        c = covariance(_strip(sigma, unit, "sigma"), correlation)
    if c.shape != (len(x), len(x)):
        raise ValueError(f"covariance must be {len(x)}x{len(x)} for {len(x)} values")
    w, var = gls_weights(c)
    est = float(w @ x)
    r = x - est
    chi2 = float(r @ np.linalg.solve(c, r))
    sd = float(np.sqrt(var))
    if unit is not None:
        return Combined(est * unit, sd * unit, w, chi2)
    return Combined(est, sd, w, chi2)
