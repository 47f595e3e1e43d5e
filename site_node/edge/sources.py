"""Background and source extraction with sep.

:func:`extract_sources` estimates the sky on a 64-pixel mesh, subtracts it and
finds sources above ``thresh_sigma`` times the global sky noise (after sep's
default 3x3 smoothing), with deblending. Masked (non-finite) pixels are
ignored. It returns an :class:`Extraction`: the background-subtracted image,
the global sky level and noise, and the sources as a numpy record array with
the fields of :data:`SOURCE_DTYPE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SOURCE_DTYPE", "Extraction", "bad_column_mask", "extract_sources"]

SOURCE_DTYPE = np.dtype([
    ("x", "f8"), ("y", "f8"),            # centroid, 0-based pixels
    ("flux", "f8"), ("flux_err", "f8"),  # isophotal flux above the sky (ADU)
    ("snr", "f8"),
    ("peak", "f8"),                      # peak above the sky (ADU)
    ("a", "f8"), ("b", "f8"), ("theta", "f8"),
    ("npix", "i8"),
    ("flag", "i8"),                      # sep flags (1 blended, 2 merged/ truncated, ...)
    ("flux_radius", "f8"),               # half-light radius (pixels), NaN if not measured
    ("saturated", "?"),
])
"""Fields of the source record array."""

_PIXSTACK = 500_000
"""sep's pixel stack: larger costs time on every call, so it grows only on overflow."""
_PIXSTACK_MAX = 10_000_000
_SUB_OBJECTS = 4096
_RADIUS_SNR = 20.0
_RADIUS_MAX = 400
"""Half-light radii are measured only for the ``_RADIUS_MAX`` brightest unblended,
unsaturated sources at least ``_RADIUS_SNR`` significant (enough for the PSF)."""


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract_sources` found.

    Attributes
    ----------
    image : numpy.ndarray
        The frame minus its background map (float32, a new array).
    background, rms : float
        Global sky level and per-pixel sky noise (ADU).
    objects : numpy.recarray
        Sources, fields :data:`SOURCE_DTYPE`, brightest first.
    threshold : float
        Detection threshold per pixel (ADU above the sky).
    warnings : tuple of str
    bad_columns : numpy.ndarray or None
        True on the stretches of columns found hot or dead (masked during
        extraction); None when there are none.
    """

    image: np.ndarray
    background: float
    rms: float
    objects: np.recarray
    threshold: float
    warnings: tuple[str, ...] = ()
    bad_columns: np.ndarray | None = None


def extract_sources(data: np.ndarray, *, mask: np.ndarray | None = None,
                    thresh_sigma: float = 3.0, minarea: int = 5,
                    deblend_cont: float = 0.005, mesh: int = 64,
                    gain: float | None = None, saturate: float | None = None) -> Extraction:
    """Subtract the sky and extract sources.

    Parameters
    ----------
    data : numpy.ndarray
        2-D float32 image (ADU), finite everywhere (see :func:`~site_node.edge.frame.load_frame`).
    mask : numpy.ndarray, optional
        True for pixels to ignore.
    thresh_sigma : float
        Detection threshold in units of the global sky noise.
    minarea : int
        Minimum number of connected pixels above the threshold.
    deblend_cont : float
        sep's deblending contrast (smaller splits more).
    mesh : int
        Background mesh size (pixels).
    gain : float, optional
        e-/ADU, for the Poisson part of ``flux_err``.
    saturate : float, optional
        Saturation level (ADU, sky included); sources peaking above 90 % of it
        are flagged ``saturated``.

    Returns
    -------
    Extraction

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100.0, 5.0, (128, 128)).astype(np.float32)
    >>> img[60:63, 60:63] += 400.0
    >>> ext = extract_sources(img)
    >>> len(ext.objects), round(ext.background)
    (1, 100)
    """
    import sep

    image = np.array(data, dtype=np.float32, order="C", copy=True)
    notes: list[str] = []
    if np.ptp(image[::7, ::7]) == 0 and np.ptp(image) == 0:
        value = float(image.flat[0])
        notes.append(f"constant frame (every pixel {value:g}): no sky noise, no sources")
        return Extraction(np.zeros_like(image), value, 0.0,
                          np.zeros(0, SOURCE_DTYPE).view(np.recarray), np.inf, tuple(notes))
    bkg = sep.Background(image, mask=mask, bw=mesh, bh=mesh, fw=3, fh=3)
    back, rms = float(bkg.globalback), float(bkg.globalrms)
    bkg.subfrom(image)
    if not (np.isfinite(rms) and rms > 0):
        notes.append("sky noise is zero: no sources extracted")
        return Extraction(image, back, 0.0, np.zeros(0, SOURCE_DTYPE).view(np.recarray),
                          np.inf, tuple(notes))
    threshold = thresh_sigma * rms
    bad = bad_column_mask(image)
    if bad is not None:
        notes.append(f"{int(bad.any(axis=0).sum())} bad columns masked")
        mask = bad if mask is None else (mask | bad)
    sep.set_sub_object_limit(_SUB_OBJECTS)
    try:
        raw = safe_extract(image, threshold, mask=mask, minarea=minarea,
                           deblend_cont=deblend_cont)
    except Exception as exc:  # noqa: BLE001 - sep raises plain Exception on overflows
        notes.append(f"extraction failed at {thresh_sigma} sigma ({_one_line(exc)}); "
                     f"retried at {3 * thresh_sigma} sigma without deblending")
        threshold *= 3
        try:
            raw = safe_extract(image, threshold, mask=mask, minarea=minarea,
                               deblend_cont=1.0, clean=False)
        except Exception as exc2:  # noqa: BLE001 - same
            notes.append(f"extraction failed again ({_one_line(exc2)}): no sources")
            raw = None
    objects = _to_records(image, raw, rms, back, gain, saturate)
    return Extraction(image, back, rms, objects, threshold, tuple(notes), bad)


def bad_column_mask(image: np.ndarray, *, segments: int = 8,
                    nsigma: float = 8.0) -> np.ndarray | None:
    """Stretches of columns whose level stands out from their neighbours.

    The rows are cut into ``segments`` bands; in each, a column's median
    (every 8th row) is compared with the running median of its 15 neighbours,
    and flagged when it differs by more than ``nsigma`` robust standard
    deviations of those differences. Catches hot and dead columns, including
    ones that start mid-frame.

    Returns
    -------
    numpy.ndarray or None
        Boolean mask of the image's shape, or None when no column is bad.
    """
    ny, nx = image.shape
    seg = max(ny // segments, 1)
    n_seg = ny // seg
    from scipy.ndimage import median_filter

    step = 8 if seg >= 64 else 1
    sub = image[: n_seg * seg].reshape(n_seg, seg, nx)[:, ::step, :]
    col = np.median(sub, axis=1)
    resid = col - median_filter(col, size=(1, 15), mode="nearest")
    spread = 1.4826 * np.median(np.abs(resid - np.median(resid))) + 1e-6
    flagged = np.abs(resid) > nsigma * spread
    if not flagged.any():
        return None
    mask = np.repeat(flagged, seg, axis=0)
    if mask.shape[0] < ny:
        mask = np.vstack([mask, np.repeat(flagged[-1:], ny - mask.shape[0], axis=0)])
    return mask


def safe_extract(image: np.ndarray, threshold: float, **kwargs) -> np.ndarray:
    """``sep.extract``, retried once with a larger pixel stack if it overflows."""
    import sep

    sep.set_extract_pixstack(_PIXSTACK)
    try:
        return sep.extract(image, threshold, **kwargs)
    except Exception as exc:
        if "pixel buffer full" not in str(exc):
            raise
    sep.set_extract_pixstack(_PIXSTACK_MAX)
    try:
        return sep.extract(image, threshold, **kwargs)
    finally:
        sep.set_extract_pixstack(_PIXSTACK)


def _to_records(image: np.ndarray, raw: np.ndarray | None, rms: float, back: float,
                gain: float | None, saturate: float | None) -> np.recarray:
    import sep

    if raw is None or len(raw) == 0:
        return np.zeros(0, SOURCE_DTYPE).view(np.recarray)
    out = np.zeros(len(raw), SOURCE_DTYPE)
    for name in ("x", "y", "flux", "peak", "a", "b", "theta", "npix", "flag"):
        out[name] = raw[name]
    flux = np.maximum(out["flux"], 0.0)
    variance = out["npix"] * rms**2 + (flux / gain if gain else 0.0)
    out["flux_err"] = np.sqrt(variance)
    out["snr"] = out["flux"] / out["flux_err"]
    if saturate is not None:
        out["saturated"] = out["peak"] + back >= 0.9 * saturate
    out["flux_radius"] = np.nan
    sig = np.flatnonzero((out["snr"] >= _RADIUS_SNR) & (out["flag"] == 0) & ~out["saturated"])
    sig = sig[np.argsort(-out["flux"][sig], kind="stable")][:_RADIUS_MAX]
    if sig.size:
        rmax = np.clip(6.0 * out["a"][sig], 3.0, 30.0)
        radius, _ = sep.flux_radius(image, out["x"][sig], out["y"][sig], rmax, 0.5,
                                    normflux=flux[sig], subpix=5)
        out["flux_radius"][sig] = radius
    out = out[np.argsort(-out["flux"], kind="stable")]
    return out.view(np.recarray)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
