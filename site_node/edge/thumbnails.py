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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

__all__ = ["THUMBNAIL_VERSION", "Ingredients", "ThumbnailSpec", "ingredients", "model_input",
           "stretch"]

THUMBNAIL_VERSION = "oa-thumb-v1"


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

    @property
    def shape(self) -> tuple[int, int, int]:
        """Input shape of one frame: (channels, size, size)."""
        return (3, self.size, self.size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThumbnailSpec:
        """Read a spec from model metadata; unknown versions are refused."""
        version = data.get("version", THUMBNAIL_VERSION)
        if version != THUMBNAIL_VERSION:
            raise ValueError(f"unsupported preprocessing {version!r} "
                             f"(this node knows {THUMBNAIL_VERSION!r})")
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
                spec: ThumbnailSpec | None = None) -> np.ndarray:
    """:func:`stretch` of :func:`ingredients`: the model input of one frame."""
    spec = spec or ThumbnailSpec()
    return stretch(ingredients(data, image, background, rms, objects, gain=gain,
                               read_noise_e=read_noise_e, spec=spec), spec)


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
