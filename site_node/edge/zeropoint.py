"""Photometric zero point from the sky-model catalogue.

Catalogue stars of the field (``simulator.starfield.stars_in_field`` by
default) are projected through the frame's WCS and matched to detections
within ``match_radius_arcsec`` (mutual nearest neighbours, vectorised with a
k-d tree). Isolated, unsaturated, well-measured matches get aperture
photometry (radius ``2 x FWHM``, aperture-corrected from the brightest ones to
``4 x FWHM``) and the zero point is the sigma-clipped median of
``catalogue mag - instrumental mag``, where the instrumental magnitude is
``-2.5 log10(flux_ADU / EXPTIME)``: a source of magnitude ZP gives 1 ADU/s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ZeroPoint", "estimate_zero_point", "field_cone"]

_MAX_STARS = 100
"""At most this many (the brightest usable) matched stars set the zero point."""

Catalogue = Callable[..., Any]
"""``f(ra_deg, dec_deg, radius_deg, *, mag_limit)`` returning an object with
``ra_deg``, ``dec_deg`` and ``mag_in(filter)`` (like ``StarTable``)."""


@dataclass(frozen=True)
class ZeroPoint:
    """The zero point (mag giving 1 ADU/s), or None with the reason."""

    value: float | None
    err: float | None
    n_stars: int
    reason: str = ""


def field_cone(wcs: Any, shape: tuple[int, int]) -> tuple[float, float, float]:
    """Centre RA, Dec and half-diagonal radius (deg) of a frame."""
    ny, nx = shape
    pix = np.array([[(nx - 1) / 2, (ny - 1) / 2], [0, 0], [nx - 1, 0], [0, ny - 1],
                    [nx - 1, ny - 1]], float)
    world = wcs.all_pix2world(pix, 0)
    ra0, dec0 = world[0]
    d = np.radians(world[1:] - world[0])
    sep = 2 * np.arcsin(np.sqrt(np.sin(d[:, 1] / 2) ** 2 + np.cos(np.radians(dec0))
                                * np.cos(np.radians(world[1:, 1])) * np.sin(d[:, 0] / 2) ** 2))
    return float(ra0), float(dec0), float(np.degrees(sep.max()))


def estimate_zero_point(image: np.ndarray, objects: np.ndarray, wcs: Any, *,
                        filter: str | None, exptime: float | None,
                        fwhm_px: float | None, rms: float,
                        catalogue: Catalogue | None = None, mag_limit: float = 20.0,
                        match_radius_arcsec: float = 2.0, snr_min: float = 20.0,
                        min_stars: int = 5) -> ZeroPoint:
    """Estimate the zero point of a frame against the catalogue.

    Parameters
    ----------
    image : numpy.ndarray
        Background-subtracted image.
    objects : numpy.ndarray
        Extracted sources (:data:`~site_node.edge.sources.SOURCE_DTYPE`).
    wcs : astropy.wcs.WCS or None
        The frame's celestial WCS.
    filter : str or None
        The frame's filter (a band the catalogue knows).
    exptime : float or None
        Exposure time (s).
    fwhm_px : float or None
        Measured FWHM (pixels), for the aperture; 2.5 px when unknown.
    rms : float
        Sky noise per pixel (ADU), for the photometric errors.
    catalogue : callable, optional
        Star catalogue (default ``simulator.starfield.stars_in_field``).
    mag_limit : float
        Faintest catalogue magnitude (V) queried.
    match_radius_arcsec : float
        Largest detection-to-catalogue distance accepted.
    snr_min : float
        Smallest aperture signal-to-noise of a star used.
    min_stars : int
        Fewer matched stars than this and no zero point is given.

    Returns
    -------
    ZeroPoint
    """
    if wcs is None:
        return ZeroPoint(None, None, 0, "no WCS")
    if not filter:
        return ZeroPoint(None, None, 0, "no FILTER in the header")
    if not exptime:
        return ZeroPoint(None, None, 0, "no EXPTIME in the header")
    if catalogue is None:
        from simulator.starfield import stars_in_field as catalogue
    ra0, dec0, radius = field_cone(wcs, image.shape)
    try:
        stars = catalogue(ra0, dec0, min(radius * 1.02, 10.0), mag_limit=mag_limit)
        cat_mag = np.asarray(stars.mag_in(filter), float)
    except (KeyError, ValueError) as exc:
        return ZeroPoint(None, None, 0, f"catalogue has no usable band {filter!r} ({exc})")
    if len(cat_mag) < min_stars:
        return ZeroPoint(None, None, 0, f"only {len(cat_mag)} catalogue stars in the field")
    cx, cy = wcs.all_world2pix(np.asarray(stars.ra_deg), np.asarray(stars.dec_deg), 0)
    fwhm = fwhm_px if fwhm_px and math.isfinite(fwhm_px) else 2.5
    r1, r2 = _radii(fwhm)
    det, cat, clear = _match(objects, cx, cy, cat_mag, image.shape, wcs, match_radius_arcsec,
                             fwhm)
    usable = clear > r1 + fwhm
    det, cat, wide = det[usable], cat[usable], clear[usable] > r2 + fwhm
    if det.size < min_stars:
        return ZeroPoint(None, None, int(det.size),
                         f"only {det.size} stars matched the catalogue (need {min_stars})")
    flux, flux_err = _aperture_flux(image, objects["x"][det], objects["y"][det], fwhm, rms,
                                    wide)
    good = (flux > 0) & (flux >= snr_min * flux_err)
    if np.count_nonzero(good) < min_stars:
        return ZeroPoint(None, None, int(np.count_nonzero(good)),
                         f"only {np.count_nonzero(good)} matched stars above SNR {snr_min:g}")
    # the brightest matches: in crowded fields unresolved neighbours bias faint stars' flux
    good[np.argsort(-flux)[_MAX_STARS:]] = False
    dm = cat_mag[cat][good] + 2.5 * np.log10(flux[good] / exptime)
    value, err, n = _clipped_median(dm)
    if n < min_stars:
        return ZeroPoint(None, None, n, f"only {n} stars agree on a zero point")
    return ZeroPoint(value, err, n)


def _radii(fwhm: float) -> tuple[float, float]:
    """Photometry aperture and the larger aperture of the aperture correction (pixels)."""
    return max(2.0 * fwhm, 3.0), max(4.0 * fwhm, 6.0)


def _match(objects: np.ndarray, cx: np.ndarray, cy: np.ndarray, cat_mag: np.ndarray,
           shape: tuple[int, int], wcs: Any, radius_arcsec: float,
           fwhm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unsaturated mutual nearest matches: detection and catalogue indices, and clearance.

    The clearance is the distance (pixels) to the nearest catalogue neighbour
    that adds more than 5 % of the star's flux (less than 3.3 mag fainter);
    inf when there is none within ``r2 + 2 FWHM``.
    """
    from astropy.wcs.utils import proj_plane_pixel_scales
    from scipy.spatial import cKDTree

    ny, nx = shape
    scale = float(np.sqrt(np.prod(proj_plane_pixel_scales(wcs)))) * 3600.0
    r_px = radius_arcsec / scale
    margin = 3 * fwhm
    inside = np.flatnonzero(np.isfinite(cx) & np.isfinite(cy) & (cx > margin)
                            & (cx < nx - 1 - margin) & (cy > margin) & (cy < ny - 1 - margin))
    usable = np.flatnonzero((objects["flag"] == 0) & ~objects["saturated"]
                            & (objects["flux"] > 0)) if len(objects) else np.zeros(0, int)
    if inside.size == 0 or usable.size == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    cat_xy = np.column_stack([cx[inside], cy[inside]])
    det_xy = np.column_stack([objects["x"][usable], objects["y"][usable]])
    cat_tree, det_tree = cKDTree(cat_xy), cKDTree(det_xy)
    d1, j = cat_tree.query(det_xy, distance_upper_bound=r_px)
    ok = np.isfinite(d1)
    _, back = det_tree.query(cat_xy[j[ok]])
    mutual = np.flatnonzero(ok)[back == np.flatnonzero(ok)]
    det, cat = usable[mutual], inside[j[mutual]]
    here = cat_xy[j[mutual]]
    neighbours = cat_tree.query_ball_point(here, r=_radii(fwhm)[1] + 2 * fwhm)
    clear = np.full(det.size, np.inf)
    for k, group in enumerate(neighbours):
        group = np.asarray(group, int)
        others = inside[group]
        bright = (others != cat[k]) & (cat_mag[others] < cat_mag[cat[k]] + 3.3)
        if bright.any():
            clear[k] = float(np.min(np.hypot(*(cat_xy[group[bright]] - here[k]).T)))
    return det, cat, clear


def _aperture_flux(image: np.ndarray, x: np.ndarray, y: np.ndarray, fwhm: float,
                   rms: float, wide: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aperture flux at 2 FWHM, corrected to 4 FWHM with the brightest ``wide``-clear stars."""
    import sep

    r1, r2 = _radii(fwhm)
    flux, _, _ = sep.sum_circle(image, x, y, r1, subpix=5)
    area = math.pi * r1**2
    flux_err = np.sqrt(area * rms**2 + np.maximum(flux, 0.0))
    candidates = np.flatnonzero(wide)
    bright = candidates[np.argsort(-flux[candidates])[:30]]
    big, _, _ = sep.sum_circle(image, x[bright], y[bright], r2, subpix=5)
    ratio = big / np.where(flux[bright] > 0, flux[bright], np.nan)
    ratio = ratio[np.isfinite(ratio) & (flux[bright] > 100 * rms)]
    correction = float(np.clip(np.median(ratio), 1.0, 1.2)) if ratio.size >= 3 else 1.0
    return flux * correction, flux_err * correction


def _clipped_median(values: np.ndarray, nsigma: float = 3.0,
                    iterations: int = 5) -> tuple[float, float, int]:
    """Sigma-clipped median, its standard error and the number of values kept."""
    keep = np.isfinite(values)
    for _ in range(iterations):
        v = values[keep]
        med = np.median(v)
        sigma = 1.4826 * np.median(np.abs(v - med))
        new = keep & (np.abs(values - med) <= nsigma * max(sigma, 1e-3))
        if new.sum() == keep.sum():
            break
        keep = new
    v = values[keep]
    med = float(np.median(v))
    sigma = float(max(1.4826 * np.median(np.abs(v - med)), 1e-4))
    return med, 1.2533 * sigma / math.sqrt(v.size), int(v.size)
