"""Photometry of a frame at the site: the target and the catalogue stars, cross-matched by WCS.

:func:`measure_photometry` runs after source extraction (:mod:`site_node.edge.sources`).
It projects the star catalogue through the frame's WCS, matches it to the
extracted sources (mutual nearest neighbours within ``max(2 arcsec, 1 px)``) and
measures, with the same aperture for all (radius ``1.5 FWHM``, sky from a local
annulus), every matched star and the target (forced, at the frame's requested
``RA``/``DEC``). A star or target with a catalogue neighbour bright enough to
spill into its aperture is *crowded*: it is measured by PSF photometry
(photutils, a Moffat PSF of the measured FWHM fitted jointly with its neighbours
at fixed positions) instead. The target is measured last, once the stars give the
frame's instrumental zero point: the light its catalogue neighbours put into its
aperture, down to V = 23 (a deeper query than the stars'), is predicted from their
magnitudes and subtracted (or, for a bright neighbour, fitted with the neighbour's
flux tied to its magnitude). The result, :class:`FramePhotometry`, is compact and
JSON-able: the target's instrumental measurement and a table of matched stars
(column lists), everything the control center needs to calibrate the site.

Instrumental magnitudes are ``-2.5 log10(flux_ADU / EXPTIME)``. Positions are
normalised to ``[-1, 1]`` across the frame (for flat-field terms).

Bad input is flagged, never silently used: a frame without WCS (``status``
``no-wcs``, no stars, no target), a target outside the frame (target
``status`` ``outside-frame``), saturated or blended stars (flag bits in the
table, see :data:`FLAGS`), a target below 3 sigma (``not-detected`` with a
3-sigma limiting magnitude).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["FLAGS", "FramePhotometry", "measure_photometry", "photometry_dict",
           "photometry_stage"]

FLAGS = {"saturated": 1, "blended": 2, "crowded": 4, "edge": 8, "faint": 16, "psf-failed": 32,
         "psf-unscaled": 64}
"""Bits of a star's ``flag``: saturated (peak near SATURATE), blended (sep's deblending
flag), crowded (measured by PSF photometry), edge (aperture leaves the frame), faint
(SNR < 5), psf-failed (crowded but not PSF-fitted: the fit failed or the frame's
PSF budget ran out; aperture flux kept), psf-unscaled (PSF-fitted in a frame whose
aperture correction comes from the PSF model, not from stars: its flux is not on
the same scale as the aperture fluxes to better than ~2 %)."""
USABLE_MASK = (FLAGS["saturated"] | FLAGS["edge"] | FLAGS["faint"] | FLAGS["psf-failed"]
               | FLAGS["psf-unscaled"])
"""A star with any of these bits must not be used for calibration."""

DEEP_LIMIT = 23.0
"""Faintest V of the neighbours whose light in the target's aperture is subtracted."""
_SUBTRACT_BELOW = 0.25
"""A crowded target whose neighbours' predicted light in the aperture is below this
fraction of the aperture's flux is measured by aperture, the neighbours subtracted."""
_NEIGHBOUR_PRIOR = 0.1
"""Relative standard deviation of a neighbour's catalogue-predicted flux in a PSF fit."""
_SAME_SOURCE_ARCSEC = 0.3
"""A deep-catalogue star this close to the target's position is the target itself."""
_MAX_STARS = 80
_REF_COLOUR = 0.65
_MOFFAT_BETA = 3.5
_PSF_MAX = 60
"""At most this many crowded objects get a PSF fit per frame (the brightest first)."""

Catalogue = Callable[..., Any]


@dataclass(frozen=True)
class FramePhotometry:
    """The photometric measurements of one frame (see the module docstring).

    ``stars`` maps column names to lists: ``x``, ``y`` (normalised to [-1, 1]),
    ``instrumental_mag``, ``instrumental_err``, ``catalogue_mag``,
    ``catalogue_colour`` (B-V), ``flag`` (bits of :data:`FLAGS`). ``target`` is a
    dict (``status``, ``ra``, ``dec``, ``x``, ``y``, ``flux``, ``flux_err``,
    ``snr``, ``instrumental_mag``, ``instrumental_err``, ``limit_mag``, ``method``,
    ``colour``) or None without WCS.
    """

    status: str
    filter: str | None
    exptime: float | None
    time_mjd: float | None
    airmass: float | None
    fwhm_px: float | None
    aperture_px: float | None
    target: dict[str, Any] | None = None
    stars: dict[str, list] = field(default_factory=dict)
    n_matched: int = 0
    n_saturated: int = 0
    n_crowded: int = 0
    aperture_correction: float | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return photometry_dict(asdict(self))


