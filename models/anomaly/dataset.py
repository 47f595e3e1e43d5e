"""Training and evaluation frames for the anomaly model, rendered by the simulator.

Every frame is an observation of the default network (all sites, all their
telescopes and filters) at a random dark time of one of several nights spread
over a year (so the Moon's phase and the weather vary), toward a random
pointing above the telescope's limit, with a log-uniform exposure of 10-300 s.
Only exposures that succeed (dome open, target high enough, no cloud ruining
it) are kept: those are the normal frames. Anomalous frames are the same kind
of observation rendered with one artefact kind of
:data:`simulator.artefacts.ARTEFACT_KINDS`.

Splits use disjoint nights: ``train`` and ``val`` (threshold calibration) on the
training nights, ``test`` and the anomalous frames on other nights. Each frame
depends only on (seed, split, index), so any number of worker processes gives
the same dataset.

Features are computed exactly as the site node does (:mod:`site_node.edge`):
the ingredients of :func:`site_node.edge.thumbnails.ingredients` (stretched into
model inputs by :meth:`Dataset.inputs`), plus the simple image statistics of
:func:`image_statistics` for the baseline.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from site_node.edge.frame import load_frame
from site_node.edge.quality import Quality, measure_quality
from site_node.edge.sources import Extraction, extract_sources
from site_node.edge.thumbnails import Ingredients, ThumbnailSpec, ingredients, stretch

__all__ = ["FRAME_SHAPE", "STAT_NAMES", "Dataset", "build", "frame_features",
           "image_statistics", "render"]

FRAME_SHAPE = (1024, 1024)
"""Frames are rendered at the simulated backend's default size."""
FIRST_NIGHT = datetime(2026, 1, 5, 12, tzinfo=UTC)
NIGHT_STEP_DAYS = 23
"""23 days apart: the Moon's phase moves ~6.5 days from one night to the next."""
TRAIN_NIGHTS = 12
TEST_NIGHTS = 6
_CACHE_VERSION = "ingredients-v1"
STAT_NAMES = ("log_sky", "log_noise", "log_sources", "fwhm_px", "ellipticity",
              "saturated_frac", "sky_structure", "skew", "kurtosis", "bright_frac",
              "bad_column", "peak_ratio")
"""Features of the IsolationForest baseline (:func:`image_statistics`)."""


_FIELDS = ("light", "sky", "sky_level", "cutouts", "stats", "kind", "site", "telescope")


@dataclass(frozen=True)
class Dataset:
    """Frames as model-input ingredients (:class:`~site_node.edge.thumbnails.Ingredients`
    stacked), baseline statistics (N, F) and labels.

    Keeping the linear ingredients rather than the stretched inputs lets a
    new :class:`ThumbnailSpec` be tried without rendering the frames again.
    """

    light: np.ndarray
    sky: np.ndarray
    sky_level: np.ndarray
    cutouts: np.ndarray
    stats: np.ndarray
    kind: np.ndarray
    """``normal`` or the artefact kind."""
    site: np.ndarray
    telescope: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def inputs(self, spec: ThumbnailSpec | None = None) -> np.ndarray:
        """Model inputs ``(N, C, size, size)`` float32, exactly as the site node makes them."""
        return np.stack([stretch(Ingredients(self.light[i], self.sky[i],
                                             float(self.sky_level[i]), self.cutouts[i]), spec)
                         for i in range(len(self))])

    def select(self, mask: np.ndarray) -> Dataset:
        return Dataset(*(getattr(self, f)[mask] for f in _FIELDS))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{f: getattr(self, f) for f in _FIELDS})

    @classmethod
    def load(cls, path: Path) -> Dataset:
        with np.load(path) as z:
            return cls(*(z[f] for f in _FIELDS))

    @classmethod
    def concat(cls, parts: Iterable[Dataset]) -> Dataset:
        parts = list(parts)
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


