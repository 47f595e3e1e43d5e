"""Fusing calibrated points of one target across sites: inverse-variance GLS or learned.

Points of one band are grouped in time bins (``bin_days``, default 30 min):
every bin gives one fused point, the generalised least squares combination of
its measurements (:func:`models.fusion.inverse_variance.combine`), or the
learned fusion (:class:`models.fusion.serve.LearnedFusion`, which rescales each
measurement's sigma from its airmass, seeing and its site's record) when
``method="learned"``. Only points with a magnitude are fused; flagged points are
reported by the projection, never fused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["METHODS", "FusedPoint", "fuse_points"]

METHODS = ("gls", "learned")
DEFAULT_BIN_DAYS = 30.0 / 1440.0


@dataclass(frozen=True)
class FusedPoint:
    """One fused light-curve point: weighted time, band, magnitude, sigma, sites."""

    time_mjd: float
    band: str
    mag: float
    err: float
    n: int
    sites: tuple[str, ...]
    chi2: float
    method: str


@lru_cache(maxsize=1)
def _learned() -> Any:
    from models.fusion.serve import LearnedFusion

    return LearnedFusion()


def fuse_points(points: Sequence[Any], *, method: str = "gls",
                bin_days: float = DEFAULT_BIN_DAYS,
                site_stat: dict[str, float] | None = None) -> list[FusedPoint]:
    """Fuse calibrated points (objects with ``time_mjd``, ``band``, ``mag``, ``err``, ``site``,
    ``airmass``, ``fwhm_arcsec``) into one point per band and time bin.

    Parameters
    ----------
    points : sequence
        Calibrated points; those without ``mag`` are skipped.
    method : {"gls", "learned"}
    bin_days : float
        A bin starts at its first point and takes the points within this span.
    site_stat : dict, optional
        Each site's statistic for the learned fusion (``0.5 log mean(z^2)`` of its
        calibration stars; 0, honest, when unknown).
    """
    if method not in METHODS:
        raise ValueError(f"fusion method {method!r}: expected one of {', '.join(METHODS)}")
    if not bin_days > 0:
        raise ValueError(f"bin_days must be positive, got {bin_days}")
    good = [p for p in points if p.mag is not None and p.err is not None and p.err > 0
            and math.isfinite(p.time_mjd)]
    out: list[FusedPoint] = []
    for band in sorted({p.band for p in good}):
        series = sorted((p for p in good if p.band == band), key=lambda p: p.time_mjd)
        start = 0
        while start < len(series):
            end = start + 1
            while end < len(series) and series[end].time_mjd - series[start].time_mjd < bin_days:
                end += 1
            out.append(_fuse_bin(series[start:end], band, method, site_stat or {}))
            start = end
    out.sort(key=lambda f: (f.time_mjd, f.band))
    return out


def _fuse_bin(group: Sequence[Any], band: str, method: str,
              site_stat: dict[str, float]) -> FusedPoint:
    from models.fusion.inverse_variance import combine

    values = np.array([p.mag for p in group], float)
    sigma = np.array([p.err for p in group], float)
    if method == "learned":
        airmass = np.array([p.airmass if p.airmass else 1.2 for p in group], float)
        seeing = np.array([p.fwhm_arcsec if p.fwhm_arcsec else 1.2 for p in group], float)
        stat = np.array([site_stat.get(p.site, 0.0) for p in group], float)
        # the network's sites are not the model's: all are read as its honest site 0,
        # and the site statistic says how each one misreports now
        est = _learned().combine(values, sigma, np.clip(airmass, 1.0, 2.5), seeing,
                                 np.zeros(len(group), int), stat)
    else:
        est = combine(values, sigma)
    w = 1.0 / sigma**2
    t = float(np.sum(w * np.array([p.time_mjd for p in group])) / np.sum(w))
    return FusedPoint(round(t, 7), band, round(float(est.value), 5), round(float(est.sigma), 5),
                      len(group), tuple(sorted({p.site for p in group})),
                      round(float(est.chi2), 3), method)
