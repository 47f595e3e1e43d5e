"""Variability and new transients in a target's light curve.

:func:`find_variability` tests the fused points of one band against a constant
source (chi-square about the weighted mean, errors with a 0.01 mag floor;
significant when its survival probability is below ``p_max`` and the peak-to-peak amplitude is at least
``min_amplitude``). :func:`find_new_transient` looks at the latest point: a
detection where earlier frames saw nothing (their limits fainter than the
detection by ``min_rise``), or a jump from the earlier fused points of at least
``min_rise`` magnitudes at ``nsigma``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Finding", "find_new_transient", "find_variability"]


@dataclass(frozen=True)
class Finding:
    """What was found: kind, amplitude (mag), significance (sigma), statistic, time, why."""

    kind: str
    band: str
    amplitude_mag: float
    significance: float
    statistic: float
    time_mjd: float
    n_points: int
    sites: tuple[str, ...]
    reason: str


def find_variability(fused: Sequence[Any], *, min_points: int = 5, p_max: float = 1e-6,
                     min_amplitude: float = 0.05, floor: float = 0.01) -> list[Finding]:
    """Bands whose fused points are inconsistent with a constant magnitude.

    ``floor`` (mag) is added in quadrature to each point's error: systematics no
    error model carries (an extended target's seeing dependence, flat residuals)
    must not pass for variability.
    """
    from scipy.stats import chi2 as chi2_dist
    from scipy.stats import norm

    found = []
    for band in sorted({p.band for p in fused}):
        pts = [p for p in fused if p.band == band]
        if len(pts) < min_points:
            continue
        m = np.array([p.mag for p in pts])
        e = np.hypot(np.array([p.err for p in pts]), floor)
        w = 1.0 / e**2
        mean = float(np.sum(w * m) / np.sum(w))
        chi2 = float(np.sum(w * (m - mean) ** 2))
        dof = len(pts) - 1
        p = float(chi2_dist.sf(chi2, dof))
        amplitude = float(m.max() - m.min())
        if p < p_max and amplitude >= min_amplitude:
            sigma = float(min(norm.isf(max(p, 1e-300)), 40.0))
            sites = tuple(sorted({s for q in pts for s in q.sites}))
            found.append(Finding("variability", band, round(amplitude, 4), round(sigma, 2),
                                 round(chi2 / dof, 3), float(pts[-1].time_mjd), len(pts),
                                 sites, f"chi2/dof {chi2 / dof:.1f} over {len(pts)} fused "
                                 f"points (p = {p:.1e}), peak-to-peak {amplitude:.3f} mag"))
    return found


def find_new_transient(points: Sequence[Any], fused: Sequence[Any], *, min_rise: float = 0.3,
                       nsigma: float = 5.0, min_limits: int = 2) -> list[Finding]:
    """A new source or a jump in the latest measurement of each band.

    ``points`` are the calibrated points (with ``limit_mag`` for non-detections);
    ``fused`` the fused points.
    """
    found = []
    for band in sorted({p.band for p in points}):
        pts = sorted((p for p in points if p.band == band), key=lambda p: p.time_mjd)
        if not pts or pts[-1].mag is None:
            continue
        last = pts[-1]
        before = pts[:-1]
        detected = [p for p in before if p.mag is not None]
        limits = [p.limit_mag for p in before if p.mag is None and p.limit_mag is not None]
        if not detected and len(limits) >= min_limits:
            deepest = float(np.max(limits))
            if deepest - last.mag >= min_rise:
                found.append(Finding(
                    "new-transient", band, round(deepest - last.mag, 4),
                    round(min((deepest - last.mag) / last.err, 99.0), 2), 0.0, last.time_mjd,
                    len(pts), (last.site,),
                    f"detected at {last.mag:.2f} +- {last.err:.2f} where {len(limits)} earlier "
                    f"frames saw nothing to {deepest:.2f}"))
            continue
        earlier = [f for f in fused if f.band == band and f.time_mjd < last.time_mjd - 1e-6]
        if len(earlier) < 3:
            continue
        m = np.array([f.mag for f in earlier])
        w = 1.0 / np.array([f.err for f in earlier]) ** 2
        mean = float(np.sum(w * m) / np.sum(w))
        scatter = float(np.sqrt(np.sum(w * (m - mean) ** 2) / np.sum(w)))
        sigma = math.sqrt(last.err**2 + 1.0 / float(np.sum(w)) + scatter**2)
        rise = mean - last.mag
        if rise >= min_rise and rise / sigma >= nsigma:
            found.append(Finding(
                "new-transient", band, round(rise, 4), round(min(rise / sigma, 99.0), 2), 0.0,
                last.time_mjd, len(pts), (last.site,),
                f"{rise:.2f} mag brighter than its {len(earlier)} earlier fused points "
                f"({rise / sigma:.1f} sigma)"))
    return found
