"""Real and bogus difference-image candidates, rendered by the simulator.

A *field* is one telescope of one site pointed somewhere (40 % of fields on a
bright OpenNGC galaxy), in one filter. Its reference is rendered on one night
and two new frames on other nights of the same split, each with its own seeing
(0.8-2.2 arcsec for references, 0.8-3.0 for new frames), sky brightness
(18.5-21.8 mag/arcsec^2), exposure (20-300 s, log-uniform), altitude, cloud
and zero-point drift. Every frame goes through the site node's own code
(:mod:`site_node.edge`: sources, quality, zero point, then
:func:`~site_node.edge.transients.search_candidates` against the reference),
so the candidates are exactly what the node would score.

Real: 6-16 point sources injected into each new frame, with magnitudes from
5.5 mag above to 0.3 mag below the frame's 5-sigma limit, on a galaxy of the
field (when there is one), on a catalogue star (a variable or nuclear
transient) or on empty sky. Bogus: everything else the difference produces,
from what the simulator really renders: subtraction residuals of bright and
saturated stars, PSF mismatch (different seeing and PSF shape), misalignment
dipoles (30 % of new frames carry a WCS error of ~0.4 px), natural cosmic rays
and, in some new frames, an artefact (cosmic-ray showers, hot pixels and
columns, satellite and aircraft trails, tracking errors, bad readout), plus
edge effects where the frames do not overlap. A candidate is real within
``max(1.5, 0.7 FWHM)`` pixels of an injected source, bogus farther than
``2 FWHM + 3`` pixels from every one, and dropped in between (ambiguous).

Splits: ``train`` and ``val`` (temperature and threshold) on the training
nights of two sites (Cerro Pachon, La Palma); ``test`` on other nights and all
three sites, a third of its fields at Hanle (a site never seen in training).
A field depends only on (seed, split, index), so any number of worker
processes gives the same dataset.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from site_node.edge.frame import load_frame
from site_node.edge.quality import measure_quality
from site_node.edge.references import Reference
from site_node.edge.sources import extract_sources
from site_node.edge.transients import CUTOUT, FEATURE_NAMES, search_candidates
from site_node.edge.zeropoint import estimate_zero_point

__all__ = ["ARTEFACT_MIX", "HELD_OUT_SITE", "MIN_INJECTED_SNR", "TRAIN_ARTEFACT_MIX",
           "TRAIN_SITES", "Dataset", "build", "field_items"]

FRAME_SHAPE = (1024, 1024)
"""The simulated backend's default frame size."""
TRAIN_SITES = ("cerro-pachon", "la-palma")
HELD_OUT_SITE = "hanle"
FIRST_NIGHT = datetime(2026, 2, 2, 20, tzinfo=UTC)
NIGHT_STEP_DAYS = 17
NIGHTS = {"train": range(12), "val": range(12, 15), "test": range(15, 21)}
NEW_FRAMES = 2
ARTEFACT_MIX = (("none", 0.38), ("cosmic_rays", 0.2), ("hot_columns", 0.14),
                ("satellite", 0.09), ("aircraft", 0.07), ("tracking", 0.05),
                ("bad_readout", 0.04), ("new_source", 0.03))
"""Artefact of a new frame and its probability (``new_source`` is one more real source)."""
HOSTS = ("sky", "star", "galaxy")
MIN_INJECTED_SNR = 5.0
"""A real candidate is a fair positive only when the injected source alone reaches this
signal-to-noise in the difference (:attr:`Dataset.inj_snr`, the search's own floor):
fainter ones were found only thanks to noise or a residual under them (a transient on a
saturated star), and are left out of training and of the rates (:meth:`Dataset.honest`)."""
TRAIN_ARTEFACT_MIX = (("none", 0.30), ("cosmic_rays", 0.18), ("hot_columns", 0.12),
                      ("satellite", 0.10), ("aircraft", 0.07), ("tracking", 0.12),
                      ("bad_readout", 0.06), ("new_source", 0.05))
"""The training split's mix: more of the kinds the node finds hardest (tracking errors,
trails, bad readout); validation and test keep :data:`ARTEFACT_MIX`."""
_CACHE_VERSION = "vetting-v2"
_FIELDS = ("stamps", "features", "label", "snr", "hand_cuts", "site", "night", "frame",
           "artefact", "host", "dmag", "flux_err", "inj_flux")