def photometry_dict(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy scalars as Python numbers."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {k: photometry_dict(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [photometry_dict(v) for v in value]
    return value


def measure_photometry(frame: Any, ext: Any, *, fwhm_px: float | None,
                       catalogue: Catalogue | None = None, mag_limit: float = 20.0,
                       max_stars: int = _MAX_STARS, psf: bool = True,
                       deep_limit: float | None = DEEP_LIMIT) -> FramePhotometry:
    """Measure the target and the matched catalogue stars of a frame.

    Parameters
    ----------
    frame : site_node.edge.frame.Frame
        The loaded frame (header, WCS, exposure time, gain, saturation).
    ext : site_node.edge.sources.Extraction
        Its extraction (background-subtracted image, sky noise, sources).
    fwhm_px : float or None
        Measured FWHM (pixels); 2.5 px when unknown (and a reason says so).
    catalogue : callable, optional
        ``f(ra, dec, radius_deg, *, mag_limit)`` returning a table with ``ra_deg``,
        ``dec_deg``, ``b_minus_v`` and ``mag_in(filter)`` (default
        ``simulator.starfield.stars_in_field``).
    mag_limit : float
        Faintest catalogue V magnitude queried.
    max_stars : int
        The table keeps at most this many matched stars (usable and brightest first).
    psf : bool
        Measure crowded objects by PSF photometry (else aperture, flagged crowded).
    deep_limit : float or None
        Faintest V of the deep catalogue query around the target: the light of
        fainter-than-``mag_limit`` neighbours in the target's aperture is
        subtracted (:func:`_decontaminate`); None: no correction.

    Returns
    -------
    FramePhotometry
    """
    header = frame.header
    reasons: list[str] = []
    exptime = frame.exptime
    time_mjd = _mid_mjd(header, exptime)
    airmass = _header_float(header, "AIRMASS")
    if airmass is None:
        reasons.append("no AIRMASS in the header")
    if time_mjd is None:
        reasons.append("no MJD-OBS/DATE-OBS in the header")
    base = {"filter": frame.filter, "exptime": exptime, "time_mjd": time_mjd, "airmass": airmass}
    if frame.wcs is None:
        return FramePhotometry(status="no-wcs", fwhm_px=fwhm_px, aperture_px=None,
                               reasons=reasons + ["no WCS: nothing cross-matched"], **base)
    if not exptime:
        return FramePhotometry(status="no-exptime", fwhm_px=fwhm_px, aperture_px=None,
                               reasons=reasons + ["no EXPTIME: no instrumental magnitudes"],
                               **base)
    if not ext.rms > 0:
        return FramePhotometry(status="no-sky-noise", fwhm_px=fwhm_px, aperture_px=None,
                               reasons=reasons + ["constant frame: nothing measured"], **base)
    fwhm = fwhm_px if fwhm_px and math.isfinite(fwhm_px) and fwhm_px > 0.5 else None
    if fwhm is None:
        reasons.append("FWHM not measured: 2.5 px assumed")
        fwhm = 2.5
    radius = max(1.5 * fwhm, 2.0)
    shape = ext.image.shape
    stars, why = _catalogue_stars(frame, catalogue, mag_limit)
    if why:
        reasons.append(why)
    measure = _Measurer(ext.image, ext.rms, frame.gain, fwhm, radius, exptime, psf)
    measure.calibrate_aperture(ext.objects, stars)
    if measure.aperture_correction_source == "psf-model":
        reasons.append("aperture correction from the PSF model (fewer than 3 isolated "
                       "bright stars)")
    measure.psf_budget -= 1                   # kept for the target, measured last
    table, counts = _star_table(frame, ext, stars, measure, max_stars)
    measure.psf_budget += 1
    measure.zero_point = _instrumental_zero_point(table)
    target = _target(frame, header, shape, stars, measure, reasons)
    if target.get("method") == "aperture" and stars is not None:
        _decontaminate(target, frame, catalogue, measure, table, deep_limit, reasons)
    if counts["matched"] == 0:
        reasons.append("no catalogue star matched a detection")
    status = "ok" if counts["usable"] > 0 else "no-stars"
    return FramePhotometry(status=status, fwhm_px=round(fwhm, 3), aperture_px=round(radius, 3),
                           target=target, stars=table, n_matched=counts["matched"],
                           n_saturated=counts["saturated"], n_crowded=counts["crowded"],
                           aperture_correction=measure.aperture_correction, reasons=reasons,
                           **base)


def photometry_stage(frame: Any, ext: Any, fwhm_px: float | None, *,
                     catalogue: Catalogue | None = None,
                     notes: list[str] | None = None) -> dict[str, Any] | None:
    """The edge pipeline's photometry stage: :func:`measure_photometry` as a JSON-able dict.

    A failure never loses the frame: it returns None and appends the reason to
    ``notes`` (the pipeline's warnings); the control center then records the
    frame's photometry as ``not-measured`` with that reason.
    """
    try:
        return measure_photometry(frame, ext, fwhm_px=fwhm_px, catalogue=catalogue).to_dict()
    except Exception as exc:  # noqa: BLE001 - a failing stage must not lose the frame
        if notes is not None:
            text = " ".join(str(exc).split())[:160]
            notes.append(f"photometry not measured: {type(exc).__name__}: {text}")
        return None


# -- catalogue and matching ----------------------------------------------------------------


@dataclass
class _Stars:
    x: np.ndarray
    y: np.ndarray
    mag: np.ndarray
    colour: np.ndarray


def _catalogue_stars(frame: Any, catalogue: Catalogue | None,
                     mag_limit: float) -> tuple[_Stars | None, str]:
    from site_node.edge.zeropoint import field_cone

    if not frame.filter:
        return None, "no FILTER in the header: no catalogue magnitudes"
    if catalogue is None:
        from simulator.starfield import stars_in_field as catalogue
    ra0, dec0, radius = field_cone(frame.wcs, frame.shape)
    try:
        found = catalogue(ra0, dec0, min(radius * 1.02, 10.0), mag_limit=mag_limit)
        mag = np.asarray(found.mag_in(frame.filter), float)
        colour = np.asarray(getattr(found, "b_minus_v", np.full(mag.size, _REF_COLOUR)), float)
    except (KeyError, ValueError) as exc:
        return None, f"catalogue has no band {frame.filter!r} ({exc})"
    if mag.size == 0:
        return None, "no catalogue star in the field"
    x, y = frame.wcs.all_world2pix(np.asarray(found.ra_deg), np.asarray(found.dec_deg), 0)
    return _Stars(np.asarray(x, float), np.asarray(y, float), mag, colour), ""


def _match_radius_px(frame: Any) -> float:
    scale = frame.pixel_scale_arcsec or 1.0
    return max(2.0 / scale, 1.0)


def _star_table(frame: Any, ext: Any, stars: _Stars | None, measure: _Measurer,
                max_stars: int) -> tuple[dict[str, list], dict[str, int]]:
    from scipy.spatial import cKDTree

    names = ("x", "y", "instrumental_mag", "instrumental_err", "catalogue_mag",
             "catalogue_colour", "flag")
    empty = {n: [] for n in names}
    counts = {"matched": 0, "saturated": 0, "crowded": 0, "usable": 0}
    objects = ext.objects
    if stars is None or len(objects) == 0:
        return empty, counts
    ny, nx = ext.image.shape
    inside = np.flatnonzero(np.isfinite(stars.x) & np.isfinite(stars.y) & (stars.x >= 0)
                            & (stars.x <= nx - 1) & (stars.y >= 0) & (stars.y <= ny - 1))
    if inside.size == 0:
        return empty, counts
    cat_xy = np.column_stack([stars.x[inside], stars.y[inside]])
    det_xy = np.column_stack([objects["x"], objects["y"]])
    cat_tree, det_tree = cKDTree(cat_xy), cKDTree(det_xy)
    d, j = cat_tree.query(det_xy, distance_upper_bound=_match_radius_px(frame))
    ok = np.flatnonzero(np.isfinite(d))
    if ok.size == 0:
        return empty, counts
    _, back = det_tree.query(cat_xy[j[ok]])
    mutual = ok[back == ok]
    det, cat = mutual, inside[j[mutual]]
    counts["matched"] = int(det.size)
    # brightest catalogue stars first; the table keeps usable ones before flagged ones
    order = np.argsort(stars.mag[cat], kind="stable")
    det, cat = det[order], cat[order]
    flags = np.zeros(det.size, np.int64)
    flags[objects["saturated"][det]] |= FLAGS["saturated"]
    flags[objects["flag"][det] != 0] |= FLAGS["blended"]
    counts["saturated"] = int(np.count_nonzero(objects["saturated"][det]))
    x, y = objects["x"][det], objects["y"][det]
    flags[~measure.inside(x, y)] |= FLAGS["edge"]
    crowded = measure.crowded(x, y, stars.mag[cat], stars, exclude=cat)
    flux, err, method_flags = measure.flux(x, y, crowded, stars)
    flags |= method_flags
    counts["crowded"] = int(np.count_nonzero(crowded))
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = flux / err
    flags[~(snr >= 5.0)] |= FLAGS["faint"]
    usable = (flags & USABLE_MASK) == 0
    counts["usable"] = int(np.count_nonzero(usable))
    keep = np.concatenate([np.flatnonzero(usable), np.flatnonzero(~usable)])[:max_stars]
    with np.errstate(divide="ignore", invalid="ignore"):
        inst = -2.5 * np.log10(flux / measure.exptime)
        inst_err = 1.0857362 * err / flux
    table = {
        "x": np.round(2.0 * x / max(nx - 1, 1) - 1.0, 4)[keep],
        "y": np.round(2.0 * y / max(ny - 1, 1) - 1.0, 4)[keep],
        "instrumental_mag": np.round(inst, 5)[keep],
        "instrumental_err": np.round(inst_err, 5)[keep],
        "catalogue_mag": np.round(stars.mag[cat], 4)[keep],
        "catalogue_colour": np.round(stars.colour[cat], 4)[keep],
        "flag": flags[keep],
    }
    return {k: photometry_dict(v.tolist()) for k, v in table.items()}, counts


def _target(frame: Any, header: Any, shape: tuple[int, int], stars: _Stars | None,
            measure: _Measurer, reasons: list[str]) -> dict[str, Any]:
    ra, dec = _header_float(header, "RA"), _header_float(header, "DEC")
    if ra is None or dec is None:
        centre = frame.center_world()
        ra, dec = centre
        reasons.append("no RA/DEC in the header: the frame centre is the target")
    x, y = (float(v) for v in frame.wcs.all_world2pix([[ra, dec]], 0)[0])
    ny, nx = shape
    out: dict[str, Any] = {"ra": ra, "dec": dec, "x": None, "y": None, "flux": None,
                           "flux_err": None, "snr": None, "instrumental_mag": None,
                           "instrumental_err": None, "limit_mag": None, "method": None,
                           "colour": _REF_COLOUR, "status": "ok", "contamination_flux": None,
                           "contamination_neighbours": 0}
    if not (math.isfinite(x) and math.isfinite(y)) or not measure.inside(
            np.array([x]), np.array([y]))[0]:
        out["status"] = "outside-frame"
        reasons.append(f"target ({ra:.5f}, {dec:+.5f}) is outside the frame")
        return out
    out["x"], out["y"] = round(2.0 * x / (nx - 1) - 1.0, 5), round(2.0 * y / (ny - 1) - 1.0, 5)
    if stars is not None:
        near = np.hypot(stars.x - x, stars.y - y)
        k = int(np.argmin(near)) if near.size else -1
        if k >= 0 and near[k] < 1.0:
            out["colour"] = round(float(stars.colour[k]), 4)
    xs, ys = np.array([x]), np.array([y])
    crowded = measure.crowded(xs, ys, np.array([np.inf]), stars, exclude=None,
                              target=True)
    if crowded[0] and measure.zero_point is not None and stars is not None:
        # neighbours whose predicted light is a small part of the aperture's are
        # subtracted from it (_decontaminate) rather than traded against the target
        # in a PSF fit, which an undersampled, elliptical image makes unstable
        ap, _ = measure._aperture(xs, ys)
        d = np.hypot(stars.x - x, stars.y - y)
        near = (d > 0.7) & (d < measure.radius + 3.0 * measure.fwhm)
        light = np.sum(measure.exptime * 10.0 ** (-0.4 * (stars.mag[near] - measure.zero_point))
                       * measure.enclosed(d[near])) if near.any() else 0.0
        crowded[0] = not (ap[0] > 0 and light < _SUBTRACT_BELOW * ap[0])
    flux, err, flags = measure.flux(xs, ys, crowded, stars)
    out["method"] = "psf" if crowded[0] and not flags[0] & FLAGS["psf-failed"] else "aperture"
    if flags[0] & FLAGS["psf-unscaled"]:
        reasons.append("target PSF flux scaled to the apertures by the PSF model only")
    iy, ix = round(y), round(x)
    peak = float(np.max(frame.data[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2]))
    if frame.saturate and peak >= 0.9 * frame.saturate:
        out["status"] = "saturated"
        reasons.append("target saturated")
    _set_target_flux(out, float(flux[0]), float(err[0]), measure.exptime)
    return out


def _set_target_flux(out: dict[str, Any], f: float, e: float, exptime: float) -> None:
    """The target's flux, error, SNR, limit and (when detected) instrumental magnitude."""
    out["flux"], out["flux_err"] = round(f, 3), round(e, 3)
    out["snr"] = round(f / e, 3) if e > 0 else None
    if e > 0:
        out["limit_mag"] = round(-2.5 * math.log10(3.0 * e / exptime), 4)
    out["instrumental_mag"] = out["instrumental_err"] = None
    if out["status"] == "saturated":
        return
    if not (e > 0 and f >= 3.0 * e):
        out["status"] = "not-detected"
    else:
        out["status"] = "ok"
        out["instrumental_mag"] = round(-2.5 * math.log10(f / exptime), 5)
        out["instrumental_err"] = round(1.0857362 * e / f, 5)


def _instrumental_zero_point(table: dict[str, list]) -> float | None:
    """Median ``catalogue - instrumental`` of the usable stars (None with fewer than 3)."""
    use = [k for k, flag in enumerate(table.get("flag", [])) if not flag & USABLE_MASK]
    if len(use) < 3:
        return None
    return float(np.median([table["catalogue_mag"][k] - table["instrumental_mag"][k]
                            for k in use]))


def _decontaminate(target: dict[str, Any], frame: Any, catalogue: Catalogue | None,
                   measure: _Measurer, table: dict[str, list], deep_limit: float | None,
                   reasons: list[str]) -> None:
    """Subtract the light of faint neighbours (deep catalogue) from the target's aperture.

    Neighbours fainter than the star catalogue (too faint to be matched or to
    make the target *crowded*) still put light into the aperture: with a large
    aperture in arcsec (coarse pixels) a 21st-magnitude pair 4 arcsec away
    brightens a 16.5 mag target by 2 %, a bias that depends on the site's pixel
    scale. Their fluxes follow from their catalogue magnitudes and the frame's
    instrumental zero point (median ``catalogue - instrumental`` of the usable
    stars); the part inside the aperture from the PSF model. A fifth of the
    correction is added to the error (catalogue magnitudes, colours).
    """
    if deep_limit is None or target.get("x") is None or target.get("flux") is None:
        return
    zp = measure.zero_point
    if zp is None or not frame.filter:
        return
    ny, nx = measure.image.shape
    x = (target["x"] + 1.0) / 2.0 * (nx - 1)
    y = (target["y"] + 1.0) / 2.0 * (ny - 1)
    reach_px = measure.radius + 3.0 * measure.fwhm
    scale_deg = (frame.pixel_scale_arcsec or 1.0) / 3600.0
    if catalogue is None:
        from simulator.starfield import stars_in_field as catalogue
    try:
        found = catalogue(target["ra"], target["dec"], reach_px * scale_deg * 1.05,
                          mag_limit=deep_limit)
        mag = np.asarray(found.mag_in(frame.filter), float)
    except (KeyError, ValueError) as exc:
        reasons.append(f"target not decontaminated: deep catalogue failed ({exc})")
        return
    if mag.size == 0:
        return
    sx, sy = frame.wcs.all_world2pix(np.asarray(found.ra_deg), np.asarray(found.dec_deg), 0)
    d = np.hypot(np.asarray(sx, float) - x, np.asarray(sy, float) - y)
    itself = _SAME_SOURCE_ARCSEC / (frame.pixel_scale_arcsec or 1.0)   # a catalogued target
    near = np.flatnonzero((d > itself) & (d < reach_px) & np.isfinite(mag))
    if near.size == 0:
        return
    adu = measure.exptime * 10.0 ** (-0.4 * (mag[near] - zp))
    light = float(np.sum(adu * measure.enclosed(d[near]))) * (measure.aperture_correction or 1.0)
    if not light > 0:
        return
    f = float(target["flux"]) - light
    e = math.hypot(float(target["flux_err"]), 0.2 * light)
    target["contamination_flux"] = round(light, 3)
    target["contamination_neighbours"] = int(near.size)
    _set_target_flux(target, f, e, measure.exptime)


# -- measuring ----------------------------------------------------------------------------


class _Measurer:
    """Aperture and PSF photometry with one aperture radius for a frame."""

    def __init__(self, image: np.ndarray, rms: float, gain: float | None, fwhm: float,
                 radius: float, exptime: float, psf: bool) -> None:
        self.image, self.rms, self.gain = image, float(rms), gain
        self.fwhm, self.radius, self.exptime, self.psf = fwhm, radius, float(exptime), psf
        r_in, r_out = radius + fwhm, max(radius + 3.0 * fwhm, radius + 4.0)
        dy, dx = np.mgrid[-math.ceil(r_out):math.ceil(r_out) + 1,
                          -math.ceil(r_out):math.ceil(r_out) + 1]
        ring = (np.hypot(dx, dy) >= r_in) & (np.hypot(dx, dy) <= r_out)
        self._ring = (dy[ring], dx[ring])
        self.psf_budget = _PSF_MAX
        self.zero_point: float | None = None
        """Instrumental zero point of the frame's stars, once known: the PSF fits then tie
        each neighbour's flux to its catalogue magnitude (a prior of
        :data:`_NEIGHBOUR_PRIOR`), which keeps a close pair from trading light."""
        self.aperture_correction: float | None = None
        self.aperture_correction_source = ""

    def enclosed(self, offset: np.ndarray) -> np.ndarray:
        """Fraction of a point source's light (the PSF model) inside an aperture whose
        centre is ``offset`` pixels from it (a 0.1 px grid over the aperture)."""
        step = 0.1
        g = np.arange(-self.radius, self.radius + step / 2, step)
        gx, gy = np.meshgrid(g, g)
        disc = np.hypot(gx, gy) <= self.radius
        gx, gy = gx[disc], gy[disc]
        alpha = self.fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / _MOFFAT_BETA) - 1.0))
        offset = np.atleast_1d(np.asarray(offset, float))
        return _moffat(gx[None, :], gy[None, :], offset[:, None], 0.0, alpha).sum(axis=1) \
            * step**2

    def inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ny, nx = self.image.shape
        r = self.radius
        return (x - r >= 0) & (x + r <= nx - 1) & (y - r >= 0) & (y + r <= ny - 1)

    def local_sky(self, x: np.ndarray, y: np.ndarray,
                  image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Residual sky per pixel around each position: clipped median of an annulus.

        Stars in the annulus (a bright neighbour) are clipped instead of
        raising the sky, as a mean would.
        """
        image = self.image if image is None else image
        ny, nx = image.shape
        dy, dx = self._ring
        iy = np.clip(np.rint(y).astype(int)[:, None] + dy[None, :], 0, ny - 1)
        ix = np.clip(np.rint(x).astype(int)[:, None] + dx[None, :], 0, nx - 1)
        values = np.sort(image[iy, ix].astype(float), axis=1)
        rows = np.arange(values.shape[0])
        lo = np.zeros(values.shape[0], np.int64)
        n = np.full(values.shape[0], values.shape[1], np.int64)
        med = _sorted_median(values, rows, lo, n)
        for _ in range(2):
            spread = 1.4826 * np.median(np.abs(values - med[:, None]), axis=1)
            cut = 3.0 * np.maximum(spread, 1e-6)
            # the kept values are a contiguous run of each sorted row
            new_lo = np.sum(values < (med - cut)[:, None], axis=1)
            new_n = np.sum(values <= (med + cut)[:, None], axis=1) - new_lo
            ok = new_n > 0
            lo, n = np.where(ok, new_lo, lo), np.where(ok, new_n, n)
            med = np.where(ok, _sorted_median(values, rows, lo, n), med)
        n = np.maximum(n, 1)
        return med, 1.2533 * self.rms / np.sqrt(n)

    def crowded(self, x: np.ndarray, y: np.ndarray, mag: np.ndarray, stars: _Stars | None,
                *, exclude: np.ndarray | None, target: bool = False) -> np.ndarray:
        """A catalogue neighbour within 2 apertures adds more than 1 % of the light.

        For the target (unknown brightness) any neighbour brighter than 20 within
        the aperture plus one FWHM counts.
        """
        out = np.zeros(x.size, bool)
        if stars is None or stars.x.size < 2:
            return out
        from scipy.spatial import cKDTree

        tree = cKDTree(np.column_stack([stars.x, stars.y]))
        reach = self.radius + self.fwhm if target else 2.0 * self.radius
        for k, group in enumerate(tree.query_ball_point(np.column_stack([x, y]), r=reach)):
            group = np.asarray(group, int)
            if exclude is not None:
                group = group[group != exclude[k]]
            else:   # the object itself, when it is a catalogue star
                group = group[np.hypot(stars.x[group] - x[k], stars.y[group] - y[k]) > 0.7]
            if group.size == 0:
                continue
            limit = 20.0 if target else mag[k] + 5.0
            out[k] = bool(np.any(stars.mag[group] < limit))
        return out

    def flux(self, x: np.ndarray, y: np.ndarray, crowded: np.ndarray,
             stars: _Stars | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flux and error (ADU) of each position, and flag bits (crowded, psf-failed)."""

        flags = np.zeros(x.size, np.int64)
        if x.size == 0:
            return np.zeros(0), np.zeros(0), flags
        flux, err = self._aperture(x, y)
        corr = self.aperture_correction or 1.0
        flux, err = flux * corr, err * corr
        todo = np.flatnonzero(crowded)
        if todo.size:
            flags[todo] |= FLAGS["crowded"]
        if not self.psf or todo.size == 0 or stars is None:
            return flux, err, flags
        order = todo[np.argsort(-flux[todo])]
        todo, over = order[: self.psf_budget], order[self.psf_budget:]
        flags[over] |= FLAGS["psf-failed"]        # crowded, not fitted: not usable
        self.psf_budget -= todo.size
        for k in todo:
            fitted = self._psf_flux(float(x[k]), float(y[k]), stars)
            if fitted is None:
                flags[k] |= FLAGS["psf-failed"]
            else:
                flux[k], err[k] = fitted
                if self.aperture_correction_source == "psf-model":
                    flags[k] |= FLAGS["psf-unscaled"]
        return flux, err, flags

    def _aperture(self, x: np.ndarray, y: np.ndarray,
                  image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Aperture flux minus the local sky, and its error (ADU)."""
        import sep

        image = self.image if image is None else image
        flux, err, _ = sep.sum_circle(image, x, y, self.radius, err=self.rms,
                                      gain=self.gain, subpix=5)
        local, local_err = self.local_sky(x, y, image)
        area = math.pi * self.radius**2
        return (np.asarray(flux, float) - area * local,
                np.hypot(np.asarray(err, float), area * local_err))

    def calibrate_aperture(self, objects: np.ndarray, stars: _Stars | None) -> None:
        """Measure the aperture correction: total (PSF) over aperture flux of bright stars.

        Up to 15 of the brightest unsaturated, unblended detections with no
        catalogue neighbour in reach are fitted with the PSF model; the median
        ratio (within [0.8, 1.5]) scales every aperture flux, so aperture and PSF
        photometry give the same magnitudes. Without 3 such stars it stays None
        (no correction).
        """
        self.aperture_correction = self._model_aperture_correction()
        self.aperture_correction_source = "psf-model"
        if stars is None or len(objects) == 0:
            return
        ok = np.flatnonzero((objects["flag"] == 0) & ~objects["saturated"]
                            & (objects["snr"] > 30) & self.inside(objects["x"], objects["y"]))
        ok = ok[np.argsort(-objects["flux"][ok])][:100]
        if ok.size < 3:
            return
        x, y = objects["x"][ok], objects["y"][ok]
        isolated = ~self.crowded(x, y, np.full(x.size, np.inf), stars, exclude=None,
                                 target=True)
        x, y = x[isolated][:15], y[isolated][:15]
        if x.size < 3:
            return
        ap, _ = self._aperture(x, y)
        ratios = []
        for k in range(x.size):
            fitted = self._psf_flux(float(x[k]), float(y[k]), stars)
            if fitted is not None and ap[k] > 0 and fitted[0] > 50.0 * fitted[1]:
                ratios.append(fitted[0] / ap[k])
        if len(ratios) >= 3:
            self.aperture_correction = float(np.clip(np.median(ratios), 0.8, 1.5))
            self.aperture_correction_source = f"{len(ratios)} stars"

    def _model_aperture_correction(self) -> float:
        """Total over aperture flux of the PSF model itself (pixel-integrated Moffat),
        measured the way stars are (local sky included), averaged over sub-pixel phases."""
        half = math.ceil(self.radius + 4.0 * self.fwhm + 4.0)
        size = 2 * half + 1
        alpha = self.fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / _MOFFAT_BETA) - 1.0))
        sub = (np.arange(5) + 0.5) / 5.0 - 0.5
        yy, xx = np.mgrid[0:size, 0:size].astype(float)
        fine_x = (xx[..., None, None] + np.zeros((5, 1)) + sub[None, :]).ravel()
        fine_y = (yy[..., None, None] + sub[:, None] + np.zeros((1, 5))).ravel()
        ratios = []
        for px, py in ((0.0, 0.0), (0.25, 0.25), (0.5, 0.5), (0.5, 0.0), (0.0, 0.25)):
            stamp = _moffat(fine_x, fine_y, half + px, half + py, alpha).reshape(size, size, 25).mean(axis=2)
            ap, _ = self._aperture(np.array([half + px]), np.array([half + py]),
                                   np.ascontiguousarray(stamp, dtype=np.float64))
            if ap[0] > 0:
                ratios.append(1.0 / float(ap[0]))
        return float(np.clip(np.mean(ratios), 0.8, 1.5)) if ratios else 1.0

    def _psf_grid(self, size: int) -> tuple[np.ndarray, ...]:
        """Pixel centres of a ``size`` x ``size`` cutout and their 5 x 5 subsamples
        (``(size * size, 25)`` each), built once per frame."""
        cached = self.__dict__.setdefault("_grids", {})
        if size not in cached:
            sub = (np.arange(5) + 0.5) / 5.0 - 0.5
            yy, xx = np.mgrid[0:size, 0:size].astype(float)
            fine_x = (xx[..., None, None] + np.zeros((5, 1)) + sub[None, :]).reshape(-1, 25)
            fine_y = (yy[..., None, None] + sub[:, None] + np.zeros((1, 5))).reshape(-1, 25)
            cached[size] = (xx, yy, fine_x, fine_y)
        return cached[size]

    def _psf_flux(self, x: float, y: float, stars: _Stars) -> tuple[float, float] | None:
        """Flux of the object at (x, y), fitted jointly with its catalogue neighbours.

        The PSF is a Moffat profile (beta 3.5, the measured FWHM; photutils'
        ``MoffatPSF`` in closed form, without building a model per star),
        integrated over each pixel (5 x 5 subsamples); positions are fixed, so
        the fluxes and a constant sky offset are a weighted linear least-squares
        fit over the pixels within ``radius + FWHM`` of the object.
        """
        half = math.ceil(self.radius + 2.0 * self.fwhm)
        size = 2 * half + 1
        ny, nx = self.image.shape
        x0, y0 = round(x) - half, round(y) - half
        if x0 < 0 or y0 < 0 or x0 + size > nx or y0 + size > ny:
            return None
        cut = self.image[y0:y0 + size, x0:x0 + size].astype(float)
        near = np.flatnonzero((np.abs(stars.x - x) < half + self.fwhm)
                              & (np.abs(stars.y - y) < half + self.fwhm)
                              & (np.hypot(stars.x - x, stars.y - y) > 0.5)
                              & (stars.mag < 21.0))
        xs = np.concatenate([[x], stars.x[near]]) - x0
        ys = np.concatenate([[y], stars.y[near]]) - y0
        alpha = self.fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / _MOFFAT_BETA) - 1.0))
        xx, yy, fine_x, fine_y = self._psf_grid(size)
        fit = np.hypot(xx - xs[0], yy - ys[0]).ravel() <= self.radius + self.fwhm
        # every source's pixel-integrated profile (5 x 5 subsamples) on the fitted pixels
        models = _moffat(fine_x[fit][None], fine_y[fit][None], xs[:, None, None],
                         ys[:, None, None], alpha).mean(axis=2)
        a = np.column_stack([*models, np.ones(int(fit.sum()))])
        data = cut.ravel()[fit]
        w = 1.0 / (self.rms**2 + np.maximum(data, 0.0) / (self.gain or 1e9))
        normal = a.T @ (a * w[:, None])
        rhs = a.T @ (w * data)
        if self.zero_point is not None and near.size:
            expected = self.exptime * 10.0 ** (-0.4 * (stars.mag[near] - self.zero_point))
            sd = _NEIGHBOUR_PRIOR * expected + 1e-9
            idx = np.arange(1, 1 + near.size)
            normal[idx, idx] += 1.0 / sd**2
            rhs[idx] += expected / sd**2
        try:
            cov = np.linalg.inv(normal)
        except np.linalg.LinAlgError:
            return None
        params = cov @ rhs
        resid = data - a @ params
        chi2 = float(np.sum(w * resid**2)) / max(data.size - a.shape[1], 1)
        if not (math.isfinite(float(cov[0, 0])) and cov[0, 0] > 0):
            return None     # degenerate fit (neighbours on top of each other)
        f, e = float(params[0]), math.sqrt(float(cov[0, 0]) * max(chi2, 1.0))
        if not (math.isfinite(f) and math.isfinite(e) and e > 0):
            return None
        return f, e


def _header_float(header: Any, key: str) -> float | None:
    try:
        value = float(header[key])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _mid_mjd(header: Any, exptime: float | None) -> float | None:
    mjd = _header_float(header, "MJD-OBS")
    if mjd is None:
        try:
            from astropy.time import Time

            mjd = float(Time(str(header["DATE-OBS"]), scale="utc").mjd)
        except (KeyError, ValueError):
            return None
    return round(mjd + (exptime or 0.0) / 2.0 / 86400.0, 7)


def _sorted_median(values: np.ndarray, rows: np.ndarray, lo: np.ndarray,
                   n: np.ndarray) -> np.ndarray:
    """Median of ``values[i, lo[i]:lo[i] + n[i]]`` of each row of a row-sorted array."""
    a = values[rows, lo + (n - 1) // 2]
    b = values[rows, lo + n // 2]
    return 0.5 * (a + b)


def _moffat(x: np.ndarray, y: np.ndarray, x0: float, y0: float, alpha: float) -> np.ndarray:
    """A Moffat profile of unit flux (photutils' ``MoffatPSF``, beta :data:`_MOFFAT_BETA`)."""
    r2 = (x - x0) ** 2 + (y - y0) ** 2
    return (_MOFFAT_BETA - 1.0) / (math.pi * alpha**2) * (1.0 + r2 / alpha**2) ** -_MOFFAT_BETA
