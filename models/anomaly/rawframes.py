"""Rendered frames and the references of their fields, cached as raw pixels.

Each dataset item is a simulated observation (see :mod:`models.anomaly.dataset`)
rendered at ``shape`` pixels, plus a *reference* frame of the same field, same
telescope and filter taken at another time of the same night (other airmass,
sky, seeing, pointing error and noise), as the site node's
:class:`~site_node.edge.references.ReferenceStore` would hold. Frames are kept
as ``uint16`` pixels and FITS header text, so any preprocessing can be tried
again without rendering.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RawFrames", "build_raw", "hdul_of", "render_pair"]

CACHE_VERSION = "raw-v2"


@dataclass(frozen=True)
class RawFrames:
    """Frames (N, H, W) uint16 with their headers, references, kinds, sites and telescopes."""

    data: np.ndarray
    header: np.ndarray
    ref_data: np.ndarray
    ref_header: np.ndarray
    kind: np.ndarray
    site: np.ndarray
    telescope: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def frame(self, i: int) -> Any:
        """The FITS ``HDUList`` of item ``i``."""
        return hdul_of(self.data[i], str(self.header[i]))

    def reference(self, i: int) -> Any:
        """The FITS ``HDUList`` of item ``i``'s reference (None if there is none)."""
        text = str(self.ref_header[i])
        return hdul_of(self.ref_data[i], text) if text else None

    def select(self, mask: np.ndarray) -> RawFrames:
        return RawFrames(*(getattr(self, f)[mask] for f in _FIELDS))

    @classmethod
    def concat(cls, parts: Iterable[RawFrames]) -> RawFrames:
        parts = list(parts)
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


_FIELDS = ("data", "header", "ref_data", "ref_header", "kind", "site", "telescope")


def hdul_of(data: np.ndarray, header_text: str) -> Any:
    """An ``HDUList`` from pixels and header text."""
    from astropy.io import fits

    header = fits.Header.fromstring(header_text)
    for key in ("BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "BZERO", "BSCALE"):
        header.remove(key, ignore_missing=True)
    return fits.HDUList([fits.PrimaryHDU(data.astype(np.float32), header=header)])


def _reference_observation(sim_site: Any, obs: Any, rng: np.random.Generator) -> Any:
    """The same field, telescope and filter observed at another dark time of the night."""
    for _ in range(40):
        dt = float(rng.uniform(0.5, 4.0)) * (1 if rng.random() < 0.5 else -1)
        t = obs.exposure_start + timedelta(hours=dt)
        if sim_site.ephemeris.sun_altitude(t.timestamp()) > -8.0:
            continue
        exposure = float(math.exp(rng.uniform(math.log(10), math.log(300))))
        ref = sim_site.observe(obs.telescope, obs.ra_deg, obs.dec_deg, None, obs.filter,
                               exposure, 0.5, t)
        if ref.success:
            return ref
    return obs


def render_pair(seed: int, split: str, index: int, kind: str,
                shape: tuple[int, int]) -> tuple[Any, Any]:
    """The frame of one dataset item and a reference frame of its field (HDULists)."""
    from models.anomaly.dataset import _observation
    from simulator._seeding import stream
    from simulator.frames import frame_for_observation

    # as models.anomaly.dataset.render, keeping the observation (the simulated
    # network is stateful: the same draws cannot be repeated afterwards)
    for attempt in range(20):
        site, obs, frame_seed = _observation(seed, split, index, attempt)
        header = frame_for_observation(site, obs, seed=frame_seed, shape=(64, 64))[0].header
        sky = header["OA_SKY"] * (64 / shape[1]) ** 2
        if sky + header["OA_BIAS"] < 0.3 * header["SATURATE"]:
            break
    artefacts = () if kind == "normal" else (kind,)
    hdul = frame_for_observation(site, obs, seed=frame_seed, shape=shape, artefacts=artefacts)
    rng = stream(seed, "anomaly-reference", split, str(index))
    ref_obs = _reference_observation(site, obs, rng)
    ref = frame_for_observation(site, ref_obs, seed=int(rng.integers(2**31)), shape=shape)
    return hdul, ref


def _item(args: tuple[int, str, int, str, tuple[int, int]]) -> tuple[Any, ...]:
    seed, split, index, kind, shape = args
    hdul, ref = render_pair(seed, split, index, kind, shape)
    h = hdul[0].header
    pix = np.clip(np.rint(hdul[0].data), 0, 65535).astype(np.uint16)
    rpix = np.clip(np.rint(ref[0].data), 0, 65535).astype(np.uint16)
    return (pix, h.tostring(), rpix, ref[0].header.tostring(), kind, str(h["OBSERVAT"]),
            str(h["TELESCOP"]))


def build_raw(seed: int, split: str, n: int, kinds: Iterable[str] = ("normal",), *,
              shape: tuple[int, int] = (256, 256), workers: int = 1,
              cache: Path | None = None, progress: Any = None, start: int = 0) -> RawFrames:
    """Render ``n`` frames of each kind of one split, with their references.

    Parameters
    ----------
    seed, split, n, kinds
        As :func:`models.anomaly.dataset.build` (each kind its own observations).
    shape : tuple of int
        Frame size in pixels.
    workers : int
        Rendering processes (the result does not depend on it).
    cache : Path, optional
        Directory keeping the result.
    progress : callable, optional
        ``progress(done, total)`` after each frame.
    start : int
        Index of the first item of each kind (to render a split in chunks).
    """
    from models.anomaly.dataset import kind_offset

    kinds = list(kinds)
    path = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tag = "-".join(kinds) if len(kinds) < 3 else (
            f"{len(kinds)}kinds-{hashlib.sha256(' '.join(kinds).encode()).hexdigest()[:8]}")
        first = f"-from{start}" if start else ""
        path = cache / f"{split}-s{seed}-n{n}{first}-{shape[0]}-{tag}-{CACHE_VERSION}.npz"
        if path.is_file():
            with np.load(path) as z:
                return RawFrames(*(z[f] for f in _FIELDS))
    import simulator.frames  # noqa: F401 - loaded before forking

    tasks = [(seed, split, kind_offset(kind) + i, kind, shape) for kind in kinds
             for i in range(start, start + n)]
    rows = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for row in pool.map(_item, tasks, chunksize=4):
                rows.append(row)
                if progress:
                    progress(len(rows), len(tasks))
    else:
        for task in tasks:
            rows.append(_item(task))
            if progress:
                progress(len(rows), len(tasks))
    out = RawFrames(*(np.stack([r[k] for r in rows]) if k in (0, 2)
                      else np.array([r[k] for r in rows]) for k in range(len(_FIELDS))))
    if path is not None:
        _save_atomic(path, {f: getattr(out, f) for f in _FIELDS})
    return out


@dataclass(frozen=True)
class Features:
    """Model inputs ``(N, C, size, size)``, baseline statistics ``(N, F)`` and labels.

    ``has_reference`` says whether the ``difference`` channel was made from a
    reference (otherwise it is zero, as at a site that has none).
    """

    x: np.ndarray
    stats: np.ndarray
    has_reference: np.ndarray
    kind: np.ndarray
    site: np.ndarray
    telescope: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def without_reference(self, channel: int) -> Features:
        """The same frames as scored at a site with no reference (that channel zeroed)."""
        x = self.x.copy()
        x[:, channel] = 0.0
        return Features(x, self.stats, np.zeros(len(self), bool), self.kind, self.site,
                        self.telescope)

    @classmethod
    def concat(cls, parts: Iterable[Features]) -> Features:
        parts = list(parts)
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FEATURE_FIELDS))


_FEATURE_FIELDS = ("x", "stats", "has_reference", "kind", "site", "telescope")


def frame_inputs(hdul: Any, reference: Any, spec: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Model input (with the field's reference if given), baseline statistics, and whether
    the reference was used: exactly as the site node computes them."""
    from models.anomaly.dataset import image_statistics
    from site_node.edge.frame import load_frame
    from site_node.edge.quality import measure_quality
    from site_node.edge.sources import extract_sources
    from site_node.edge.thumbnails import align_reference, model_input

    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    aligned = None
    if reference is not None and spec.version != "oa-thumb-v1":
        ref = load_frame(reference)
        rext = extract_sources(ref.data, mask=ref.mask, gain=ref.gain, saturate=ref.saturate)
        if frame.wcs is not None and ref.wcs is not None:
            aligned = align_reference(rext.image, ref.wcs, frame.wcs, frame.data.shape)
    x = model_input(frame.data, ext.image, ext.background, ext.rms, ext.objects,
                    gain=frame.gain, read_noise_e=frame.read_noise, spec=spec,
                    reference=aligned)
    return x, image_statistics(frame.data, ext, quality), aligned is not None


def _features_item(args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, bool]:
    data, header, ref_data, ref_header, spec = args
    ref = hdul_of(ref_data, str(ref_header)) if str(ref_header) else None
    return frame_inputs(hdul_of(data, str(header)), ref, spec)


def featurise(raw: RawFrames, spec: Any, *, workers: int = 1, cache: Path | None = None,
              tag: str = "", progress: Any = None) -> Features:
    """:func:`frame_inputs` of every frame of ``raw`` (cached under ``cache`` by ``tag``)."""
    import json

    path = None
    if cache is not None and tag:
        digest = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()
                                + _thumbnails_digest()).hexdigest()[:10]
        path = cache / f"features-{tag}-{digest}.npz"
        if path.is_file():
            with np.load(path) as z:
                return Features(*(z[f] for f in _FEATURE_FIELDS))
    rows = []
    tasks = [(raw.data[i], raw.header[i], raw.ref_data[i], raw.ref_header[i], spec)
             for i in range(len(raw))]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for row in pool.map(_features_item, tasks, chunksize=8):
                rows.append(row)
                if progress:
                    progress(len(rows), len(tasks))
    else:
        for task in tasks:
            rows.append(_features_item(task))
            if progress:
                progress(len(rows), len(tasks))
    out = Features(np.stack([r[0] for r in rows]).astype(np.float32),
                   np.stack([r[1] for r in rows]), np.array([r[2] for r in rows]),
                   raw.kind, raw.site, raw.telescope)
    if path is not None:
        cache.mkdir(parents=True, exist_ok=True)
        _save_atomic(path, {f: getattr(out, f) for f in _FEATURE_FIELDS})
    return out


def _thumbnails_digest() -> bytes:
    """The preprocessing source: cached features are recomputed when it changes."""
    from site_node.edge import thumbnails

    return Path(thumbnails.__file__).read_bytes()


def _save_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` to a temporary file renamed into place (readers never see
    half a file)."""
    import os

    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