@lru_cache(maxsize=32)
def _network_night(seed: int, night: int) -> Any:
    from control_center.network import load_network
    from simulator import SimulatedNetwork

    start = FIRST_NIGHT + timedelta(days=NIGHT_STEP_DAYS * night)
    return SimulatedNetwork(load_network(), seed=seed * 1000 + night, start=start,
                            end=start + timedelta(hours=24))


def _night_of(split: str, index: int) -> int:
    if split in ("train", "val"):
        return index % TRAIN_NIGHTS
    return TRAIN_NIGHTS + index % TEST_NIGHTS


def _observation(seed: int, split: str, index: int,
                 attempt: int = 0) -> tuple[Any, Any, int]:
    """A successful observation for (split, index): (simulated site, observation, render seed)."""
    from models.datasets.sim_frames import random_observation
    from simulator._seeding import stream

    night = _night_of(split, index)
    sim = _network_night(seed, night)
    rng = stream(seed, "anomaly-dataset", split, str(index), str(attempt))
    sites = sorted(sim.sites)
    found = random_observation(lambda r: sim[sites[int(r.integers(len(sites)))]], sim.start,
                               rng)
    if found is not None:
        return found
    raise RuntimeError(f"no successful observation found for {split}/{index}")


def render(seed: int, split: str, index: int, kind: str = "normal",
           shape: tuple[int, int] = FRAME_SHAPE) -> Any:
    """The FITS frame (``HDUList``) of one dataset item.

    An observer does not take frames whose sky alone fills the wells (bright
    Moon or twilight with a long exposure): such draws are replaced by the next
    one, so a normal frame's sky stays below 30 % of saturation.
    """
    from simulator.frames import frame_for_observation

    artefacts = () if kind == "normal" else (kind,)
    for attempt in range(20):
        site, obs, frame_seed = _observation(seed, split, index, attempt)
        header = frame_for_observation(site, obs, seed=frame_seed, shape=(64, 64))[0].header
        sky = header["OA_SKY"] * (64 / shape[1]) ** 2   # per pixel at the real size
        if sky + header["OA_BIAS"] < 0.3 * header["SATURATE"]:
            break
    return frame_for_observation(site, obs, seed=frame_seed, shape=shape, artefacts=artefacts)


def frame_features(hdul: Any, spec: ThumbnailSpec | None = None
                   ) -> tuple[Ingredients, np.ndarray]:
    """Model-input ingredients and baseline statistics of one frame, as served."""
    spec = spec or ThumbnailSpec()
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    ing = ingredients(frame.data, ext.image, ext.background, ext.rms, ext.objects,
                      gain=frame.gain, read_noise_e=frame.read_noise, spec=spec)
    return ing, image_statistics(frame.data, ext, quality)


def image_statistics(data: np.ndarray, ext: Extraction, quality: Quality) -> np.ndarray:
    """Simple statistics of a frame (:data:`STAT_NAMES`), the baseline's features."""
    rms = max(ext.rms, 1e-6)
    objects = ext.objects
    sub = ext.image[::4, ::4].astype(np.float64) / rms
    binned = data[: data.shape[0] // 64 * 64, : data.shape[1] // 64 * 64]
    binned = binned.reshape(64, binned.shape[0] // 64, 64, -1).mean(axis=(1, 3))
    cols = np.median(ext.image[::8], axis=0) / rms
    n = len(objects)
    stats = [
        math.log(max(ext.background, 1e-3)), math.log(rms), math.log1p(n),
        quality.fwhm_px if quality.fwhm_px is not None else 0.0,
        quality.ellipticity if quality.ellipticity is not None else 0.0,
        float(objects["saturated"].mean()) if n else 0.0,
        float(np.std(binned) / rms),
        float(np.mean(sub**3)), float(np.log1p(max(np.mean(sub**4), 0.0))),
        float(np.mean(sub > 5.0)),
        float(np.max(np.abs(cols - np.median(cols)))),
        float(np.median(objects["peak"] / np.maximum(objects["flux"], 1e-6))) if n else 0.0,
    ]
    return np.nan_to_num(np.asarray(stats, np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def kind_offset(kind: str) -> int:
    """Index offset of a kind's items: every kind gets its own observations."""
    from simulator.artefacts import ARTEFACT_KINDS

    return 0 if kind == "normal" else 100_000 * (1 + ARTEFACT_KINDS.index(kind))


def _item(args: tuple[int, str, int, str]) -> tuple[Any, ...]:
    seed, split, index, kind = args
    hdul = render(seed, split, index, kind)
    ing, stats = frame_features(hdul)
    header = hdul[0].header
    return (ing.light, ing.sky, ing.sky_level, ing.cutouts, stats, kind,
            str(header["OBSERVAT"]), str(header["TELESCOP"]))


def build(seed: int, split: str, n: int, kinds: Iterable[str] = ("normal",), *,
          workers: int = 1, cache: Path | None = None, progress: bool = True) -> Dataset:
    """Render and featurise ``n`` frames of each kind for one split.

    Parameters
    ----------
    seed : int
    split : str
        ``train``, ``val``, ``test`` (normal or anomalous frames of test nights).
    n : int
        Frames per kind.
    kinds : iterable of str
        ``normal`` and/or artefact kinds.
    workers : int
        Processes rendering in parallel (the result does not depend on it).
    cache : Path, optional
        A directory keeping the result (``{split}-{seed}-{n}-{kinds}.npz``).
    progress : bool
        Print a progress bar on stderr.
    """
    kinds = list(kinds)
    path = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tag = "-".join(k[:4] for k in kinds) if len(kinds) < 4 else f"{len(kinds)}kinds"
        path = cache / f"{split}-s{seed}-n{n}-{tag}-{_CACHE_VERSION}.npz"
        if path.is_file():
            return Dataset.load(path)
    import simulator.frames  # noqa: F401 - loaded before forking: one simulator version

    # each kind gets its own observations: index offset by kind
    tasks = [(seed, split, k * 100_000 + i, kind) for k, kind in enumerate(kinds)
             for i in range(n)]
    rows = []
    label = f"{split} frames"
    _BAR_START[label] = time.monotonic()
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, row in enumerate(pool.map(_item, tasks, chunksize=4), 1):
                rows.append(row)
                if progress:
                    progress_bar(label, done, len(tasks))
    else:
        for done, task in enumerate(tasks, 1):
            rows.append(_item(task))
            if progress:
                progress_bar(label, done, len(tasks))
    data = Dataset(*(np.stack([r[k] for r in rows]) if k in (0, 1, 3, 4)
                     else np.array([r[k] for r in rows]) for k in range(len(_FIELDS))))
    if path is not None:
        data.save(path)
    return data


_BAR_START: dict[str, float] = {}


def progress_bar(label: str, done: int, total: int, extra: str = "") -> None:
    """A one-line text progress bar on stderr (no dependencies)."""
    now = time.monotonic()
    start = _BAR_START.setdefault(label, now)
    frac = done / max(total, 1)
    eta = (now - start) / frac * (1 - frac) if frac > 0 else 0.0
    bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
    end = "\n" if done >= total else ""
    stream = sys.stderr
    stream.write(f"\r{label:>16} [{bar}] {done}/{total} {now - start:5.0f}s "
                 f"eta {eta:4.0f}s {extra}{end}")
    stream.flush()
    if done >= total:
        _BAR_START.pop(label, None)


def simulator_digest() -> str:
    """SHA-256 of the simulator's source files: which simulator rendered a dataset."""
    import hashlib

    import simulator

    digest = hashlib.sha256()
    for path in sorted(Path(simulator.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def default_workers() -> int:
    """Processes to render with: the usable cores, at most 4."""
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(4, os.cpu_count() or 1))
