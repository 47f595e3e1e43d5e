"""Frame-renderer benchmark: seconds to render one simulated FITS frame, on one core.

Usage::

    .venv/bin/python benchmarks/bench_frames.py [--repeat 7] [--sizes 512 1024 2048]
        [--artefacts]
    .venv/bin/python benchmarks/bench_frames.py --starfield [--fields 40]
        [--radius 0.5] [--mag-limit 21] [--starfield-module FILE]

Renders frames of the default network's ``palma-1m`` (20 arcmin field, r band,
120 s, 1" seeing) at a high-latitude field (COSMOS) and a dense Milky Way field
(Cygnus), with a new seed each time so no PSF bank is reused. The catalogue
caches are warmed first (a field's first frame generates its stars: tens of ms).
Goals: 1024x1024 <= 0.15 s, 2048x2048 <= 0.6 s. Medians are printed as a
Markdown table. Set ``OMP_NUM_THREADS=1`` (numpy is single-threaded here anyway).

``--starfield`` times the catalogue query every frame starts with,
``simulator.starfield.stars_in_field`` (30' radius, V <= 21), over random fields
all over the sky and at |b| > 30 deg: *cold* is a field never asked before (the
per-pixel cache keeps the last 32 pixels, as in a long run), *warm* the same field
again, *jitter* the same field moved by 4" with a 0.3 mag shallower limit (as the
next frame of a field asks: render_frame adds a pointing error), *dither* a field
1' away. Goals: cold <= 5 ms, warm <= 1 ms. ``--starfield-module FILE`` times another implementation of the module
(e.g. ``git show HEAD~1:simulator/starfield.py > /tmp/old.py``) for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
from datetime import UTC, datetime
from types import ModuleType

import numpy as np

from control_center.network import load_network
from control_center.plugin_api.types import Conditions
from simulator.frames import ARTEFACT_KINDS, render_frame

FIELDS = {"COSMOS (b=+42)": (150.1, 2.2), "Cygnus (b=+2)": (305.0, 40.0)}
CLEAR = Conditions(cloud_cover=0.05, humidity=0.35, wind_m_s=5.0, seeing_arcsec=1.0,
                   sky_v_mag_arcsec2=21.7, open=True)


def bench(size: int, field: tuple[float, float], repeat: int, artefacts: tuple[str, ...],
          ) -> tuple[float, int]:
    site = load_network().site("la-palma")
    scope = site.telescopes[0]
    kw = {"ra_deg": field[0], "dec_deg": field[1], "filter": "r", "exposure_s": 120.0,
          "start": datetime(2026, 3, 21, 23, tzinfo=UTC), "conditions": CLEAR,
          "altitude_deg": 60.0, "sky_mag_arcsec2": 20.9, "shape": (size, size),
          "artefacts": artefacts}
    render_frame(site, scope, seed=0, **kw)        # warm the star and flat caches
    times, n = [], 0
    for seed in range(1, repeat + 1):
        t0 = time.perf_counter()
        hdul = render_frame(site, scope, seed=seed, **kw)
        times.append(time.perf_counter() - t0)
        n = len(hdul["TRUTH"].data)
    return statistics.median(times), n


def _starfield(path: str | None) -> ModuleType:
    if path is None:
        from simulator import starfield

        return starfield
    spec = importlib.util.spec_from_file_location("starfield_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _random_fields(sf: ModuleType, n: int, seed: int, min_b_deg: float) -> list[tuple]:
    rng = np.random.default_rng(seed)
    fields: list[tuple[float, float]] = []
    while len(fields) < n:
        ra, dec = float(rng.uniform(0.0, 360.0)), math.degrees(math.asin(rng.uniform(-1, 1)))
        if abs((sf._ICRS_TO_GAL @ sf._unit(ra, dec))[2]) >= math.sin(math.radians(min_b_deg)):
            fields.append((ra, dec))
    return fields


def bench_starfield(n_fields: int, module: str | None, radius: float = 0.5,
                    mag_limit: float = 21.0) -> None:
    sf = _starfield(module)
    print(f"stars_in_field, radius {radius * 60:.0f}', V <= {mag_limit:g}"
          f"{'' if module is None else f' ({module})'}")
    print("| fields | stars | cold ms | warm ms | jitter ms | dither ms | goal |")
    print("|---|---|---|---|---|---|---|")
    for label, min_b in (("all-sky", 0.0), ("|b| > 30", 30.0)):
        for ra, dec in _random_fields(sf, 8, 99, min_b):     # imports, allocator, full cache
            sf.stars_in_field(ra, dec, radius, mag_limit=mag_limit)
        cold, warm, jitter, dither, stars = [], [], [], [], []
        for ra, dec in _random_fields(sf, n_fields, 42, min_b):
            per_deg_ra = 1.0 / max(math.cos(math.radians(dec)), 0.01)
            t0 = time.perf_counter()
            stars.append(len(sf.stars_in_field(ra, dec, radius, mag_limit=mag_limit)))
            cold.append(time.perf_counter() - t0)
            for _ in range(3):
                t0 = time.perf_counter()
                sf.stars_in_field(ra, dec, radius, mag_limit=mag_limit)
                warm.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sf.stars_in_field(ra + 4.0 / 3600.0 * per_deg_ra, dec - 3.0 / 3600.0, radius,
                              mag_limit=mag_limit - 0.3)
            jitter.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sf.stars_in_field(ra + 1.0 / 60.0 * per_deg_ra, dec, radius, mag_limit=mag_limit)
            dither.append(time.perf_counter() - t0)
        ms = [statistics.median(x) * 1e3 for x in (cold, warm, jitter, dither)]
        print(f"| {n_fields} {label} | {statistics.median(stars):.0f} | {ms[0]:.2f} | "
              f"{ms[1]:.3f} | {ms[2]:.2f} | {ms[3]:.2f} | cold <= 5, warm <= 1 |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--artefacts", action="store_true",
                        help="also time frames with every artefact kind injected")
    parser.add_argument("--starfield", action="store_true",
                        help="time the star catalogue query instead of whole frames")
    parser.add_argument("--fields", type=int, default=40,
                        help="random fields per --starfield row")
    parser.add_argument("--radius", type=float, default=0.5, help="--starfield cone (deg)")
    parser.add_argument("--mag-limit", type=float, default=21.0, help="--starfield V limit")
    parser.add_argument("--starfield-module", metavar="FILE",
                        help="time this file's stars_in_field instead of simulator.starfield")
    args = parser.parse_args()
    if args.starfield:
        bench_starfield(args.fields, args.starfield_module, args.radius, args.mag_limit)
        return
    print("| frame | field | stars | artefacts | median s | goal |")
    print("|---|---|---|---|---|---|")
    goals = {1024: "<= 0.15", 2048: "<= 0.6"}
    variants: list[tuple[str, ...]] = [()]
    if args.artefacts:
        variants.append(ARTEFACT_KINDS)
    for size in args.sizes:
        for name, field in FIELDS.items():
            for arts in variants:
                t, n = bench(size, field, args.repeat, arts)
                label = "all" if arts else "none"
                print(f"| {size}x{size} | {name} | {n} | {label} | {t:.3f} | "
                      f"{goals.get(size, '')} |", flush=True)


if __name__ == "__main__":
    main()
