"""Calibration drift of a site, detected from its own frames.

Within a night, :func:`night_drift` fits a straight line to the frames' zero
points (each frame's weighted mean of ``catalogue - instrumental`` corrected for
colour and extinction with the night's calibration) against time; the scatter
about the line (clouds, transparency) sets the slope's uncertainty, so a cloudy
night does not fake a drift. Between nights, the zero points at airmass 0 are
compared (:meth:`drift_sigma` of the calibrations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from control_center.photometry.calibrate import REF_COLOUR, frames_with_stars

__all__ = ["Drift", "frame_zero_points", "night_drift"]


@dataclass(frozen=True)
class Drift:
    """Change of the zero point over ``span_days`` (mag), its sigma and significance."""

    drift_mag: float
    sigma: float
    significance: float
    span_days: float
    n_frames: int


def frame_zero_points(calibration: Any, frames: Sequence[Any]) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """Times, zero points (at airmass 0, reference colour) and their errors of ``frames``."""
    times, zps, errs = [], [], []
    colour_term = float(getattr(calibration, "colour_term", 0.0) or 0.0)
    extinction = float(getattr(calibration, "extinction", 0.0) or 0.0)
    for _, f, use in frames_with_stars(frames, min_stars=3):
        s = f.stars
        d = (np.asarray(s["catalogue_mag"], float)[use]
             - np.asarray(s["instrumental_mag"], float)[use]
             - colour_term * (np.asarray(s["catalogue_colour"], float)[use] - REF_COLOUR)
             + extinction * f.airmass)
        e = np.sqrt(np.asarray(s["instrumental_err"], float)[use] ** 2 + 0.005**2)
        med = float(np.median(d))
        keep = np.abs(d - med) <= max(3.0 * 1.4826 * float(np.median(np.abs(d - med))), 0.02)
        w = 1.0 / e[keep] ** 2
        times.append(float(f.time_mjd))
        zps.append(float(np.sum(w * d[keep]) / np.sum(w)))
        errs.append(float(1.0 / math.sqrt(np.sum(w))))
    return np.array(times), np.array(zps), np.array(errs)


def night_drift(calibration: Any, frames: Sequence[Any], *, min_frames: int = 6,
                min_span_days: float = 1.5 / 24.0) -> Drift | None:
    """The zero point's linear change over the night's frames, or None with too few frames.

    The slope's sigma is the least-squares one scaled by the scatter of the
    frames about the line (reduced chi-square, when above 1).
    """
    t, zp, err = frame_zero_points(calibration, frames)
    if t.size < min_frames or np.ptp(t) < min_span_days:
        return None
    w = 1.0 / (err**2 + 0.003**2)
    a = np.column_stack([np.ones_like(t), t - t.min()])
    normal = a.T @ (a * w[:, None])
    cov = np.linalg.inv(normal)
    params = cov @ (a.T @ (w * zp))
    resid = zp - a @ params
    # robust reduced chi-square: clouds make some frames much fainter
    chi2 = float(np.median(w * resid**2) / 0.4549) if t.size > 2 else 1.0
    cov *= max(chi2, 1.0)
    span = float(np.ptp(t))
    drift = float(params[1]) * span
    sigma = math.sqrt(float(cov[1, 1])) * span
    return Drift(drift, sigma, abs(drift) / sigma if sigma > 0 else 0.0, span, int(t.size))