_INJ = ("inj_site", "inj_frame", "inj_dmag", "inj_host", "inj_found", "inj_hand")


@dataclass(frozen=True)
class Dataset:
    """Candidates ``(N, ...)`` and the injected sources ``(M, ...)`` of some fields.

    ``label`` is 1 for real; ``host`` (index in :data:`HOSTS`, -1 for bogus)
    and ``dmag`` (magnitude minus the frame's 5-sigma limit, NaN for bogus)
    describe real candidates; ``artefact`` is the new frame's artefact kind
    and ``frame`` a frame id unique within the dataset. The ``inj_*`` arrays
    list every injected source: whether any candidate matched it
    (``inj_found``) and whether that one passed the hand cuts (``inj_hand``).
    """

    stamps: np.ndarray
    features: np.ndarray
    label: np.ndarray
    snr: np.ndarray
    hand_cuts: np.ndarray
    site: np.ndarray
    night: np.ndarray
    frame: np.ndarray
    artefact: np.ndarray
    host: np.ndarray
    dmag: np.ndarray
    flux_err: np.ndarray
    inj_flux: np.ndarray
    inj_site: np.ndarray
    inj_frame: np.ndarray
    inj_dmag: np.ndarray
    inj_host: np.ndarray
    inj_found: np.ndarray
    inj_hand: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    @property
    def inj_snr(self) -> np.ndarray:
        """Signal-to-noise of the injected source alone (its true flux over the
        candidate's noise: sky, both images' Poisson noise and the residual floor of
        any star under it); NaN for bogus candidates."""
        return self.inj_flux / np.maximum(self.flux_err, 1e-9)

    @property
    def ambiguous(self) -> np.ndarray:
        """Real candidates whose injected source alone is below :data:`MIN_INJECTED_SNR`."""
        return (self.label == 1) & ~(self.inj_snr >= MIN_INJECTED_SNR)

    def honest(self) -> Dataset:
        """The candidates whose label the data support (without :attr:`ambiguous`)."""
        return self.select(~self.ambiguous)

    def select(self, mask: np.ndarray) -> Dataset:
        """The candidates in ``mask`` (the injected sources are kept)."""
        return Dataset(*(getattr(self, f)[mask] for f in _FIELDS),
                       *(getattr(self, f) for f in _INJ))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{f: getattr(self, f) for f in _FIELDS + _INJ})

    @classmethod
    def load(cls, path: Path) -> Dataset:
        with np.load(path) as z:
            return cls(*(z[f] for f in _FIELDS + _INJ))

    @classmethod
    def concat(cls, parts: list[Dataset]) -> Dataset:
        out = {}
        offset = 0
        for p in parts:
            out.setdefault("frame", []).append(p.frame + offset)
            out.setdefault("inj_frame", []).append(p.inj_frame + offset)
            offset += int(max(p.frame.max(initial=-1), p.inj_frame.max(initial=-1))) + 1
        return cls(*(np.concatenate(out[f] if f in out else [getattr(p, f) for p in parts])
                     for f in _FIELDS + _INJ))


@lru_cache(maxsize=1)
def _network() -> Any:
    from control_center.network import load_network

    return load_network()


@lru_cache(maxsize=1)
def _bright_galaxies() -> tuple[np.ndarray, np.ndarray]:
    from simulator.starfield import galaxies_in_field

    g = galaxies_in_field(0.0, 0.0, 180.0, mag_limit=14.0)
    return g.ra_deg, g.dec_deg


def _rng(seed: int, *key: str) -> np.random.Generator:
    from simulator._seeding import stream

    return stream(seed, "vetting-dataset", *key)


def field_items(split: str, n: int, offset: int = 0) -> list[tuple[str, int]]:
    """The (split, index) of ``n`` fields of a split, from index ``offset``."""
    if split not in NIGHTS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(NIGHTS)}")
    return [(split, i) for i in range(offset, offset + n)]


def _site_of(split: str, index: int) -> str:
    if split == "test":
        return (*TRAIN_SITES, HELD_OUT_SITE)[index % 3]
    return TRAIN_SITES[index % 2]


def _conditions(rng: np.random.Generator, seeing: float, sky: float) -> Any:
    from control_center.plugin_api.types import Conditions

    return Conditions(cloud_cover=float(rng.uniform(0.0, 0.3)),
                      humidity=float(rng.uniform(0.1, 0.6)),
                      wind_m_s=float(rng.uniform(1.0, 10.0)), seeing_arcsec=seeing,
                      sky_v_mag_arcsec2=sky, open=True)


def _exposure(rng: np.random.Generator, night: int, max_seeing: float) -> dict[str, Any]:
    """Render arguments that change from one exposure of a field to the next."""
    seeing = float(rng.uniform(0.8, max_seeing))
    sky = float(rng.uniform(18.5, 21.8))
    start = (FIRST_NIGHT + timedelta(days=NIGHT_STEP_DAYS * night)
             + timedelta(seconds=float(rng.uniform(0.0, 9.0 * 3600.0))))
    return {"exposure_s": float(math.exp(rng.uniform(math.log(20.0), math.log(300.0)))),
            "start": start, "conditions": _conditions(rng, seeing, sky),
            "altitude_deg": float(rng.uniform(30.0, 85.0)), "sky_mag_arcsec2": sky,
            "hours_since_dusk": float(rng.uniform(0.0, 9.0)), "seeing_fwhm_arcsec": seeing}


def _analyse(hdul: Any) -> tuple[Any, Any, Any, Any]:
    """What the edge pipeline measures before the transient stage (frame, sources,
    quality, zero point), exactly as :class:`~site_node.edge.pipeline.EdgePipeline` does."""
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain,
                          saturate=frame.saturate)
    quality = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    zp = estimate_zero_point(ext.image, ext.objects, frame.wcs, filter=frame.filter,
                             exptime=frame.exptime, fwhm_px=quality.fwhm_px, rms=ext.rms)
    return frame, ext, quality, zp


def _render_field(seed: int, split: str, index: int,
                  shape: tuple[int, int] = FRAME_SHAPE) -> dict[str, list]:
    """Candidates and injected sources of one field (its reference and new frames)."""
    from simulator.frames import render_frame

    rng = _rng(seed, split, str(index))
    net = _network()
    site = next(s for s in net.sites if s.name == _site_of(split, index))
    scope = site.telescopes[int(rng.integers(len(site.telescopes)))]
    filt = scope.filters[int(rng.integers(len(scope.filters)))]
    fov = scope.field_of_view_arcmin / 60.0
    if rng.random() < 0.4:
        g_ra, g_dec = _bright_galaxies()
        ok = np.flatnonzero(np.abs(g_dec - site.latitude_deg) < 60.0)
        k = int(ok[rng.integers(ok.size)])
        dec = float(np.clip(g_dec[k] + rng.uniform(-0.3, 0.3) * fov, -89.0, 89.0))
        ra = float((g_ra[k] + rng.uniform(-0.3, 0.3) * fov / max(math.cos(math.radians(dec)),
                                                                   0.05)) % 360.0)
    else:
        ra = float(rng.uniform(0.0, 360.0))
        dec = float(np.clip(site.latitude_deg + rng.uniform(-55.0, 55.0), -85.0, 85.0))
    nights = list(NIGHTS[split])
    picked = rng.choice(len(nights), size=1 + NEW_FRAMES, replace=False)
    common = {"ra_deg": ra, "dec_deg": dec, "filter": filt, "shape": shape}
    ref_args = _exposure(rng, nights[picked[0]], 2.2)
    ref_art = ("hot_columns",) if rng.random() < 0.15 else ()
    ref_hdul = render_frame(site, scope, **common, **ref_args, seed=int(rng.integers(2**31)),
                            artefacts=ref_art)
    rframe, rext, rquality, rzp = _analyse(ref_hdul)
    if rquality.fwhm_px is None:
        return _empty()
    reference = Reference(
        image=rext.image, header=rframe.wcs.to_header(relax=True), fwhm_px=rquality.fwhm_px,
        zero_point=rzp.value, exptime=rframe.exptime, rms=rext.rms, gain=rframe.gain,
        saturation=rframe.saturate - rext.background if rframe.saturate else None)
    stars = ref_hdul["TRUTH"].data
    gals = ref_hdul["GALAXIES"].data
    out = _empty()
    mix = TRAIN_ARTEFACT_MIX if split == "train" else ARTEFACT_MIX
    kinds = [k for k, _ in mix]
    probs = np.array([p for _, p in mix])
    for j in range(NEW_FRAMES):
        args = _exposure(rng, nights[picked[1 + j]], 3.0)
        frame_seed = int(rng.integers(2**31))
        art = kinds[int(rng.choice(len(kinds), p=probs / probs.sum()))]
        artefacts = () if art == "none" else (art,)
        probe = render_frame(site, scope, **common, **args, seed=frame_seed)
        limit = float(probe[0].header["OA_LIM5"])
        injected, hosts = _injections(rng, probe, stars, gals, limit, shape)
        hdul = render_frame(site, scope, **common, **args, seed=frame_seed,
                            artefacts=artefacts, transients=injected)
        if rng.random() < 0.3:   # an astrometric error: the WCS off by ~0.4 px
            hdul[0].header["CRPIX1"] += float(rng.normal(0.0, 0.4))
            hdul[0].header["CRPIX2"] += float(rng.normal(0.0, 0.4))
        frame_id = index * NEW_FRAMES + j
        _collect(out, hdul, reference, limit, hosts, site.name, nights[picked[1 + j]],
                 frame_id, art)
    return out


def _injections(rng: np.random.Generator, probe: Any, stars: Any, gals: Any, limit: float,
                shape: tuple[int, int]) -> tuple[list[tuple[float, float, float]], list[int]]:
    """Positions and magnitudes of the sources injected into one new frame, and their hosts."""
    from astropy.wcs import WCS

    wcs = WCS(probe[0].header, naxis=2).celestial
    h, w = shape
    n = int(rng.integers(6, 17))
    mags = rng.uniform(limit - 5.5, limit + 0.3, n)
    bright = stars[(stars["is_transient"] == 0) & (stars["mag"] < limit - 0.5)]
    out, hosts = [], []
    for k in range(n):
        u = rng.random()
        if u < 0.35 and len(gals):
            g = gals[int(rng.integers(len(gals)))]
            r = float(rng.uniform(0.0, 0.4)) * float(g["major"]) * 60.0 / 2.0 / 3600.0
            a = float(rng.uniform(0.0, 2.0 * math.pi))
            ra = float(g["ra"]) + r * math.cos(a) / max(math.cos(math.radians(float(g["dec"]))),
                                                        0.05)
            dec, host = float(g["dec"]) + r * math.sin(a), 2
        elif u < 0.6 and len(bright):
            s = bright[int(rng.integers(len(bright)))]
            ra, dec, host = float(s["ra"]), float(s["dec"]), 1
        else:
            x, y = rng.uniform(20, w - 20), rng.uniform(20, h - 20)
            ra, dec = (float(v) for v in wcs.all_pix2world(x, y, 0))
            host = 0
        x, y = wcs.all_world2pix(ra, dec, 0)
        if not (20 <= x < w - 20 and 20 <= y < h - 20):
            continue
        out.append((ra % 360.0, dec, float(mags[k])))
        hosts.append(host)
    return out, hosts


def _empty() -> dict[str, list]:
    return {f: [] for f in _FIELDS + _INJ}


def _collect(out: dict[str, list], hdul: Any, reference: Reference, limit: float,
             hosts: list[int], site: str, night: int, frame_id: int, art: str) -> None:
    """Search one new frame against its reference and label its candidates."""
    frame, ext, quality, zp = _analyse(hdul)
    if frame.wcs is None or quality.fwhm_px is None:
        return
    found, _ = search_candidates(
        ext.image, frame.wcs, fwhm_px=quality.fwhm_px, zero_point=zp.value,
        exptime=frame.exptime, rms=ext.rms, gain=frame.gain,
        saturation=frame.saturate - ext.background if frame.saturate else None,
        reference=reference, objects=ext.objects, bad_columns=ext.bad_columns)
    truth = hdul["TRUTH"].data
    inj = truth[truth["is_transient"] == 1]
    inj_host = list(hosts) + [0] * (len(inj) - len(hosts))     # new_source: on the sky
    fwhm = max(quality.fwhm_px, reference.fwhm_px)
    r_real, r_far = max(1.5, 0.7 * fwhm), 2.0 * fwhm + 3.0
    cx = np.array([c["x"] for c in found.table])
    cy = np.array([c["y"] for c in found.table])
    d = (np.hypot(cx[:, None] - inj["x"][None, :], cy[:, None] - inj["y"][None, :])
         if len(inj) and len(cx) else np.full((len(cx), max(len(inj), 1)), np.inf))
    nearest = d.min(axis=1) if len(cx) else np.zeros(0)
    which = d.argmin(axis=1) if len(cx) else np.zeros(0, int)
    hand = found.hand_cuts
    for i in range(len(found)):
        if r_real < nearest[i] <= r_far:
            continue
        real = nearest[i] <= r_real
        t = int(which[i])
        out["stamps"].append(found.stamps[i].astype(np.float16))
        out["features"].append(found.features[i])
        out["label"].append(int(real))
        out["snr"].append(found.table[i]["snr"])
        out["hand_cuts"].append(bool(hand[i]))
        out["site"].append(site)
        out["night"].append(night)
        out["frame"].append(frame_id)
        out["artefact"].append(art)
        out["host"].append(inj_host[t] if real else -1)
        out["dmag"].append(float(inj["mag"][t]) - limit if real else math.nan)
        out["flux_err"].append(found.table[i]["flux_err"])
        out["inj_flux"].append(float(inj["flux_adu"][t]) if real else math.nan)
    for t in range(len(inj)):
        hit = np.flatnonzero(d[:, t] <= r_real) if len(cx) else np.zeros(0, int)
        out["inj_site"].append(site)
        out["inj_frame"].append(frame_id)
        out["inj_dmag"].append(float(inj["mag"][t]) - limit)
        out["inj_host"].append(inj_host[t])
        out["inj_found"].append(bool(hit.size))
        out["inj_hand"].append(bool(hit.size and hand[hit].any()))


def _to_dataset(parts: list[dict[str, list]]) -> Dataset:
    def arr(f: str) -> np.ndarray:
        vals = [v for p in parts for v in p[f]]
        if f == "stamps":
            return (np.stack(vals) if vals
                    else np.zeros((0, 3, CUTOUT, CUTOUT), np.float16))
        if f == "features":
            return (np.stack(vals).astype(np.float32) if vals
                    else np.zeros((0, len(FEATURE_NAMES)), np.float32))
        if f in ("site", "artefact", "inj_site"):
            return np.array(vals, dtype="U16")
        if f in ("hand_cuts", "inj_found", "inj_hand"):
            return np.array(vals, dtype=bool)
        if f in ("snr", "dmag", "inj_dmag", "flux_err", "inj_flux"):
            return np.array(vals, dtype=np.float32)
        return np.array(vals, dtype=np.int64)

    return Dataset(*(arr(f) for f in _FIELDS + _INJ))


def _work(job: tuple[int, str, int, tuple[int, int]]) -> dict[str, list]:
    import control_center.astro  # noqa: F401 - astropy offline before any transform

    return _render_field(*job)


def build(seed: int, split: str, n_fields: int, *, workers: int | None = None,
          cache: Path | None = None, progress: Any = None,
          shape: tuple[int, int] = FRAME_SHAPE, offset: int = 0) -> Dataset:
    """The candidates of ``n_fields`` fields of ``split`` (cached as ``.npz``).

    Parameters
    ----------
    seed : int
    split : str
        ``train``, ``val`` or ``test``.
    n_fields : int
    workers : int, optional
        Worker processes (default: 2, at most the CPUs).
    cache : Path, optional
        Directory keeping the rendered candidates.
    progress : callable, optional
        Called with (done, total) after every field.
    shape : tuple of int
        Frame size: the same field of view in fewer pixels has coarser pixels
        (undersampled stars, as at a site with a wide field).
    offset : int
        Index of the first field (other fields than the default ones).
    """
    size = "" if tuple(shape) == FRAME_SHAPE else f"-{shape[0]}x{shape[1]}"
    first = f"-o{offset}" if offset else ""
    name = f"{_CACHE_VERSION}-{split}-s{seed}-n{n_fields}{first}{size}.npz"
    path = cache / name if cache else None
    if path is not None and path.is_file():
        return Dataset.load(path)
    jobs = [(seed, split, i, tuple(shape)) for _, i in field_items(split, n_fields, offset)]
    workers = workers or min(2, os.cpu_count() or 1)
    parts: list[dict[str, list]] = []
    if workers <= 1:
        for k, job in enumerate(jobs):
            parts.append(_work(job))
            if progress:
                progress(k + 1, len(jobs))
    else:
        with ProcessPoolExecutor(workers) as pool:
            for k, part in enumerate(pool.map(_work, jobs)):
                parts.append(part)
                if progress:
                    progress(k + 1, len(jobs))
    data = _to_dataset(parts)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data.save(path)
    return data
