"""Frame-renderer benchmark: seconds to render one simulated FITS frame, on one core.

Usage::

    .venv/bin/python benchmarks/bench_frames.py [--repeat 7] [--sizes 512 1024 2048]
        [--artefacts]

Renders frames of the default network's ``palma-1m`` (20 arcmin field, r band,
120 s, 1" seeing) at a high-latitude field (COSMOS) and a dense Milky Way field
(Cygnus), with a new seed each time so no PSF bank is reused. The catalogue
caches are warmed first (a field's first frame generates its stars: tens of ms).
Goals: 1024x1024 <= 0.15 s, 2048x2048 <= 0.6 s. Medians are printed as a
Markdown table. Set ``OMP_NUM_THREADS=1`` (numpy is single-threaded here anyway).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--artefacts", action="store_true",
                        help="also time frames with every artefact kind injected")
    args = parser.parse_args()
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
