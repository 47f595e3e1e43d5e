"""Simulator frames as FITS files with a manifest, for anyone to train or test on.

:func:`export_frames` renders ``n`` successful observations of a network's
sites (random telescope, filter, dark time on one of several nights spread over
a year, pointing above the telescope's limit, 10-300 s exposure) with the
simulator's frame renderer (:func:`simulator.frames.frame_for_observation`),
writes each as ``frame-NNNNN.fits`` (image with WCS and full header, plus the
``TRUTH``, ``GALAXIES`` and ``ARTEFACTS`` tables) and lists them in
``manifest.csv``. Frames are normal unless ``anomaly_fraction`` > 0: then that
share of them (chosen by the seed) carries one anomaly each, the kinds taking
turns, labelled in the manifest and in the file (header ``OA_ANOM``, table
``ARTEFACTS``). Everything depends only on the arguments: the same seed gives
the same files.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_COLUMNS", "FrameExportError", "export_frames", "frame_plan"]

FIRST_NIGHT = datetime(2026, 1, 5, 12, tzinfo=UTC)
NIGHT_STEP_DAYS = 23
NIGHTS = 12
MANIFEST_COLUMNS = ("file", "index", "site", "telescope", "filter", "time", "exposure_s",
                    "ra_deg", "dec_deg", "kind", "label", "seed")


class FrameExportError(ValueError):
    """Bad arguments (unknown site or kind, n < 1, a directory that cannot be written)."""


@dataclass(frozen=True)
class _Planned:
    index: int
    kind: str


def frame_plan(n: int, seed: int, anomaly_fraction: float,
               kinds: Sequence[str]) -> list[_Planned]:
    """Which frames carry which anomaly: ``round(n * fraction)`` of them, chosen by the
    seed, kinds in turn."""
    from simulator._seeding import stream

    n_bad = round(n * anomaly_fraction)
    chosen = sorted(stream(seed, "dataset-frames", "plan").permutation(n)[:n_bad].tolist())
    kind_of = {i: kinds[j % len(kinds)] for j, i in enumerate(chosen)}
    return [_Planned(i, kind_of.get(i, "normal")) for i in range(n)]


def _check(out: Path, n: int, size: int, anomaly_fraction: float, kinds: Sequence[str],
           sites: Sequence[str] | None, network: Any) -> tuple[list[str], tuple[str, ...]]:
    from simulator.artefacts import ARTEFACT_KINDS, check_kinds

    if n < 1:
        raise FrameExportError(f"--n must be at least 1, got {n}")
    if size < 16:
        raise FrameExportError(f"--size must be at least 16 pixels, got {size}")
    if not 0.0 <= anomaly_fraction <= 1.0:
        raise FrameExportError(f"--anomalies must be a fraction in [0, 1], got {anomaly_fraction}")
    try:
        kinds = check_kinds(list(kinds) or list(ARTEFACT_KINDS))
    except ValueError as exc:
        raise FrameExportError(str(exc)) from None
    known = [s.name for s in network.sites]
    chosen = list(sites) if sites else known
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise FrameExportError(f"unknown site(s) {', '.join(unknown)}; the network has "
                               f"{', '.join(known)}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FrameExportError(f"cannot write to {out}: {exc.strerror or exc}") from None
    return chosen, kinds


_SITES: dict[tuple, Any] = {}
"""Simulated site-nights by (site, seed, night) (a site is a frozen, comparable value;
building one costs about a second of ephemeris)."""


def _simulated_site(network: Any, name: str, seed: int, night: int, start: datetime) -> Any:
    from simulator.site import SimulatedSite

    site = network.site(name)
    key = (site, seed, night)
    if key not in _SITES:
        if len(_SITES) >= 64:
            _SITES.pop(next(iter(_SITES)))
        _SITES[key] = SimulatedSite(site, seed * 1000 + night, start,
                                    start + timedelta(hours=24))
    return _SITES[key]


def random_observation(pick_site: Callable[[Any], Any], start: datetime,
                       rng: Any) -> tuple[Any, Any, int] | None:
    """A successful observation at a random dark time of the day from ``start``, random
    pointing above the telescope's limit, telescope, filter and exposure.

    ``pick_site(rng)`` draws the simulated site. Returns (site, observation, render
    seed), or None when 500 tries found none (the sites always closed).
    """
    for _ in range(500):
        site = pick_site(rng)
        scopes = sorted(site.telescopes)
        scope = site.telescopes[scopes[int(rng.integers(len(scopes)))]]
        t = start + timedelta(seconds=float(rng.uniform(0, 86_000)))
        if site.ephemeris.sun_altitude(t.timestamp()) > -8.0:
            continue
        ra = float(rng.uniform(0, 360))
        dec = float(math.degrees(math.asin(rng.uniform(-1, 1))))
        alt, _ = site.altaz(ra, dec, t)
        if alt < scope.min_altitude_deg + 3:
            continue
        filt = scope.filters[int(rng.integers(len(scope.filters)))]
        exposure = float(math.exp(rng.uniform(math.log(10), math.log(300))))
        obs = site.observe(scope.name, ra, dec, None, filt, exposure, 0.5, t)
        if obs.success:
            return site, obs, int(rng.integers(2**31))
    return None


def _observation(network: Any, sites: list[str], seed: int, index: int,
                 attempt: int) -> tuple[Any, Any, int]:
    from simulator._seeding import stream

    night = index % NIGHTS
    start = FIRST_NIGHT + timedelta(days=NIGHT_STEP_DAYS * night)
    rng = stream(seed, "dataset-frames", str(index), str(attempt))
    found = random_observation(
        lambda r: _simulated_site(network, sites[int(r.integers(len(sites)))], seed, night,
                                  start), start, rng)
    if found is not None:
        return found
    raise FrameExportError(f"no successful observation found for frame {index} at "
                           f"{', '.join(sites)} (sites always closed?)")


def export_frames(out: str | Path, *, n: int, seed: int, network: Any = None,
                  sites: Sequence[str] | None = None, anomaly_fraction: float = 0.0,
                  kinds: Sequence[str] = (), size: int = 256,
                  progress: Any = None) -> list[dict[str, Any]]:
    """Render and write ``n`` frames and ``manifest.csv`` into ``out``; returns the rows.

    Parameters
    ----------
    out : path
        Directory (created).
    n, seed : int
        How many frames; the seed of everything.
    network : Network, optional
        Default: the shipped network.
    sites : sequence of str, optional
        Only these sites (default: all).
    anomaly_fraction : float
        Share of frames with one injected anomaly (0: all normal).
    kinds : sequence of str
        Anomaly kinds to inject (default: every kind of :mod:`simulator.artefacts`).
    size : int
        Frame size in pixels (square; the telescope's field is binned to it).
    progress : callable, optional
        Called with the number of frames written so far.

    Raises
    ------
    FrameExportError
    """
    import control_center.astro  # noqa: F401 - offline astropy before any alt-az
    from control_center.network import load_network
    from simulator.frames import frame_for_observation

    network = network or load_network()
    out = Path(out)
    sites, kinds = _check(out, n, size, anomaly_fraction, kinds, sites, network)
    rows = []
    for item in frame_plan(n, seed, anomaly_fraction, kinds):
        for attempt in range(20):    # an observer skips frames whose sky fills the wells
            site, obs, frame_seed = _observation(network, sites, seed, item.index, attempt)
            head = frame_for_observation(site, obs, seed=frame_seed, shape=(32, 32))[0].header
            if head["OA_SKY"] * (32 / size) ** 2 + head["OA_BIAS"] < 0.3 * head["SATURATE"]:
                break
        artefacts = () if item.kind == "normal" else (item.kind,)
        hdul = frame_for_observation(site, obs, seed=frame_seed, shape=(size, size),
                                     artefacts=artefacts)
        name = f"frame-{item.index:05d}.fits"
        tmp = out / (name + ".tmp")
        hdul.writeto(tmp, overwrite=True, output_verify="silentfix")
        os.replace(tmp, out / name)
        rows.append({"file": name, "index": item.index, "site": site.site.name,
                     "telescope": obs.telescope, "filter": obs.filter,
                     "time": obs.exposure_start.isoformat(),
                     "exposure_s": round(obs.exposure_s, 3), "ra_deg": round(obs.ra_deg, 6),
                     "dec_deg": round(obs.dec_deg, 6), "kind": item.kind,
                     "label": "normal" if item.kind == "normal" else "anomalous",
                     "seed": frame_seed})
        if progress is not None:
            progress(len(rows))
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows
