"""Transient candidates: the new frame minus a reference image of the same field.

The references are kept by :class:`~site_node.edge.references.ReferenceStore`
(re-exported here with :class:`~site_node.edge.references.Reference`).

:func:`find_transients` aligns the reference on the new frame through both
WCSs (an integer plus bilinear sub-pixel shift per 128-pixel tile, which
follows small rotations; frames rotated or rescaled more than that, or offset
by more than :data:`MAX_OFFSET_FRACTION` of the field, are skipped with a
reason), scales its flux by the zero points and exposure times, convolves the
sharper of the two with a Gaussian to match the PSFs, and extracts positive
sources from the difference. A candidate is kept when its aperture
signal-to-noise (sky and source Poisson noise of both images, plus 5 % of any
underlying star's flux) exceeds ``snr_min`` and it is not near an edge, a
saturated star or a bad column, not smaller, more elongated or more peaked than
the stars (a cosmic ray or hot pixel), and not half of a dipole (misalignment).

:func:`search_candidates` does the same difference but keeps every candidate
above ``snr_min`` with its verdict under those cuts, its cutouts and its
features (:data:`FEATURE_NAMES`), for the vetting model
(:mod:`site_node.edge.vetting`) to decide instead of the cuts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from site_node.edge.quality import psf_stars
from site_node.edge.references import Reference, ReferenceStore
from site_node.edge.sources import bad_column_mask, safe_extract

__all__ = ["CUTOUT", "FEATURE_NAMES", "MAX_OFFSET_FRACTION", "Candidates", "Reference",
           "ReferenceStore", "align_to_frame", "find_transients", "search_candidates"]

MAX_OFFSET_FRACTION = 0.25
"""Largest pointing offset (fraction of the field side) still differenced."""
CUTOUT = 21
"""Side (pixels) of the cutouts of a candidate (:class:`Candidates`)."""
FEATURE_NAMES = ("log_snr", "log_fwhm_ratio", "fwhm_px", "size_ratio", "elongation_excess",
                 "peak_ratio", "dipole", "edge_margins", "bad_column", "saturation_new",
                 "saturation_ref", "log_underlying", "noise_ratio", "log_n_candidates")
"""Scalar features of a candidate: log10 SNR; ln(FWHM new / FWHM reference); the
larger FWHM (px); its size, elongation minus the stars' and peak fraction over
the stars' (:func:`_shape`); the dipole ratio ``-min / max`` of the difference
within 2 FWHM; the distance to the image or reference edge in edge margins
(capped at 4); a bad column within a margin (0/1); the brightest pixel within 5
FWHM over saturation in the new frame and the reference; log10(1 + reference
flux / candidate flux) in the aperture (a star or galaxy under it); the
difference's noise over the frame's; log10(1 + candidates in the frame)."""
_SIGMA_PER_FWHM = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
_TILE = 128
"""Alignment tiles (pixels): each tile of the reference gets its own sub-pixel shift."""
_MAX_TILE_STEP = 0.5
"""Largest change of the offset from one tile to the next (pixels) still aligned."""
_SYSTEMATIC = 0.05
"""Fraction of the underlying star's flux added to a candidate's noise: subtraction
residuals of bright stars (PSF mismatch, interpolation) are not transients."""


def find_transients(image: np.ndarray, wcs: Any, *, fwhm_px: float, zero_point: float | None,
                    exptime: float, rms: float, gain: float | None,
                    saturation: float | None, reference: Reference,
                    objects: np.ndarray | None = None,
                    bad_columns: np.ndarray | None = None, snr_min: float = 5.0,
                    max_candidates: int = 100) -> tuple[list[dict[str, float]], list[str]]:
    """Candidates in ``image - reference`` that pass the hand-written cuts (module docstring).

    Parameters
    ----------
    image : numpy.ndarray
        The new frame, background-subtracted.
    wcs : astropy.wcs.WCS
        Its celestial WCS.
    fwhm_px, zero_point, exptime, rms, gain :
        Its FWHM (pixels), zero point (mag for 1 ADU/s, or None), exposure (s),
        sky noise (ADU) and gain (e-/ADU, or None).
    saturation : float or None
        Its saturation level above the sky (ADU).
    reference : Reference
    objects : numpy.ndarray, optional
        The frame's sources; their PSF stars set how sharp a real source can be
        (sharper candidates are cosmic rays).
    bad_columns : numpy.ndarray, optional
        The frame's bad-column mask (:func:`~site_node.edge.sources.bad_column_mask`).
    snr_min : float
        Smallest signal-to-noise kept.
    max_candidates : int
        At most this many candidates, by decreasing signal-to-noise.

    Returns
    -------
    candidates : list of dict
        ``ra``, ``dec``, ``x``, ``y``, ``flux`` (ADU), ``flux_err``, ``snr`` and
        ``mag`` (None without a zero point).
    notes : list of str
        Why the difference was skipped, or what was approximated.
    """
    found, notes = search_candidates(
        image, wcs, fwhm_px=fwhm_px, zero_point=zero_point, exptime=exptime, rms=rms, gain=gain,
        saturation=saturation, reference=reference, objects=objects, bad_columns=bad_columns,
        snr_min=snr_min, max_candidates=None, stamps=False)
    kept = [c for c, ok in zip(found.table, found.hand_cuts, strict=True) if ok]
    for c in kept:
        del c["hand_cuts"]
    return kept[:max_candidates], notes


@dataclass(frozen=True)
class Candidates:
    """Every source of a difference image above the signal-to-noise floor, with what
    a vetting model needs to judge it.

    Attributes
    ----------
    table : list of dict
        Per candidate, by decreasing signal-to-noise: ``ra``, ``dec``, ``x``,
        ``y``, ``flux`` (ADU), ``flux_err``, ``snr``, ``mag`` (None without a
        zero point) and ``hand_cuts`` (True when it passes the hand-written
        cuts of :func:`find_transients`).
    stamps : numpy.ndarray
        ``(N, 3, CUTOUT, CUTOUT)`` float32: the new frame, the aligned and
        flux-scaled reference and the difference around each candidate, each in
        units of the difference's noise and stretched by ``asinh(x / 3)``;
        zero outside the image or the reference.
    features : numpy.ndarray
        ``(N, len(FEATURE_NAMES))`` float32 (:data:`FEATURE_NAMES`).
    """

    table: list[dict[str, Any]]
    stamps: np.ndarray
    features: np.ndarray

    def __len__(self) -> int:
        return len(self.table)

    @property
    def hand_cuts(self) -> np.ndarray:
        return np.array([bool(c["hand_cuts"]) for c in self.table], bool)

    @classmethod
    def empty(cls) -> Candidates:
        return cls([], np.zeros((0, 3, CUTOUT, CUTOUT), np.float32),
                   np.zeros((0, len(FEATURE_NAMES)), np.float32))


def search_candidates(image: np.ndarray, wcs: Any, *, fwhm_px: float,
                      zero_point: float | None, exptime: float, rms: float,
                      gain: float | None, saturation: float | None, reference: Reference,
                      objects: np.ndarray | None = None,
                      bad_columns: np.ndarray | None = None, snr_min: float = 5.0,
                      max_candidates: int | None = 100,
                      stamps: bool = True) -> tuple[Candidates, list[str]]:
    """Every candidate of ``image - reference`` above ``snr_min``, without the hand cuts.

    Same parameters as :func:`find_transients` (``max_candidates`` None keeps
    all; ``stamps`` False skips the cutouts). Each candidate carries its
    verdict under the hand-written cuts, its cutouts and its features, so a
    vetting model (:mod:`site_node.edge.vetting`) rather than the cuts can decide.

    Returns
    -------
    candidates : Candidates
    notes : list of str
    """
    import sep

    notes: list[str] = []
    offsets = _tile_offsets(wcs, reference.wcs, image.shape, notes)
    if offsets is None:
        return Candidates.empty(), notes
    aligned, valid = _shift_image(reference.image, *offsets, image.shape)
    if np.count_nonzero(valid) < 0.25 * valid.size:
        return Candidates.empty(), notes + [
            "reference overlaps less than a quarter of the frame: skipped"]
    scale = exptime / reference.exptime
    if zero_point is not None and reference.zero_point is not None:
        scale *= 10.0 ** (0.4 * (zero_point - reference.zero_point))
    else:
        notes.append("no zero point for the frame or its reference: fluxes scaled by "
                     "exposure time only")
    aligned *= np.float32(scale)
    new, ref = image, aligned
    s_new, s_ref = fwhm_px * _SIGMA_PER_FWHM, reference.fwhm_px * _SIGMA_PER_FWHM
    if s_new > s_ref:
        ref = _blur(ref, math.sqrt(s_new**2 - s_ref**2))
    elif s_ref > s_new:
        new = _blur(new, math.sqrt(s_ref**2 - s_new**2))
    star = _star_shape(new, objects)
    diff = np.subtract(new, ref, out=new if new is not image else None)
    invalid = None if valid.all() else ~valid
    if invalid is not None:
        diff[invalid] = 0.0
    sample = diff[::8, ::8]
    sample = sample[valid[::8, ::8]] if invalid is not None else sample.ravel()
    rms_d = float(1.4826 * np.median(np.abs(sample - np.median(sample))))
    if not rms_d > 0:
        return Candidates.empty(), notes + ["difference image has no noise: skipped"]
    try:
        found = safe_extract(diff, 2.5 * rms_d, mask=invalid, minarea=3, deblend_cont=0.01)
    except Exception as exc:  # noqa: BLE001 - sep overflow on a very bad subtraction
        return Candidates.empty(), notes + [f"difference extraction failed ({exc})"]
    if len(found) == 0:
        return Candidates.empty(), notes
    fwhm = max(fwhm_px, reference.fwhm_px)
    x, y = found["x"], found["y"]
    r_ap = max(1.5 * fwhm, 2.5)
    flux, _, _ = sep.sum_circle(diff, x, y, r_ap, subpix=5)
    new_sum, _, _ = sep.sum_circle(image, x, y, r_ap, subpix=5)
    ref_sum, _, _ = sep.sum_circle(ref, x, y, r_ap, subpix=5)
    poisson = (np.maximum(new_sum, 0) + scale * np.maximum(ref_sum, 0)) / (gain or 1.0)
    floor = _SYSTEMATIC * np.maximum(np.maximum(new_sum - flux, ref_sum), 0.0)
    flux_err = np.sqrt(math.pi * r_ap**2 * rms_d**2 + poisson + floor**2)
    snr = flux / flux_err
    keep = np.flatnonzero(snr > snr_min)
    order = keep[np.argsort(-snr[keep], kind="stable")]
    if max_candidates is not None:
        order = order[:max_candidates]
    if order.size == 0:
        return Candidates.empty(), notes
    context = _Context(image, aligned, valid, diff, fwhm, saturation,
                       reference.saturation * scale if reference.saturation else None, star,
                       _either(bad_columns, bad_column_mask(aligned)), rms_d,
                       math.log(max(fwhm_px, 0.1) / max(reference.fwhm_px, 0.1)),
                       rms_d / rms if rms > 0 else 1.0, int(keep.size))
    hand, features, cutouts = _measure(found[order], snr[order], flux[order], ref_sum[order],
                                       context, stamps)
    ra, dec = wcs.all_pix2world(x[order], y[order], 0)
    table = []
    for k, i in enumerate(order):
        mag = (None if zero_point is None or flux[i] <= 0
               else float(zero_point - 2.5 * math.log10(flux[i] / exptime)))
        table.append({"ra": float(ra[k]), "dec": float(dec[k]), "x": float(x[i]),
                      "y": float(y[i]), "flux": float(flux[i]), "flux_err": float(flux_err[i]),
                      "snr": float(snr[i]), "mag": mag, "hand_cuts": bool(hand[k])})
    return Candidates(table, cutouts, features), notes


def align_to_frame(reference_image: np.ndarray, reference_wcs: Any, wcs: Any,
                   shape: tuple[int, int], notes: list[str] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """The reference resampled on the frame's pixels, and where it is defined.

    A bilinear shift per tile through both WCSs; None (the reason appended to
    ``notes``) when the WCSs cannot be matched.
    """
    offsets = _tile_offsets(wcs, reference_wcs, shape, notes if notes is not None else [])
    return None if offsets is None else _shift_image(reference_image, *offsets, shape)


def _tile_offsets(wcs: Any, ref_wcs: Any, shape: tuple[int, int],
                  notes: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-tile (dx, dy) with reference pixel = new pixel + offset, or None with a note.

    Offsets are evaluated at the centre of every :data:`_TILE`-pixel tile, so a
    small rotation or scale difference (a fraction of a pixel across a tile)
    is followed tile by tile.
    """
    ny, nx = shape
    ty, tx = -(-ny // _TILE), -(-nx // _TILE)
    cy = np.minimum((np.arange(ty) + 0.5) * _TILE, ny - 1)
    cx = np.minimum((np.arange(tx) + 0.5) * _TILE, nx - 1)
    gx, gy = np.meshgrid(cx, cy)
    ra, dec = wcs.all_pix2world(gx.ravel(), gy.ravel(), 0)
    rx, ry = ref_wcs.all_world2pix(ra, dec, 0)
    dx, dy = (rx - gx.ravel()).reshape(ty, tx), (ry - gy.ravel()).reshape(ty, tx)
    if not (np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))):
        notes.append("reference WCS cannot place this frame: skipped")
        return None
    step = max([np.abs(np.diff(a, axis=k)).max(initial=0.0) for a in (dx, dy) for k in (0, 1)])
    if step > _MAX_TILE_STEP:
        notes.append("frame is rotated or rescaled against its reference: skipped")
        return None
    mx, my = float(np.median(dx)), float(np.median(dy))
    if abs(mx) > MAX_OFFSET_FRACTION * nx or abs(my) > MAX_OFFSET_FRACTION * ny:
        notes.append(f"pointing differs from the reference by ({mx:.0f}, {my:.0f}) px, more "
                     f"than {MAX_OFFSET_FRACTION:.0%} of the field: skipped")
        return None
    return dx, dy


def _shift_image(ref: np.ndarray, dx: np.ndarray, dy: np.ndarray,
                 shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``out[y, x] = ref[y + dy, x + dx]`` (bilinear, offsets per tile), and where defined."""
    ny, nx = shape
    out = np.zeros(shape, np.float32)
    valid = np.zeros(shape, bool)
    for i in range(dx.shape[0]):
        y0, y1 = i * _TILE, min((i + 1) * _TILE, ny)
        for j in range(dx.shape[1]):
            x0, x1 = j * _TILE, min((j + 1) * _TILE, nx)
            ox, oy = float(dx[i, j]), float(dy[i, j])
            ix, iy = math.floor(ox), math.floor(oy)
            win, ok = _window(ref, y0 + iy, y1 + iy + 1, x0 + ix, x1 + ix + 1)
            fx, fy = ox - ix, oy - iy
            h, w = y1 - y0, x1 - x0
            block = np.float32((1 - fx) * (1 - fy)) * win[:h, :w]
            block += np.float32(fx * (1 - fy)) * win[:h, 1:]
            block += np.float32((1 - fx) * fy) * win[1:, :w]
            block += np.float32(fx * fy) * win[1:, 1:]
            out[y0:y1, x0:x1] = block
            valid[y0:y1, x0:x1] = ok[:h, :w] & ok[:h, 1:] & ok[1:, :w] & ok[1:, 1:]
    return out, valid


def _window(image: np.ndarray, y0: int, y1: int, x0: int,
            x1: int) -> tuple[np.ndarray, np.ndarray]:
    """``image[y0:y1, x0:x1]`` zero-padded where it leaves the image, and where it does not."""
    ny, nx = image.shape
    if y0 >= 0 and x0 >= 0 and y1 <= ny and x1 <= nx:
        return image[y0:y1, x0:x1], np.ones((y1 - y0, x1 - x0), bool)
    win = np.zeros((y1 - y0, x1 - x0), np.float32)
    ok = np.zeros(win.shape, bool)
    sy0, sy1, sx0, sx1 = max(y0, 0), min(y1, ny), max(x0, 0), min(x1, nx)
    if sy1 > sy0 and sx1 > sx0:
        win[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
        ok[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = True
    return win, ok


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian convolution (edges extended), in float32.

    Rows with ``correlate1d``; columns as a weighted sum of shifted row blocks,
    which walks memory in order (much faster than convolving along axis 0).
    """
    from scipy.ndimage import correlate1d

    if sigma < 0.2:
        return image
    r = max(1, math.ceil(3.5 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    rows = correlate1d(image, k, axis=1, mode="nearest", output=np.float32)
    ny = rows.shape[0]
    padded = np.concatenate([np.repeat(rows[:1], r, axis=0), rows,
                             np.repeat(rows[-1:], r, axis=0)])
    out = np.multiply(padded[0:ny], k[0])
    tmp = np.empty_like(out)
    for i in range(1, 2 * r + 1):
        np.multiply(padded[i:i + ny], k[i], out=tmp)
        out += tmp
    return out


@dataclass(frozen=True)
class _Context:
    """What :func:`_measure` needs of one difference."""

    image: np.ndarray
    aligned: np.ndarray
    valid: np.ndarray
    diff: np.ndarray
    fwhm: float
    saturation: float | None
    ref_saturation: float | None
    star: tuple[float, float, float]
    bad: np.ndarray | None
    rms_d: float
    log_fwhm_ratio: float
    noise_ratio: float
    n_above: int


def _measure(found: np.ndarray, snr: np.ndarray, flux: np.ndarray, ref_sum: np.ndarray,
             ctx: _Context, stamps: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-cut verdicts, features (:data:`FEATURE_NAMES`) and cutouts of candidates.

    The hand cuts reject candidates near an edge, saturation or a bad column,
    unlike a star, or dipoles. ``ctx.star`` is the (size, elongation, peak
    fraction) of the frame's stars after PSF matching (:func:`_shape`); a
    candidate in the difference much smaller, more elongated or more peaked
    than them is a cosmic ray or a hot pixel.
    """
    n = len(found)
    ok = np.ones(n, bool)
    feats = np.zeros((n, len(FEATURE_NAMES)), np.float32)
    cut = np.zeros((n if stamps else 0, 3, CUTOUT, CUTOUT), np.float32)
    fwhm, star = ctx.fwhm, ctx.star
    margin = int(max(2 * fwhm, 3)) + 2
    r_sat = int(max(5 * fwhm, 12))
    r_dip = int(max(2 * fwhm, 3))
    h = CUTOUT // 2
    star_size = star[0] if star[0] > 0 else 2.0 * (fwhm * _SIGMA_PER_FWHM) ** 2
    for i in range(n):
        xi, yi = round(float(found["x"][i])), round(float(found["y"][i]))
        edge = _edge_distance(ctx.valid, xi, yi, 4 * margin)
        bad_near = bool(ctx.bad is not None
                        and _box(ctx.bad, xi, yi, margin, False).any())
        sat_new = _peak_fraction(ctx.image, xi, yi, r_sat, ctx.saturation)
        sat_ref = _peak_fraction(ctx.aligned, xi, yi, r_sat, ctx.ref_saturation)
        size, elongation, peak = _shape(_box(ctx.diff, xi, yi, 2, 0.0), 2, 2)
        dip = _box(ctx.diff, xi, yi, r_dip, 0.0)
        dipole = float(-dip.min() / dip.max()) if dip.max() > 0 else 10.0
        ok[i] = not (edge <= margin or bad_near or sat_new >= 0.9 or sat_ref >= 0.9
                     or size < 0.6 * star[0] or elongation > max(0.3, star[1] + 0.25)
                     or peak > min(0.95, 1.3 * star[2] + 0.05) or dipole > 0.5)
        underlying = max(float(ref_sum[i]), 0.0) / max(float(flux[i]), 1e-6)
        feats[i] = (math.log10(max(float(snr[i]), 1e-3)), ctx.log_fwhm_ratio, fwhm,
                    size / star_size, elongation - star[1], peak / max(star[2], 1e-3),
                    min(dipole, 10.0), min(edge / margin, 4.0), float(bad_near),
                    min(sat_new, 2.0), min(sat_ref, 2.0), math.log10(1.0 + underlying),
                    ctx.noise_ratio, math.log10(1.0 + ctx.n_above))
        if stamps:
            for c, a in enumerate((ctx.image, ctx.aligned, ctx.diff)):
                cut[i, c] = _box(a, xi, yi, h, 0.0)
    if stamps:
        np.arcsinh(cut / np.float32(3.0 * ctx.rms_d), out=cut)
    return ok, feats, cut


def _box(image: np.ndarray, x: int, y: int, r: int, fill: Any) -> np.ndarray:
    """``image[y-r:y+r+1, x-r:x+r+1]``, filled with ``fill`` where it leaves the image."""
    ny, nx = image.shape
    if r <= x < nx - r and r <= y < ny - r:
        return image[y - r:y + r + 1, x - r:x + r + 1]
    out = np.full((2 * r + 1, 2 * r + 1), fill, dtype=image.dtype)
    y0, y1, x0, x1 = max(y - r, 0), min(y + r + 1, ny), max(x - r, 0), min(x + r + 1, nx)
    if y1 > y0 and x1 > x0:
        out[y0 - y + r:y1 - y + r, x0 - x + r:x1 - x + r] = image[y0:y1, x0:x1]
    return out


def _edge_distance(valid: np.ndarray, x: int, y: int, r: int) -> int:
    """Chebyshev distance (pixels) to the nearest pixel outside the image or the
    reference, at most ``r + 1``."""
    box = _box(valid, x, y, r, False)
    bad = np.argwhere(~box)
    if bad.size == 0:
        return r + 1
    return int(np.abs(bad - r).max(axis=1).min())


def _peak_fraction(image: np.ndarray, x: int, y: int, r: int, level: float | None) -> float:
    """Brightest pixel within ``r`` over ``level`` (0 without a level)."""
    if level is None or not level > 0:
        return 0.0
    win = image[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
    return float(win.max()) / level if win.size else 0.0


def _shape(image: np.ndarray, x: int, y: int, r: int = 2) -> tuple[float, float, float]:
    """Size (trace of the second moments, px^2), elongation and peak fraction at (x, y).

    Measured on the positive pixels of the ``2r+1`` box: stars are round
    (elongation ~0.05), cosmic-ray worms are lines (~0.5-1), single hits tiny.
    """
    box = np.maximum(image[y - r:y + r + 1, x - r:x + r + 1].astype(np.float64), 0.0)
    total = box.sum()
    if box.shape != (2 * r + 1, 2 * r + 1) or not total > 0:
        return 0.0, 1.0, 1.0
    off = np.arange(-r, r + 1, dtype=np.float64)
    mx, my = (box.sum(axis=0) @ off) / total, (box.sum(axis=1) @ off) / total
    ixx = (box.sum(axis=0) @ (off - mx) ** 2) / total
    iyy = (box.sum(axis=1) @ (off - my) ** 2) / total
    ixy = float(((off - my)[:, None] * (off - mx)[None, :] * box).sum() / total)
    size = ixx + iyy
    elongation = math.sqrt((ixx - iyy) ** 2 + 4 * ixy**2) / size if size > 0 else 1.0
    return float(size), float(elongation), float(box.max() / total)


def _star_shape(image: np.ndarray, objects: np.ndarray | None) -> tuple[float, float, float]:
    """Median :func:`_shape` of the frame's PSF stars (permissive defaults without them)."""
    stars = psf_stars(objects)[:50] if objects is not None and len(objects) else []
    shapes = [_shape(image, round(float(objects["x"][i])), round(float(objects["y"][i])))
              for i in stars]
    if len(shapes) < 3:
        return 0.0, 0.75, 0.9
    return tuple(float(v) for v in np.median(np.array(shapes), axis=0))  # type: ignore[return-value]


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return a if b is None else b
    return a | b
