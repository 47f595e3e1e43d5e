"""Model inputs made from a frame: the one preprocessing shared by training and serving.

Training (``models/anomaly/dataset.py``) and the site node
(:class:`~site_node.edge.anomaly.AnomalyScorer`) both go through
:func:`ingredients` (linear measurements of the frame) and :func:`stretch`
(their scaling into model inputs, with the :class:`ThumbnailSpec` stored in the
model's metadata), so a model always sees its inputs as it was trained on them.

Version ``oa-thumb-v1`` makes three 64x64 channels:

``light``
    The background-subtracted frame binned to 64x64 (block mean) in units of
    the per-pixel sky noise, ``asinh``-stretched: stars, trails, hot columns,
    cosmic rays, halos.
``sky``
    The background map (sep's, 64-pixel mesh) binned the same way, as a
    fraction of the sky level above the bias, ``asinh``-stretched: clouds,
    stray light, frost, fog, vignetting. The sky above the bias is estimated
    from the noise (photon transfer: ``gain * rms**2 - read_noise**2 / gain``
    ADU), so no bias level is needed; without ``GAIN`` the noise is used.
``sources``
    A 4x4 mosaic of 16x16 cutouts: the ``n_bright`` brightest unsaturated
    sources (top two rows) and the ``n_sharp`` most compact ones by peak / flux
    (bottom two rows), each log-stretched and divided by its own peak. It shows
    the PSF and its wings (defocus, trailing, dew halos) and sharp non-stellar
    spikes (cosmic rays, hot pixels).

Version ``oa-thumb-v2`` (:data:`THUMB_V2`) adds five channels that do not depend
on where the stars are (see the functions below): ``acf`` (:func:`autocorrelation`),
``profiles`` (:func:`profiles`), ``sharp`` (:func:`sharp_pixels`), ``lines``
(:func:`line_map`) and ``difference`` (:func:`difference`, the frame minus the
field's aligned reference; zero when no reference is given, see
:func:`align_reference`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["CHANNELS", "THUMBNAIL_VERSION", "THUMB_V2", "Ingredients", "ThumbnailSpec",
           "align_reference", "autocorrelation", "difference", "ingredients", "line_map",
           "model_input", "profiles", "sharp_pixels", "stretch"]

THUMBNAIL_VERSION = "oa-thumb-v1"
THUMBNAIL_V2 = "oa-thumb-v2"
CHANNELS = {THUMBNAIL_VERSION: ("light", "sky", "sources"),
            THUMBNAIL_V2: ("light", "sky", "sources", "acf", "profiles", "sharp", "lines",
                           "difference")}
"""The channels of each preprocessing version, in order."""


@dataclass(frozen=True)
class ThumbnailSpec:
    """How a frame becomes a model input (stored in the model's metadata)."""

    version: str = THUMBNAIL_VERSION
    size: int = 64
    cutout: int = 16
    n_bright: int = 8
    n_sharp: int = 8
    sharp_snr_min: float = 10.0
    light_softening: float = 0.25
    """asinh softening of the light channel (per-pixel sky-noise units)."""
    light_clip: tuple[float, float] = (-3.0, 9.0)
    light_scale: float = 4.0
    sky_softening: float = 0.01
    """asinh softening of the sky channel (fraction of the sky level)."""
    sky_clip: tuple[float, float] = (-7.0, 7.0)
    sky_scale: float = 3.0
    cutout_softening: float = 2.0
    """asinh softening of the cutouts (sky-noise units)."""
    cutout_clip: tuple[float, float] = (-0.3, 1.0)
    acf_gain: float = 40.0
    """oa-thumb-v2: stretch of the autocorrelation (:func:`autocorrelation`)."""
    sharp_level: float = 8.0
    sharp_ratio: float = 0.2
    line_grid: int = 128
    line_angles: int = 256
    line_clip: float = 5.0

    @property
    def channels(self) -> tuple[str, ...]:
        """Names of the input channels, in order."""
        return CHANNELS[self.version]

    @property
    def shape(self) -> tuple[int, int, int]:
        """Input shape of one frame: (channels, size, size)."""
        return (len(self.channels), self.size, self.size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThumbnailSpec:
        """Read a spec from model metadata; unknown versions are refused."""
        version = data.get("version", THUMBNAIL_VERSION)
        if version not in CHANNELS:
            raise ValueError(f"unsupported preprocessing {version!r} "
                             f"(this node knows {', '.join(map(repr, CHANNELS))})")
        known = {f.name for f in fields(cls)}
        kwargs = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in data.items() if k in known}
        return cls(**kwargs)


@dataclass(frozen=True)
class Ingredients:
    """Linear measurements of one frame from which :func:`stretch` makes the input.

    ``light`` (size x size) in sky-noise units; ``sky`` (size x size) in ADU
    above the global background; ``sky_level`` the sky above the bias (ADU);
    ``cutouts`` (n_bright + n_sharp, cutout, cutout) in sky-noise units, zero
    for empty slots.
    """

    light: np.ndarray
    sky: np.ndarray
    sky_level: float
    cutouts: np.ndarray


def ingredients(data: np.ndarray, image: np.ndarray, background: float, rms: float,
                objects: np.ndarray, *, gain: float | None = None,
                read_noise_e: float | None = None,
                spec: ThumbnailSpec | None = None) -> Ingredients:
    """Measure what the model input is made of.

    Parameters
    ----------
    data : numpy.ndarray
        The frame with its sky (ADU), finite.
    image : numpy.ndarray
        The frame minus its background map.
    background, rms : float
        Global sky level and per-pixel noise (ADU).
    objects : numpy.ndarray
        Extracted sources (:data:`~site_node.edge.sources.SOURCE_DTYPE`).
    gain, read_noise_e : float, optional
        e-/ADU and e-, for the sky level above the bias.
    spec : ThumbnailSpec, optional
    """
    spec = spec or ThumbnailSpec()
    noise = rms if rms > 0 else 1.0
    binned_data = _bin(data, spec.size)
    binned_light = _bin(image, spec.size)
    sky = binned_data - binned_light - background
    level = noise
    if gain:
        level = max(gain * noise**2 - (read_noise_e or 0.0) ** 2 / gain, noise)
    cutouts = np.zeros((spec.n_bright + spec.n_sharp, spec.cutout, spec.cutout), np.float32)
    for slot, i in enumerate(_pick_sources(objects, spec)):
        if i >= 0:
            cutouts[slot] = _cutout(image, float(objects["x"][i]), float(objects["y"][i]),
                                    spec.cutout) / noise
    return Ingredients((binned_light / noise).astype(np.float32), sky.astype(np.float32),
                       float(level), cutouts)


def stretch(ing: Ingredients, spec: ThumbnailSpec | None = None) -> np.ndarray:
    """The model input ``(3, size, size)`` float32 from :class:`Ingredients`."""
    spec = spec or ThumbnailSpec()
    light = np.clip(np.arcsinh(ing.light / spec.light_softening), *spec.light_clip)
    sky = np.arcsinh(ing.sky / (spec.sky_softening * max(ing.sky_level, 1e-6)))
    sky = np.clip(sky, *spec.sky_clip)
    return np.stack([light / spec.light_scale, sky / spec.sky_scale,
                     _mosaic(ing.cutouts, spec)]).astype(np.float32)


def model_input(data: np.ndarray, image: np.ndarray, background: float, rms: float,
                objects: np.ndarray, *, gain: float | None = None,
                read_noise_e: float | None = None,
                spec: ThumbnailSpec | None = None,
                reference: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The model input ``spec.shape`` of one frame.

    ``oa-thumb-v1``: :func:`stretch` of :func:`ingredients`. ``oa-thumb-v2``:
    those three channels and the five star-independent ones; ``reference`` is
    the field's reference aligned on this frame and where it is defined
    (:func:`align_reference`), or None (the ``difference`` channel is then zero).
    """
    spec = spec or ThumbnailSpec()
    base = stretch(ingredients(data, image, background, rms, objects, gain=gain,
                               read_noise_e=read_noise_e, spec=spec), spec)
    if spec.version == THUMBNAIL_VERSION:
        return base
    noise = rms if rms > 0 else 1.0
    s = np.asarray(image, np.float32) / np.float32(noise)
    size = spec.size
    aligned, valid = reference if reference is not None else (None, None)
    extra = [autocorrelation(s, size, spec.acf_gain), profiles(s, size),
             sharp_pixels(s, size, spec.sharp_level, spec.sharp_ratio),
             line_map(s, size, grid=spec.line_grid, angles=spec.line_angles,
                      clip=spec.line_clip),
             difference(image, noise, aligned, valid, size)]
    return np.concatenate([base, np.stack(extra)]).astype(np.float32)


def align_reference(reference_image: np.ndarray, reference_wcs: object, wcs: object,
                    shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """The field's reference resampled on this frame's pixels, and where it is defined.

    Through both WCSs, as the transient stage does (integer plus bilinear
    sub-pixel shift per tile). None when the frames do not overlap enough
    (rotated, rescaled, offset by more than a quarter of the field).
    """
    from site_node.edge.transients import align_to_frame

    pair = align_to_frame(reference_image, reference_wcs, wcs, shape)
    if pair is None:
        return None
    aligned, valid = pair
    if np.count_nonzero(valid) < 0.5 * valid.size:
        return None
    return aligned, valid


def _bin(data: np.ndarray, size: int) -> np.ndarray:
    """Block mean to ``size`` x ``size`` (central crop to a multiple of the block)."""
    ny, nx = data.shape
    by, bx = ny // size, nx // size
    if by < 1 or bx < 1:
        raise ValueError(f"frame {nx}x{ny} is smaller than the thumbnail ({size})")
    y0, x0 = (ny - by * size) // 2, (nx - bx * size) // 2
    block = data[y0:y0 + by * size, x0:x0 + bx * size].reshape(size, by, size, bx)
    return block.mean(axis=(1, 3), dtype=np.float64)


def _mosaic(cutouts: np.ndarray, spec: ThumbnailSpec) -> np.ndarray:
    """Log-stretched, peak-normalised cutouts tiled into ``size`` x ``size``."""
    size, c = spec.size, spec.cutout
    per_row = size // c
    out = np.zeros((size, size), np.float32)
    lo, hi = spec.cutout_clip
    for slot in range(min(len(cutouts), per_row * per_row)):
        cut = cutouts[slot]
        peak = float(cut.max())
        if not peak > 0:
            continue
        scaled = np.arcsinh(cut / spec.cutout_softening) / np.arcsinh(peak / spec.cutout_softening)
        r, col = divmod(slot, per_row)
        out[r * c:(r + 1) * c, col * c:(col + 1) * c] = np.clip(scaled, lo, hi)
    return out


def _pick_sources(objects: np.ndarray, spec: ThumbnailSpec) -> list[int]:
    """Source index (or -1 for an empty slot) of every mosaic slot, in order."""
    n = len(objects)
    bright: list[int] = []
    sharp: list[int] = []
    if n:
        ok = np.flatnonzero(~objects["saturated"] & (objects["flux"] > 0))
        ok = ok[np.argsort(-objects["flux"][ok], kind="stable")]
        bright = [int(i) for i in ok[: spec.n_bright]]
        cand = np.flatnonzero(~objects["saturated"] & (objects["snr"] >= spec.sharp_snr_min)
                              & (objects["flux"] > 0))
        cand = np.setdiff1d(cand, bright)
        compact = objects["peak"][cand] / objects["flux"][cand]
        sharp = [int(i) for i in cand[np.argsort(-compact, kind="stable")][: spec.n_sharp]]
    bright += [-1] * (spec.n_bright - len(bright))
    sharp += [-1] * (spec.n_sharp - len(sharp))
    return bright + sharp


def _cutout(image: np.ndarray, x: float, y: float, c: int) -> np.ndarray:
    """A ``c`` x ``c`` cutout centred on pixel (x, y), zero-padded at the edges."""
    ny, nx = image.shape
    x0, y0 = round(x) - c // 2, round(y) - c // 2
    out = np.zeros((c, c), np.float32)
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + c, ny), min(x0 + c, nx)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


# ---- star-independent channels of oa-thumb-v2 ----------------------------------------


def autocorrelation(s: np.ndarray, size: int, gain: float = 40.0) -> np.ndarray:
    """Normalised autocorrelation of ``asinh(s / 3)`` at lags ``-size/2 .. size/2 - 1``.

    Zero lag (dominated by the white noise) is replaced by the mean of its four
    neighbours; values are ``asinh(gain * acf) / 4``.
    """
    a = np.arcsinh(np.clip(s, -10.0, 1e4) / 3.0).astype(np.float64)
    a -= a.mean()
    ny, nx = a.shape
    fy, fx = _fft_size(2 * ny), _fft_size(2 * nx)
    spec = np.fft.rfft2(a, s=(fy, fx))
    acf = np.fft.irfft2(spec * np.conj(spec), s=(fy, fx))
    var = acf[0, 0]
    h = size // 2
    acf = np.roll(np.roll(acf, h, axis=0), h, axis=1)[:size, :size]
    # overlap correction: lag (dy, dx) has (ny - |dy|)(nx - |dx|) products
    lags = np.arange(size) - h
    overlap = np.outer(ny - np.abs(lags), nx - np.abs(lags)) / float(ny * nx)
    acf = acf / overlap / max(var, 1e-12)
    acf[h, h] = 0.25 * (acf[h - 1, h] + acf[h + 1, h] + acf[h, h - 1] + acf[h, h + 1])
    return (np.arcsinh(gain * acf) / 4.0).astype(np.float32)


def profiles(s: np.ndarray, size: int) -> np.ndarray:
    """Column medians (top, bottom half) and row medians (left, right half) as z-scores.

    Each profile is high-passed (minus its 15-point running median), so smooth
    sky residuals vanish and single bad columns or rows stand out.

    Four bands of ``size / 4`` rows; each holds one profile binned to ``size``
    values by the signed value of largest magnitude, ``asinh(z / 2) / 3``.
    """
    ny, nx = s.shape
    c = np.clip(s, -10.0, 10.0)
    parts = [np.median(c[: ny // 2], axis=0), np.median(c[ny // 2:], axis=0),
             np.median(c[:, : nx // 2], axis=1), np.median(c[:, nx // 2:], axis=1)]
    counts = [ny // 2, ny - ny // 2, nx // 2, nx - nx // 2]
    band = size // 4
    out = np.zeros((size, size), np.float32)
    for k, (prof, n) in enumerate(zip(parts, counts, strict=True)):
        z = (prof - _running_median(prof, 15)) * math.sqrt(n) / 1.2533
        out[k * band:(k + 1) * band] = _signed_max_bin(z, size)[None, :]
    return (np.arcsinh(out / 2.0) / 3.0).astype(np.float32)


def sharp_pixels(s: np.ndarray, size: int, level: float = 8.0,
                 ratio: float = 0.2) -> np.ndarray:
    """Count of sharp pixels per block, ``asinh(count) / 2``.

    A pixel is sharp when it exceeds ``level`` sky sigmas and each of its four
    neighbours is below ``ratio`` times it: a cosmic ray or hot pixel; even an
    undersampled star spreads more light into its neighbours.
    """
    p = np.pad(s, 1, mode="edge")
    neigh = np.maximum.reduce([p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
    sharp = (s > level) & (neigh < ratio * s)
    counts = _bin(sharp.astype(np.float32), size) * _block_area(s.shape, size)
    return (np.arcsinh(counts) / 2.0).astype(np.float32)


def line_map(s: np.ndarray, size: int, *, grid: int = 128, angles: int = 256,
             clip: float = 5.0, min_length: int = 24) -> np.ndarray:
    """Robust Hough transform: z-score of the clipped mean along every line.

    The frame is binned to ``grid`` x ``grid`` (block means rescaled to unit
    noise), clipped to ``[-3, clip]`` (a star adds at most ``clip``), and for
    ``angles`` directions the pixels are summed along lines two pixels wide. Each
    line's sum is a z-score against the clipped frame's mean and spread; lines
    shorter than ``min_length`` pixels are left at zero. The (angle, offset)
    map is max-pooled to ``size`` x ``size``, ``asinh(z / 3) / 3``.
    """
    b = _bin(s, grid) * math.sqrt(_block_area(s.shape, grid))
    c = np.clip(b, -3.0, clip).astype(np.float64)
    mu, sd = float(c.mean()), float(c.std()) or 1.0
    c = ((c - mu) / sd).ravel()
    index, cnt = _hough_geometry(grid, angles, min_length)
    sums = np.bincount(index, weights=np.broadcast_to(c, (angles, c.size)).ravel(),
                       minlength=cnt.size).reshape(cnt.shape)
    sums[:, :-1] += sums[:, 1:]     # lines two pixels wide: a trail between two bins
    z = np.where(cnt > 0, sums / np.sqrt(np.maximum(cnt, 1.0)), 0.0)
    pooled = _max_pool(z, size, size)
    return (np.arcsinh(pooled / 3.0) / 3.0).astype(np.float32)


def difference(image: np.ndarray, rms: float, aligned: np.ndarray | None,
               valid: np.ndarray | None, size: int, *, star_error: float = 0.05) -> np.ndarray:
    """Block sums of the frame minus its aligned, flux-matched reference, as z-scores.

    Both images are smoothed by a 1.5-pixel Gaussian (small PSF and alignment
    differences), the reference is scaled by the least-squares flux ratio on
    its bright pixels, and each block's sum is divided by the noise of a block
    sum of the difference (from the median absolute deviation of block sums)
    plus ``star_error`` of the light in the block (a star that changed a
    little, or was matched imperfectly, is not an anomaly; a new source or a
    cosmic ray, absent from the reference, is). Zero everywhere when there is
    no reference. ``asinh(z / 3) / 3``.
    """
    if aligned is None:
        return np.zeros((size, size), np.float32)
    from scipy.ndimage import gaussian_filter

    new = gaussian_filter(image.astype(np.float32), 1.5)
    ref = gaussian_filter(aligned.astype(np.float32), 1.5)
    ok = valid if valid is not None else np.ones(image.shape, bool)
    bright = ok & (ref > 3.0 * rms) & (new > 3.0 * rms)
    scale = 1.0
    if np.count_nonzero(bright) >= 10:
        scale = float(np.median(new[bright] / ref[bright]))
        scale = min(max(scale, 0.05), 20.0)
    ref *= np.float32(scale)
    area = _block_area(image.shape, size)
    diff = _bin(np.where(ok, new - ref, 0.0), size) * area
    light = _bin(np.where(ok, np.abs(new) + np.abs(ref), 0.0), size) * area
    okb = _bin(ok.astype(np.float32), size) > 0.99
    sample = diff[okb] if okb.any() else diff.ravel()
    centre = float(np.median(sample))
    noise = 1.4826 * float(np.median(np.abs(sample - centre))) or 1.0
    z = np.where(okb, (diff - centre) / np.hypot(noise, star_error * light), 0.0)
    return (np.arcsinh(z / 3.0) / 3.0).astype(np.float32)


@lru_cache(maxsize=4)
def _hough_geometry(n: int, angles: int, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Line index of every (angle, pixel) of an ``n`` x ``n`` grid, and pixels per 2-wide line.

    Lines with fewer than ``min_length`` pixels get a count of zero.
    """
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    xx, yy = (xx - (n - 1) / 2).ravel(), (yy - (n - 1) / 2).ravel()
    n_off = math.ceil(n * math.sqrt(2)) + 1
    t = np.pi * np.arange(angles) / angles
    rho = np.rint(np.outer(np.sin(t), xx) - np.outer(np.cos(t), yy)).astype(np.int64)
    index = (rho + n_off // 2 + n_off * np.arange(angles)[:, None]).ravel()
    cnt = np.bincount(index, minlength=angles * n_off).astype(np.float64).reshape(angles, n_off)
    cnt[:, :-1] += cnt[:, 1:]
    cnt[cnt < min_length] = 0.0
    index.setflags(write=False)
    cnt.setflags(write=False)
    return index, cnt


def _fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n."""
    best = 1 << (n - 1).bit_length()
    for p3 in (1, 3, 9, 27):
        for p5 in (1, 5, 25):
            base = p3 * p5
            v = base << max(0, (math.ceil(n / base) - 1).bit_length())
            if v >= n:
                best = min(best, v)
    return best


def _block_area(shape: tuple[int, int], size: int) -> int:
    return (shape[0] // size) * (shape[1] // size)


def _running_median(v: np.ndarray, window: int) -> np.ndarray:
    """Running median of a 1-D array (edges reflected)."""
    from numpy.lib.stride_tricks import sliding_window_view

    h = window // 2
    padded = np.pad(v, h, mode="reflect")
    return np.median(sliding_window_view(padded, window), axis=1)


def _signed_max_bin(z: np.ndarray, size: int) -> np.ndarray:
    """``z`` (length >= size) reduced to ``size`` bins by the value of largest magnitude."""
    edges = np.linspace(0, len(z), size + 1).astype(int)
    out = np.zeros(size)
    for i in range(size):
        seg = z[edges[i]:max(edges[i + 1], edges[i] + 1)]
        out[i] = seg[np.argmax(np.abs(seg))]
    return out


def _max_pool(z: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Max-pool a 2-D array to ``rows`` x ``cols`` (uneven bins)."""
    ey = np.linspace(0, z.shape[0], rows + 1).astype(int)
    ex = np.linspace(0, z.shape[1], cols + 1).astype(int)
    tmp = np.maximum.reduceat(z, ey[:-1], axis=0)
    return np.maximum.reduceat(tmp, ex[:-1], axis=1)


THUMB_V2 = ThumbnailSpec(version=THUMBNAIL_V2)
"""The ``oa-thumb-v2`` preprocessing (eight channels)."""
