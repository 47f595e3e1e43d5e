"""Calibration and error metrics of value predictions (numpy only)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FINE_LEVELS", "LEVELS", "coverage", "fit_scale", "fit_variance_scale", "interval_ece", "rmse"]

LEVELS = (0.5, 0.68, 0.9, 0.95)
"""Nominal coverages of the central intervals the ECE averages over (the issue's goal)."""
FINE_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
"""A finer grid, reported alongside."""


def _z(level: float) -> float:
    """Half-width in sigmas of the central Gaussian interval holding ``level``."""
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2.0)) < level:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def coverage(y, mean, sigma, levels=LEVELS) -> dict[float, float]:
    """Fraction of ``y`` inside ``mean +- z(level) sigma`` for each level."""
    y, mean, sigma = (np.asarray(a, dtype=float) for a in (y, mean, sigma))
    return {lv: float(np.mean(np.abs(y - mean) <= _z(lv) * sigma)) for lv in levels}


def interval_ece(y, mean, sigma, levels=LEVELS) -> float:
    """Expected calibration error of the intervals: mean |coverage - nominal| over levels."""
    cov = coverage(y, mean, sigma, levels)
    return float(np.mean([abs(c - lv) for lv, c in cov.items()]))


def fit_variance_scale(y, mean, sigma, levels=LEVELS) -> float:
    """The factor on the variance that minimises :func:`interval_ece` (grid in log space)."""
    grid = np.exp(np.linspace(np.log(0.1), np.log(10.0), 161))
    eces = [interval_ece(y, mean, sigma * math.sqrt(s), levels) for s in grid]
    return float(grid[int(np.argmin(eces))])


def fit_scale(y, x) -> float:
    """Least-squares ``s`` in ``y ~ s x`` (puts a formula's units on the value's)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.dot(x, y) / max(np.dot(x, x), 1e-12))


def rmse(y, pred) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))
