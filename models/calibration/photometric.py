"""A site's photometric calibration fitted from matched catalogue stars (numpy only).

The model of one site, band and span of time (typically one night)::

    mag = instrumental_mag + zero_point
          + colour_term * (colour - REFERENCE_COLOUR)
          - extinction * (airmass - 1)
          + flat(x, y)
          + drift_per_day * (time_mjd - reference_mjd)

``zero_point`` is therefore the zero point of a star of the reference colour, at
airmass 1, at the frame centre, at ``reference_mjd`` (the median time of the fit).
``flat`` is a low-order polynomial in the normalised frame position ``x, y`` (in
[-1, 1]) without a constant term (:data:`FLAT_TERMS`). The fit is weighted least
squares with an intrinsic scatter (``systematic_floor``) added in quadrature to
each star's error and estimated with the fit, and iterative 4-sigma clipping; a
previous calibration can serve as a Gaussian prior on the colour term, extinction
and flat (never on the zero point and drift, which change from night to night).

Bad data never raise: the result says ``converged=False`` and why. Malformed input
(missing column, wrong shape) raises :class:`ValueError` naming the column.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> n = 300
>>> m = {"time_mjd": 60000.0 + rng.uniform(0, 0.3, n), "airmass": rng.uniform(1.0, 2.0, n),
...      "catalogue_mag": rng.uniform(12, 16, n), "catalogue_colour": rng.uniform(0, 1.5, n),
...      "x": rng.uniform(-1, 1, n), "y": rng.uniform(-1, 1, n),
...      "instrumental_err": np.full(n, 0.003)}
>>> m["instrumental_mag"] = (m["catalogue_mag"] - 25.0 + 0.15 * (m["airmass"] - 1)
...                          + rng.normal(0, 0.003, n))
>>> cal = fit_site_calibration(m, site="la-palma", band="r")
>>> cal.converged, round(cal.zero_point, 2), round(cal.extinction, 2)
(True, 25.0, 0.15)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "COLUMNS",
    "FLAT_TERMS",
    "REFERENCE_COLOUR",
    "SiteCalibration",
    "fit_site_calibration",
    "flat_design",
]

COLUMNS = ("time_mjd", "airmass", "instrumental_mag", "instrumental_err", "catalogue_mag",
           "catalogue_colour", "x", "y")
"""Columns :func:`fit_site_calibration` needs in ``matches``."""

REFERENCE_COLOUR = 0.65
"""Colour (B-V) at which the colour term is zero (about the Sun's)."""

FLAT_TERMS = ((1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (3, 0), (2, 1), (1, 2), (0, 3),
              (4, 0), (3, 1), (2, 2), (1, 3), (0, 4))
"""Powers ``(i, j)`` of ``x**i * y**j`` of the flat, in order: degree 2 uses the first 5,
degree 3 the first 9, degree 4 all 14."""

_N_FLAT = {0: 0, 1: 2, 2: 5, 3: 9, 4: 14}
_CLIP_SIGMA = 4.0
_MIN_AIRMASS_RANGE = 0.15
_MIN_DRIFT_SPAN_DAYS = 1.0 / 24.0


def flat_design(x: np.ndarray, y: np.ndarray, n_terms: int) -> np.ndarray:
    """Columns ``x**i * y**j`` of the first ``n_terms`` :data:`FLAT_TERMS` (n, n_terms)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.empty((x.size, n_terms))
    for k, (i, j) in enumerate(FLAT_TERMS[:n_terms]):
        out[:, k] = x**i * y**j
    return out


@dataclass(frozen=True)
class SiteCalibration:
    """A fitted photometric calibration of one site and band (see the module docstring).

    Attributes
    ----------
    site, band : str
    zero_point : float
        Magnitude of 1 instrumental unit (ADU/s) for a star of :data:`REFERENCE_COLOUR`
        at airmass 1, frame centre, at ``reference_mjd``.
    colour_term : float
        mag per mag of colour (B-V) away from :data:`REFERENCE_COLOUR`.
    extinction : float
        mag per airmass.
    flat : tuple of float
        Coefficients of :data:`FLAT_TERMS` (as many as the fit used).
    drift_per_day : float
        Zero-point change per day (mag/day).
    reference_mjd : float
    covariance : tuple of tuple of float
        Covariance of ``(zero_point, colour_term, extinction, drift_per_day, *flat)``.
    residual_rms : float
        Robust RMS (mag) of the kept stars' residuals.
    n_stars : int
        Stars kept after clipping.
    converged : bool
    reason : str
        Why not converged (empty when converged); notes otherwise.
    systematic_floor : float
        Scatter (mag) beyond the reported errors, added in quadrature to the fit's
        weights and to :meth:`apply`'s errors.
    """

    site: str
    band: str
    zero_point: float
    colour_term: float
    extinction: float
    flat: tuple[float, ...]
    drift_per_day: float
    reference_mjd: float
    covariance: tuple[tuple[float, ...], ...]
    residual_rms: float
    n_stars: int
    converged: bool
    reason: str
    systematic_floor: float = field(default=0.0)

    @property
    def parameters(self) -> np.ndarray:
        """``(zero_point, colour_term, extinction, drift_per_day, *flat)``."""
        return np.array([self.zero_point, self.colour_term, self.extinction,
                         self.drift_per_day, *self.flat], float)

    def design(self, colour, airmass, x, y, time_mjd) -> np.ndarray:
        """Rows of partial derivatives of the correction with respect to the parameters."""
        colour, airmass, x, y, time_mjd = np.broadcast_arrays(
            *(np.asarray(v, float) for v in (colour, airmass, x, y, time_mjd)))
        shape = colour.shape
        cols = [np.ones(colour.size), colour.ravel() - REFERENCE_COLOUR,
                -(airmass.ravel() - 1.0), time_mjd.ravel() - self.reference_mjd]
        a = np.column_stack([*cols, flat_design(x.ravel(), y.ravel(), len(self.flat))])
        return a.reshape(*shape, a.shape[-1])

    def apply(self, instrumental_mag, instrumental_err, colour, airmass, x, y, time_mjd,
              ) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated magnitudes and their errors.

        The error combines ``instrumental_err``, the calibration's own uncertainty at
        that colour, airmass, position and time (from ``covariance``) and the
        ``systematic_floor``, in quadrature. Inputs broadcast; scalars give 0-d arrays.
        """
        a = self.design(colour, airmass, x, y, time_mjd)
        mag = np.asarray(instrumental_mag, float) + a @ self.parameters
        cov = np.asarray(self.covariance, float)
        var_cal = np.einsum("...i,ij,...j->...", a, cov, a)
        err = np.sqrt(np.asarray(instrumental_err, float) ** 2 + np.maximum(var_cal, 0.0)
                      + self.systematic_floor**2)
        return mag, err

    def zero_point_at(self, time_mjd: float) -> tuple[float, float]:
        """Zero point (reference colour, airmass 1, centre) at ``time_mjd`` and its sigma."""
        g = np.zeros(4 + len(self.flat))
        g[0], g[3] = 1.0, time_mjd - self.reference_mjd
        cov = np.asarray(self.covariance, float)
        return float(g @ self.parameters), float(math.sqrt(max(g @ cov @ g, 0.0)))

    def drift_sigma(self, other: SiteCalibration, at_mjd: float | None = None) -> float:
        """How many sigma the zero point moved from this fit to ``other``.

        Both zero points are taken at their own ``reference_mjd`` (night to night), or
        both at ``at_mjd`` through their drift terms; the sigma is the two fits'
        zero-point uncertainties in quadrature. Infinite if the move is nonzero and
        both are exact; NaN if either is undefined.
        """
        z1, s1 = self.zero_point_at(self.reference_mjd if at_mjd is None else at_mjd)
        z2, s2 = other.zero_point_at(other.reference_mjd if at_mjd is None else at_mjd)
        sigma = math.hypot(s1, s2)
        if not (math.isfinite(z1) and math.isfinite(z2) and math.isfinite(sigma)):
            return float("nan")
        if sigma == 0.0:
            return 0.0 if z1 == z2 else float("inf")
        return abs(z2 - z1) / sigma

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN as None) for events and files."""
        def clean(v: Any) -> Any:
            if isinstance(v, float | np.floating):
                return float(v) if math.isfinite(v) else None
            if isinstance(v, tuple | list):
                return [clean(u) for u in v]
            return v
        return {k: clean(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteCalibration:
        """Inverse of :meth:`to_dict`; raises ValueError naming a missing key."""
        def num(v: Any) -> float:
            return float("nan") if v is None else float(v)
        missing = [k for k in cls.__dataclass_fields__ if k not in data
                   and k != "systematic_floor"]
        if missing:
            raise ValueError(f"SiteCalibration dict lacks {', '.join(missing)}")
        return cls(site=str(data["site"]), band=str(data["band"]),
                   zero_point=num(data["zero_point"]), colour_term=num(data["colour_term"]),
                   extinction=num(data["extinction"]),
                   flat=tuple(num(v) for v in data["flat"]),
                   drift_per_day=num(data["drift_per_day"]),
                   reference_mjd=num(data["reference_mjd"]),
                   covariance=tuple(tuple(num(v) for v in row) for row in data["covariance"]),
                   residual_rms=num(data["residual_rms"]), n_stars=int(data["n_stars"]),
                   converged=bool(data["converged"]), reason=str(data["reason"]),
                   systematic_floor=num(data.get("systematic_floor", 0.0)))


def _columns(matches: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in COLUMNS:
        if name not in matches:
            raise ValueError(f"matches lacks column {name!r} (need {', '.join(COLUMNS)})")
        try:
            arr = np.asarray(matches[name], dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"column {name!r} is not numeric") from None
        if arr.ndim != 1:
            raise ValueError(f"column {name!r} must be 1-D, got shape {arr.shape}")
        out[name] = arr
    n = len(out[COLUMNS[0]])
    for name in COLUMNS[1:]:
        if len(out[name]) != n:
            raise ValueError(f"column {name!r} has {len(out[name])} rows, "
                             f"{COLUMNS[0]!r} has {n}")
    return out


def _failed(site: str, band: str, n_stars: int, reason: str, n_flat: int = 0,
            ref_mjd: float = float("nan")) -> SiteCalibration:
    nan = float("nan")
    p = 4 + n_flat
    return SiteCalibration(site, band, nan, nan, nan, (nan,) * n_flat, nan, ref_mjd,
                           tuple((nan,) * p for _ in range(p)), nan, n_stars, False, reason)


def _auto_flat_terms(n: int) -> int:
    return 14 if n >= 400 else 9 if n >= 150 else 5 if n >= 40 else 0


def fit_site_calibration(matches: Mapping[str, np.ndarray], *, site: str, band: str,
                         prior: SiteCalibration | None = None, flat_degree: int | None = None,
                         min_stars: int = 20, max_residual_rms: float = 0.05,
                         max_reduced_chi2: float = 100.0, max_clipped_fraction: float = 0.3,
                         max_frame_scatter: float = 0.01) -> SiteCalibration:
    """Fit a site's calibration in one band from matched catalogue stars.

    Parameters
    ----------
    matches : mapping of str to 1-D array
        :data:`COLUMNS`: ``time_mjd, airmass, instrumental_mag, instrumental_err,
        catalogue_mag, catalogue_colour, x, y`` (x, y normalised to [-1, 1]). Rows with
        non-finite values, non-positive errors or airmass below 1 are dropped.
    site, band : str
    prior : SiteCalibration, optional
        A previous fit of the same site and band: Gaussian prior (its covariance) on
        the colour term, extinction and the flat terms both fits share.
    flat_degree : int, optional
        0-4; by default from the number of stars (4 from 400, 3 from 150, 2 from 40).
    min_stars : int
        Fewer usable (or kept) stars and the fit does not converge.
    max_residual_rms, max_reduced_chi2, max_clipped_fraction, max_frame_scatter : float
        Quality limits: robust residual RMS (mag), chi-square per degree of freedom
        with the reported errors only, fraction of stars clipped, and RMS (mag) of the
        frames' mean residuals (stars of one frame share ``time_mjd``): thin cloud
        moves whole frames, which one model of the night cannot follow.

    Returns
    -------
    SiteCalibration
        ``converged=False`` with ``reason`` on bad data; never raises for it.

    Raises
    ------
    ValueError
        On malformed input: a missing, non-numeric or non-1-D column, columns of
        different lengths, an empty site or band, a bad ``flat_degree``.
    """
    if not site or not isinstance(site, str):
        raise ValueError(f"site must be a non-empty string, got {site!r}")
    if not band or not isinstance(band, str):
        raise ValueError(f"band must be a non-empty string, got {band!r}")
    if flat_degree is not None and flat_degree not in _N_FLAT:
        raise ValueError(f"flat_degree must be 0-4, got {flat_degree!r}")
    cols = _columns(matches)
    ok = np.ones(len(cols["time_mjd"]), bool)
    for arr in cols.values():
        ok &= np.isfinite(arr)
    ok &= (cols["instrumental_err"] > 0) & (cols["airmass"] >= 1.0)
    c = {k: v[ok] for k, v in cols.items()}
    n = int(ok.sum())
    if n < min_stars:
        return _failed(site, band, n, f"only {n} usable stars (need {min_stars})")
    if prior is not None and (prior.site != site or prior.band != band):
        return _failed(site, band, n, f"prior is for {prior.site}/{prior.band}, "
                                      f"not {site}/{band}")
    n_flat = _N_FLAT[flat_degree] if flat_degree is not None else _auto_flat_terms(n)
    ref_mjd = float(np.median(c["time_mjd"]))
    notes = []
    use_prior = prior is not None and prior.converged
    x_range = float(np.ptp(c["airmass"]))
    fit_ext = x_range >= _MIN_AIRMASS_RANGE or use_prior
    if not fit_ext:
        return _failed(site, band, n, f"airmass range {x_range:.3f} < {_MIN_AIRMASS_RANGE} "
                                      f"and no prior: extinction not constrained",
                       n_flat, ref_mjd)
    fit_drift = float(np.ptp(c["time_mjd"])) >= _MIN_DRIFT_SPAN_DAYS
    if not fit_drift:
        notes.append("span under 1 h: drift fixed at 0")

    probe = SiteCalibration(site, band, 0.0, 0.0, 0.0, (0.0,) * n_flat, 0.0, ref_mjd, (), 0.0,
                            0, False, "")
    a = probe.design(c["catalogue_colour"], c["airmass"], c["x"], c["y"], c["time_mjd"])
    b = c["catalogue_mag"] - c["instrumental_mag"]
    p = a.shape[1]
    active = np.ones(p, bool)
    active[3] = fit_drift
    prior_prec = np.zeros((p, p))
    prior_mean = np.zeros(p)
    if use_prior:
        shared = [1, 2] + [4 + k for k in range(min(n_flat, len(prior.flat)))]
        pc = np.asarray(prior.covariance, float)[np.ix_(shared, shared)]
        if np.all(np.isfinite(pc)):
            reg = 1e-12 * np.eye(len(shared))
            prior_prec[np.ix_(shared, shared)] = np.linalg.inv(pc + reg)
            prior_mean[shared] = prior.parameters[shared]
    err = c["instrumental_err"]
    keep = np.ones(n, bool)
    floor = 0.0
    params = np.zeros(p)
    cov = np.zeros((p, p))
    for _ in range(15):
        w = 1.0 / (err**2 + floor**2)
        ak = a[keep][:, active]
        lhs = ak.T @ (ak * w[keep][:, None]) + prior_prec[np.ix_(active, active)]
        rhs = ak.T @ (w[keep] * b[keep]) + (prior_prec @ prior_mean)[active]
        try:
            sol = np.linalg.solve(lhs, rhs)
            cov_a = np.linalg.inv(lhs)
        except np.linalg.LinAlgError:
            return _failed(site, band, int(keep.sum()), "singular fit: stars do not "
                           "constrain colour, airmass or position", n_flat, ref_mjd)
        params = np.zeros(p)
        params[active] = sol
        cov = np.zeros((p, p))
        cov[np.ix_(active, active)] = cov_a
        resid = b - a @ params
        r_keep = resid[keep]
        mad = 1.4826 * float(np.median(np.abs(r_keep - np.median(r_keep))))
        floor = _floor(r_keep, err[keep])
        scale = np.sqrt(err**2 + max(floor, 0.0) ** 2)
        robust = max(mad / max(float(np.median(scale[keep])), 1e-9), 1.0)
        new_keep = np.abs(resid) <= _CLIP_SIGMA * robust * scale
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
        if keep.sum() < min_stars:
            return _failed(site, band, int(keep.sum()),
                           f"only {int(keep.sum())} stars left after clipping "
                           f"(need {min_stars})", n_flat, ref_mjd)
    n_keep = int(keep.sum())
    factor, frame_rms = _frame_overdispersion(resid[keep], (err**2 + floor**2)[keep],
                                              c["time_mjd"][keep], int(active.sum()))
    cov *= factor
    dof = max(n_keep - int(active.sum()), 1)
    chi2_red = float(np.sum(resid[keep] ** 2 / err[keep] ** 2) / dof)
    rms = 1.4826 * float(np.median(np.abs(resid[keep] - np.median(resid[keep]))))
    clipped = 1.0 - n_keep / n
    reasons = []
    if rms > max_residual_rms:
        reasons.append(f"residual RMS {rms:.4f} mag > {max_residual_rms}")
    if chi2_red > max_reduced_chi2:
        reasons.append(f"reduced chi-square {chi2_red:.1f} > {max_reduced_chi2:g}")
    if frame_rms > max_frame_scatter:
        reasons.append(f"frame zero points scatter {1000 * frame_rms:.1f} mmag about the "
                       f"model > {1000 * max_frame_scatter:.0f}: not photometric (clouds?)")
    if clipped > max_clipped_fraction:
        reasons.append(f"{clipped:.0%} of stars clipped > {max_clipped_fraction:.0%}")
    converged = not reasons
    return SiteCalibration(
        site=site, band=band, zero_point=float(params[0]), colour_term=float(params[1]),
        extinction=float(params[2]), flat=tuple(float(v) for v in params[4:]),
        drift_per_day=float(params[3]), reference_mjd=ref_mjd,
        covariance=tuple(tuple(float(v) for v in row) for row in cov),
        residual_rms=rms, n_stars=n_keep, converged=converged,
        reason="; ".join(reasons + ([] if reasons else notes)), systematic_floor=float(floor))


def _frame_overdispersion(resid: np.ndarray, var: np.ndarray, time_mjd: np.ndarray,
                          n_params: int) -> tuple[float, float]:
    """Factor (>= 1) by which frame-mean residuals scatter more than their errors allow,
    and the RMS (mag) of the frame-mean residuals.

    Stars of one frame (one ``time_mjd``) share unmodelled errors (flat structure,
    a passing cloud); when the frames' weighted mean residuals scatter more than
    their formal errors, the covariance is scaled by their reduced chi-square.
    """
    frames, index = np.unique(time_mjd, return_inverse=True)
    w = 1.0 / var
    sw = np.bincount(index, w)
    mean = np.bincount(index, w * resid) / sw
    rms = float(np.sqrt(np.mean(mean**2)))
    if len(frames) < n_params + 3:
        return 1.0, rms
    chi2 = float(np.sum(mean**2 * sw)) / (len(frames) - n_params)
    return max(chi2, 1.0), rms


def _floor(resid: np.ndarray, err: np.ndarray) -> float:
    """Intrinsic scatter ``s`` making ``sum(r^2 / (err^2 + s^2)) = N`` (0 if already)."""
    r2, e2 = resid**2, err**2
    if np.mean(r2 / e2) <= 1.0:
        return 0.0
    lo, hi = 0.0, float(np.sqrt(np.mean(r2))) + 1e-12
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.mean(r2 / (e2 + mid**2)) > 1.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
