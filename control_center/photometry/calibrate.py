"""A site's photometric calibration for one band and night, from the matched stars of its frames.

:func:`fit_calibration` fits, from the catalogue stars matched in the frames of
one site, band and night (``FramePhotometryMeasured`` events), the model

``catalogue_mag - instrumental_mag = zero_point + colour_term (colour - 0.65)
- extinction airmass + drift_per_day (t - reference_mjd) + flat(x, y)``

with :func:`models.calibration.photometric.fit_site_calibration` when that
module is installed, else with :class:`LinearCalibration` (weighted least
squares with Gaussian priors on the extinction, drift and flat terms, iterative
4-sigma clipping). Both give an object with the same interface
(``apply``, ``to_dict``, ``drift_sigma``, ``converged``, ``reason``).

:func:`frame_offset` then measures each frame's own offset from that model on
its stars (clouds and transparency change from frame to frame), which
:func:`calibrate_target` adds to the target's calibrated magnitude, with (optionally)
the *star flat*: what the night's stars of that camera, pooled
(:class:`StarResiduals`), say the model misses at the target's position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CalibratedPoint", "LinearCalibration", "LocalCorrection", "StarResiduals",
           "calibrate_target", "calibration_from_dict", "fit_calibration", "frame_offset",
           "frame_residuals", "frames_with_stars", "matches_table", "usable_stars"]

REF_COLOUR = 0.65
LOCAL_SCALE = 0.5
"""Stars this far (in normalised frame units) from the target count half in its frame offset."""
LOCAL_RADIUS = 0.06
"""Gaussian radius (normalised frame units) of the night's star residuals that correct
what the flat model misses at the target's position (:class:`StarResiduals`)."""
LOCAL_PRIOR = 0.01
"""Prior standard deviation (mag) of that local correction: it shrinks to 0 without stars."""
MIN_STARS = 15
"""Fewer usable stars than this in a night's frames and the calibration is not converged."""
_USABLE_MASK = 1 | 8 | 16 | 32 | 64
"""Star flags that exclude a star from calibration (saturated, edge, faint, psf-failed,
psf-unscaled: see :data:`site_node.edge.photometry.FLAGS`)."""
_PARAMS = ("zero_point", "colour_term", "extinction", "drift_per_day", "flat_x", "flat_y",
           "flat_r2")


def usable_stars(stars: Mapping[str, list]) -> np.ndarray:
    """Boolean mask of the stars of a frame's table that may calibrate."""
    flag = np.asarray(stars.get("flag", []), dtype=np.int64)
    inst = np.asarray(stars.get("instrumental_mag", []), dtype=float)
    err = np.asarray(stars.get("instrumental_err", []), dtype=float)
    return ((flag & _USABLE_MASK) == 0) & np.isfinite(inst) & np.isfinite(err) & (err > 0)


def frames_with_stars(frames: Iterable[Any], min_stars: int = 1,
                      ) -> Iterator[tuple[int, Any, np.ndarray]]:
    """``(index, frame, usable-star mask)`` of the measured frames (status ok, with time and
    airmass) that have at least ``min_stars`` usable stars."""
    for k, f in enumerate(frames):
        if f.status != "ok" or f.time_mjd is None or f.airmass is None:
            continue
        use = usable_stars(f.stars)
        if use.sum() >= min_stars:
            yield k, f, use


def matches_table(frames: Iterable[Any]) -> dict[str, np.ndarray]:
    """The usable matched stars of ``frames`` (``FramePhotometryMeasured``-like) as columns."""
    cols: dict[str, list] = {k: [] for k in (
        "time_mjd", "airmass", "instrumental_mag", "instrumental_err", "catalogue_mag",
        "catalogue_colour", "x", "y", "frame")}
    for k, f, use in frames_with_stars(frames):
        s, n = f.stars, int(use.sum())
        cols["time_mjd"].append(np.full(n, f.time_mjd))
        cols["airmass"].append(np.full(n, f.airmass))
        cols["frame"].append(np.full(n, k))
        for name in ("instrumental_mag", "instrumental_err", "catalogue_mag",
                     "catalogue_colour", "x", "y"):
            cols[name].append(np.asarray(s[name], dtype=float)[use])
    return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}


@dataclass
class LinearCalibration:
    """The calibration model fitted by weighted least squares (see the module docstring).

    ``flat`` holds the coefficients of ``x``, ``y`` and ``x^2 + y^2``;
    ``covariance`` is over :data:`_PARAMS` in order (scaled by the reduced
    chi-square when above 1).
    """

    site: str
    band: str
    zero_point: float = float("nan")
    colour_term: float = 0.0
    extinction: float = 0.0
    flat: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    drift_per_day: float = 0.0
    reference_mjd: float = 0.0
    covariance: list = field(default_factory=list)
    residual_rms: float = float("nan")
    n_stars: int = 0
    converged: bool = False
    reason: str = ""

    def _vector(self) -> np.ndarray:
        return np.array([self.zero_point, self.colour_term, self.extinction,
                         self.drift_per_day, *self.flat], float)

    def apply(self, instrumental_mag: Any, instrumental_err: Any, colour: Any, airmass: Any,
              x: Any, y: Any, time_mjd: Any) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated magnitudes and their errors (measurement and model covariance)."""
        design = _design(np.asarray(colour, float), np.asarray(airmass, float),
                         np.asarray(x, float), np.asarray(y, float),
                         np.asarray(time_mjd, float) - self.reference_mjd)
        mag = np.asarray(instrumental_mag, float) + design @ self._vector()
        cov = np.asarray(self.covariance, float) if self.covariance else np.zeros((7, 7))
        model_var = np.einsum("ij,jk,ik->i", design, cov, design)
        err = np.sqrt(np.asarray(instrumental_err, float) ** 2 + model_var)
        return mag, err

    def drift_sigma(self, other: Any) -> float:
        """How many sigma this calibration's zero point (at airmass 0) differs from ``other``'s."""
        a = np.asarray(self.covariance, float)
        b = np.asarray(getattr(other, "covariance", []) or np.zeros((1, 1)), float)
        var = (a[0, 0] if a.size else 0.0) + (b[0, 0] if b.size else 0.0)
        diff = self.zero_point - float(other.zero_point)
        return abs(diff) / math.sqrt(var) if var > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in (
            "site", "band", "zero_point", "colour_term", "extinction", "flat",
            "drift_per_day", "reference_mjd", "covariance", "residual_rms", "n_stars",
            "converged", "reason")}
        out["model"] = "linear"
        return _jsonable(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearCalibration:
        kwargs = {k: data[k] for k in (
            "site", "band", "zero_point", "colour_term", "extinction", "flat",
            "drift_per_day", "reference_mjd", "covariance", "residual_rms", "n_stars",
            "converged", "reason") if k in data}
        for k in ("zero_point", "residual_rms"):
            if kwargs.get(k) is None:
                kwargs[k] = float("nan")
        return cls(**kwargs)


def _design(colour: np.ndarray, airmass: np.ndarray, x: np.ndarray, y: np.ndarray,
            dt: np.ndarray) -> np.ndarray:
    colour, airmass, x, y, dt = np.broadcast_arrays(colour, airmass, x, y, dt)
    return np.column_stack([np.ones(colour.shape), colour - REF_COLOUR, -airmass, dt, x, y,
                            x * x + y * y])


_EXTINCTION = {"u": 0.50, "B": 0.25, "g": 0.18, "V": 0.15, "r": 0.10, "i": 0.07, "z": 0.05}
"""Typical extinction (mag per airmass): the prior of the extinction term."""


def _extinction_prior(band: str) -> float:
    return _EXTINCTION.get(band, 0.12)


def fit_linear(matches: Mapping[str, np.ndarray], *, site: str, band: str,
               min_stars: int = MIN_STARS) -> LinearCalibration:
    """Fit :class:`LinearCalibration` to ``matches`` (columns of :func:`matches_table`)."""
    m = {k: np.asarray(v, float) for k, v in matches.items()}
    n = m["catalogue_mag"].size
    if n < min_stars:
        return LinearCalibration(site, band, n_stars=n,
                                 reason=f"only {n} usable stars (need {min_stars})")
    t_ref = float(np.min(m["time_mjd"]))
    a = _design(m["catalogue_colour"], m["airmass"], m["x"], m["y"], m["time_mjd"] - t_ref)
    b = m["catalogue_mag"] - m["instrumental_mag"]
    sigma = np.sqrt(m["instrumental_err"] ** 2 + 0.005**2)
    # Gaussian priors: extinction, drift (mag/day), flat terms; zero point and colour free
    prior_mean = np.array([0.0, 0.0, _extinction_prior(band), 0.0, 0.0, 0.0, 0.0])
    prior_sd = np.array([np.inf, 0.5, 0.05, 0.5, 0.05, 0.05, 0.05])
    keep = np.isfinite(b) & np.isfinite(sigma)
    for _ in range(5):
        params, cov = _solve(a[keep], b[keep], sigma[keep], prior_mean, prior_sd)
        resid = (b - a @ params) / sigma
        scale = 1.4826 * np.median(np.abs(resid[keep]))
        new = np.isfinite(resid) & (np.abs(resid) <= 4.0 * max(scale, 1.0))
        if np.array_equal(new, keep):
            break
        keep = new
    used = int(keep.sum())
    if used < min_stars:
        return LinearCalibration(site, band, n_stars=used,
                                 reason=f"only {used} stars agree (need {min_stars})")
    resid = (b - a @ params)[keep]
    chi2 = float(np.sum((resid / sigma[keep]) ** 2)) / max(used - 7, 1)
    cov = cov * max(chi2, 1.0)
    if not np.all(np.isfinite(cov)):
        return LinearCalibration(site, band, n_stars=used, reason="singular fit")
    return LinearCalibration(
        site, band, zero_point=float(params[0]), colour_term=float(params[1]),
        extinction=float(params[2]), drift_per_day=float(params[3]),
        flat=[float(v) for v in params[4:]], reference_mjd=t_ref, covariance=cov.tolist(),
        residual_rms=float(1.4826 * np.median(np.abs(resid - np.median(resid)))),
        n_stars=used, converged=True, reason="")


def _solve(a: np.ndarray, b: np.ndarray, sigma: np.ndarray, prior_mean: np.ndarray,
           prior_sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = 1.0 / sigma**2
    normal = a.T @ (a * w[:, None])
    rhs = a.T @ (b * w)
    finite = np.isfinite(prior_sd)
    normal[finite, finite] += 1.0 / prior_sd[finite] ** 2
    rhs[finite] += prior_mean[finite] / prior_sd[finite] ** 2
    cov = np.linalg.pinv(normal)
    return cov @ rhs, cov


MAX_NIGHT_RMS = 0.15
"""Largest residual RMS (mag) of a night's model for it to count as converged: the
model carries the colour term, flat and extinction; each frame's own stars set its
zero point (:func:`frame_offset`), so clouds that vary from frame to frame (which
inflate the night model's residuals) do not stop a night from being calibrated."""


MAX_FRAME_SCATTER = 0.25
"""Largest scatter (mag) of the frames' zero points about a night's model for it to count
as converged: transparency changes up to this are each frame's own offset; beyond,
the night is too cloudy to trust even its colour term and flat."""


def _prior(site: str, band: str) -> Any:
    """A loose prior for the calibration model: colour term 0 +- 0.5, typical extinction
    +- 0.05 (so a night's first frames, at nearly one airmass, can be calibrated)."""
    from models.calibration.photometric import SiteCalibration

    big = 1e6
    cov = ((big, 0, 0, 0), (0, 0.25, 0, 0), (0, 0, 0.0025, 0), (0, 0, 0, big))
    return SiteCalibration(site, band, 0.0, 0.0, _extinction_prior(band), (), 0.0, 0.0, cov,
                           0.0, 0, True, "prior")


def fit_calibration(matches: Mapping[str, np.ndarray], *, site: str, band: str,
                    prior: Any = None) -> Any:
    """The site's calibration: the calibration model's fit when installed, else linear.

    With :func:`models.calibration.photometric.fit_site_calibration` the prior is
    ``prior`` (a previous night's calibration) or a loose one (:func:`_prior`), and
    a night converges up to :data:`MAX_NIGHT_RMS` and :data:`MAX_FRAME_SCATTER`. Any failure of the model's fit
    falls back to :func:`fit_linear` with the failure in ``reason`` (recorded,
    never silent).
    """
    try:
        from models.calibration.photometric import fit_site_calibration
    except ImportError:
        return fit_linear(matches, site=site, band=band)
    import inspect

    table = {k: np.asarray(v, float) for k, v in matches.items() if k != "frame"}
    limits = {"max_residual_rms": MAX_NIGHT_RMS, "max_frame_scatter": MAX_FRAME_SCATTER}
    accepted = inspect.signature(fit_site_calibration).parameters
    try:
        return fit_site_calibration(table, site=site, band=band,
                                    prior=prior if prior is not None else _prior(site, band),
                                    **{k: v for k, v in limits.items() if k in accepted})
    except Exception as exc:  # noqa: BLE001 - the model is optional; its failure is recorded
        cal = fit_linear(matches, site=site, band=band)
        cal.reason = (cal.reason + "; " if cal.reason else "") + \
            f"calibration model failed ({type(exc).__name__}: {exc}); linear fit used"
        return cal


def calibration_from_dict(data: Mapping[str, Any]) -> Any:
    """Rebuild a calibration recorded by :class:`SiteCalibrationFitted`."""
    if data.get("model") != "linear":
        try:
            from models.calibration.photometric import SiteCalibration

            return SiteCalibration.from_dict(dict(data))
        except (ImportError, KeyError, TypeError, ValueError):
            pass
    return LinearCalibration.from_dict(data)


@dataclass(frozen=True)
class FrameOffset:
    """A frame's offset from its night's calibration, measured on its own stars."""

    value: float
    sigma: float
    n_stars: int
    mean_colour: float
    reason: str = ""


def frame_offset(calibration: Any, frame: Any, *, min_stars: int = 3,
                 near: tuple[float, float] | None = None, scale: float = LOCAL_SCALE,
                 ) -> FrameOffset:
    """Weighted, 3-sigma clipped mean of ``catalogue - calibrated`` over the frame's stars.

    With ``near`` (a normalised position, the target's), each star's weight is
    also divided by ``1 + (d / scale)^2`` (``d`` its distance from there): the
    offset is then measured where the target is, so what the flat model misses
    there is corrected too. With fewer than ``min_stars`` usable stars the
    offset is 0 with the calibration's residual RMS as its sigma (``reason``
    says so).
    """
    s = frame.stars
    use = usable_stars(s)
    fallback_sigma = float(getattr(calibration, "residual_rms", float("nan")))
    fallback_sigma = fallback_sigma if math.isfinite(fallback_sigma) else 0.1
    if int(use.sum()) < min_stars:
        return FrameOffset(0.0, fallback_sigma, int(use.sum()), REF_COLOUR,
                           f"frame offset not measured ({int(use.sum())} usable stars)")
    col = np.asarray(s["catalogue_colour"], float)[use]
    inst = np.asarray(s["instrumental_mag"], float)[use]
    err = np.asarray(s["instrumental_err"], float)[use]
    mag, _ = calibration.apply(inst, np.zeros_like(inst), col, np.full(inst.size, frame.airmass),
                               np.asarray(s["x"], float)[use], np.asarray(s["y"], float)[use],
                               np.full(inst.size, frame.time_mjd))
    r = np.asarray(s["catalogue_mag"], float)[use] - mag
    sig = np.sqrt(err**2 + 0.005**2)
    if near is not None and near[0] is not None and near[1] is not None:
        d = np.hypot(np.asarray(s["x"], float)[use] - near[0],
                     np.asarray(s["y"], float)[use] - near[1])
        sig = sig * np.sqrt(1.0 + (d / scale) ** 2)
    keep = np.isfinite(r)
    for _ in range(5):
        w = 1.0 / sig[keep] ** 2
        mean = float(np.sum(w * r[keep]) / np.sum(w))
        spread = 1.4826 * float(np.median(np.abs(r[keep] - mean)))
        new = np.isfinite(r) & (np.abs(r - mean) <= 3.0 * max(spread, 3.0 * float(
            np.median(sig[keep]))))
        if np.array_equal(new, keep) or new.sum() < min_stars:
            break
        keep = new
    w = 1.0 / sig[keep] ** 2
    mean = float(np.sum(w * r[keep]) / np.sum(w))
    n = int(keep.sum())
    chi2 = float(np.sum(w * (r[keep] - mean) ** 2)) / max(n - 1, 1)
    sigma = math.sqrt(max(chi2, 1.0) / float(np.sum(w)))
    return FrameOffset(mean, sigma, n, float(np.average(col[keep], weights=w)))


def frame_residuals(calibration: Any, frame: Any) -> dict[str, np.ndarray]:
    """The usable stars of a frame: position, ``catalogue - calibrated`` after the frame's
    own (global) offset, and instrumental error; empty when the frame has no offset."""
    empty = {k: np.zeros(0) for k in ("x", "y", "r", "err")}
    if frame.status != "ok" or frame.time_mjd is None or frame.airmass is None:
        return empty
    s = frame.stars
    use = usable_stars(s)
    offset = frame_offset(calibration, frame)
    if offset.reason or not use.any():
        return empty
    col = np.asarray(s["catalogue_colour"], float)[use]
    inst = np.asarray(s["instrumental_mag"], float)[use]
    x, y = np.asarray(s["x"], float)[use], np.asarray(s["y"], float)[use]
    mag, _ = calibration.apply(inst, np.zeros_like(inst), col, np.full(inst.size, frame.airmass),
                               x, y, np.full(inst.size, frame.time_mjd))
    r = np.asarray(s["catalogue_mag"], float)[use] - mag - offset.value
    return {"x": x, "y": y, "r": r, "err": np.asarray(s["instrumental_err"], float)[use]}


@dataclass(frozen=True)
class LocalCorrection:
    """What the night's stars say the model misses at one position of the frame."""

    value: float
    sigma: float
    n_stars: float


class StarResiduals:
    """The residuals of one camera's stars over a night, pooled: a *star flat*.

    The calibration's flat is a low-order polynomial; dust shadows and vignetting
    details smaller than it can follow leave a few mmag at a given position, the
    same in every frame of the night. The target sits at (nearly) the same pixels
    in every frame, so each frame's near-target offset (:func:`frame_offset`)
    does not remove it, and every site gets its own bias. Pooling the stars of
    all the night's frames (each after its own global offset) measures it:
    :meth:`correction` is the Gaussian-weighted (radius :data:`LOCAL_RADIUS`) mean
    residual around a position, shrunk toward 0 by a prior of :data:`LOCAL_PRIOR`,
    minus what the near-target weighting of :func:`frame_offset` already takes.

    Parameters
    ----------
    residuals : iterable of dict
        :func:`frame_residuals` of each frame.
    """

    def __init__(self, residuals: Iterable[Mapping[str, np.ndarray]]) -> None:
        parts = [r for r in residuals if len(r["r"])]
        cols = {k: (np.concatenate([p[k] for p in parts]) if parts else np.zeros(0))
                for k in ("x", "y", "r", "err")}
        ok = np.isfinite(cols["r"]) & np.isfinite(cols["err"]) & (cols["err"] > 0)
        r = cols["r"][ok]
        floor = 0.005
        if r.size >= 10:
            med = float(np.median(r))
            mad = 1.4826 * float(np.median(np.abs(r - med)))
            keep = np.abs(r - med) <= 5.0 * max(mad, 1e-4)
            ok[np.flatnonzero(ok)[~keep]] = False
            floor = math.sqrt(max(mad**2 - float(np.median(cols["err"][ok] ** 2)), 0.005**2))
        self.x, self.y, self.r = cols["x"][ok], cols["y"][ok], cols["r"][ok]
        self.w = 1.0 / (cols["err"][ok] ** 2 + floor**2)

    def __len__(self) -> int:
        return int(self.r.size)

    def correction(self, x: float | None, y: float | None, *, radius: float = LOCAL_RADIUS,
                   prior: float = LOCAL_PRIOR, scale: float = LOCAL_SCALE) -> LocalCorrection:
        """The correction (mag, to add) at normalised position ``(x, y)``, and its sigma."""
        if x is None or y is None or self.r.size == 0:
            return LocalCorrection(0.0, 0.0, 0.0)
        d2 = (self.x - x) ** 2 + (self.y - y) ** 2
        k_local = self.w * np.exp(-0.5 * d2 / radius**2)
        k_near = self.w / (1.0 + d2 / scale**2)
        local = float(np.sum(k_local * self.r)) / (float(np.sum(k_local)) + 1.0 / prior**2)
        near = float(np.sum(k_near * self.r)) / float(np.sum(k_near))
        sigma = 1.0 / math.sqrt(float(np.sum(k_local)) + 1.0 / prior**2)
        n_eff = float(np.sum(k_local)) ** 2 / max(float(np.sum(k_local**2)), 1e-300)
        return LocalCorrection(local - near, sigma, n_eff)


@dataclass(frozen=True)
class CalibratedPoint:
    """One calibrated measurement of a target (mag None when not usable: ``flag`` says why)."""

    time_mjd: float
    band: str
    site: str
    telescope: str
    observation_id: str
    mag: float | None
    err: float | None
    flag: str
    airmass: float | None = None
    fwhm_arcsec: float | None = None
    limit_mag: float | None = None
    calibration_rms: float | None = None


def calibrate_target(calibration: Any, frame: Any,
                     stars: StarResiduals | None = None) -> CalibratedPoint:
    """The calibrated magnitude of a frame's target, or a point flagged with why not.

    ``err`` combines the target's instrumental error, the frame offset's error
    and the colour term's uncertainty for the target's colour against the stars'.
    With ``stars`` (the night's pooled star residuals of this camera and band), the
    local correction at the target's position (:meth:`StarResiduals.correction`)
    is added, and its error too.
    """
    t = frame.measurement or {}
    base = {"time_mjd": float(frame.time_mjd) if frame.time_mjd is not None else float("nan"),
                "band": frame.filter, "site": frame.site, "telescope": frame.telescope,
                "observation_id": frame.observation_id, "airmass": frame.airmass,
                "fwhm_arcsec": frame.fwhm_arcsec}
    if frame.status != "ok":
        return CalibratedPoint(mag=None, err=None, flag=f"frame: {frame.status}", **base)
    if calibration is None:
        return CalibratedPoint(mag=None, err=None, flag="no calibration for this night", **base)
    if not getattr(calibration, "converged", False):
        return CalibratedPoint(mag=None, err=None, flag="calibration not converged: "
                               f"{getattr(calibration, 'reason', '')}", **base)
    offset = frame_offset(calibration, frame, near=(t.get("x"), t.get("y")))
    rms = float(getattr(calibration, "residual_rms", float("nan")))
    base["calibration_rms"] = rms if math.isfinite(rms) else None
    status = t.get("status", "missing")
    colour = float(t.get("colour") if t.get("colour") is not None else REF_COLOUR)
    x, y = t.get("x"), t.get("y")
    if status == "not-detected" and t.get("limit_mag") is not None:
        lim, _ = calibration.apply([t["limit_mag"]], [0.0], [colour], [frame.airmass],
                                   [x or 0.0], [y or 0.0], [frame.time_mjd])
        base["limit_mag"] = round(float(lim[0]) + offset.value, 4)
    if status != "ok" or t.get("instrumental_mag") is None:
        return CalibratedPoint(mag=None, err=None, flag=f"target: {status}", **base)
    args = ([frame.airmass] * 2, [x, x], [y, y], [frame.time_mjd] * 2)
    mag, model_err = calibration.apply([t["instrumental_mag"], t["instrumental_mag"]],
                                       [0.0, 0.0], [colour, offset.mean_colour], *args)
    colour_var = max(float(model_err[0]) ** 2 - float(model_err[1]) ** 2, 0.0)
    local = stars.correction(x, y) if stars is not None else LocalCorrection(0.0, 0.0, 0.0)
    value = float(mag[0]) + offset.value + local.value
    err = math.sqrt(float(t["instrumental_err"]) ** 2 + offset.sigma**2 + colour_var
                    + local.sigma**2)
    flag = "ok" if not offset.reason else offset.reason
    return CalibratedPoint(mag=round(value, 5), err=round(err, 5), flag=flag, **base)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    return value
