"""Time the node's per-frame photometry (:func:`site_node.edge.photometry.measure_photometry`).

Renders 12 frames (3 sites x 4 fields of the evaluation, 256 px by default: the
demo's size), extracts their sources once, then measures each frame's photometry
three times and prints the median, mean and largest CPU time per frame (process
time, so other load on the machine counts less than in wall time).

Run: ``python -m control_center.photometry.node_timing [--size 256]``.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import numpy as np

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from control_center.network import load_network
    from control_center.photometry import evaluate as ev
    from site_node.edge.frame import load_frame
    from site_node.edge.photometry import measure_photometry
    from site_node.edge.quality import measure_quality
    from site_node.edge.sources import extract_sources

    parser = argparse.ArgumentParser(prog="python -m control_center.photometry.node_timing",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="frame size (pixels)")
    args = parser.parse_args(argv)
    s = ev.Scenario(shape=(args.size, args.size))
    scopes = ev._site_telescopes(s, load_network())
    frames = []
    for k, name in enumerate(s.sites):
        site, scope = scopes[name]
        for j, f in enumerate(ev._fields(s)[:4]):
            hdul, _ = ev._render(site, scope, f, s, 0, ev.START + timedelta(minutes=j),
                                 11 + j + 100 * k)
            frame = load_frame(hdul)
            ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain,
                                  saturate=frame.saturate)
            q = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
            frames.append((frame, ext, q.fwhm_px))
    for frame, ext, fwhm in frames:          # warm-up: imports, catalogue caches
        measure_photometry(frame, ext, fwhm_px=fwhm)
    times = []
    for _ in range(3):
        for frame, ext, fwhm in frames:
            t0 = time.process_time()
            measure_photometry(frame, ext, fwhm_px=fwhm)
            times.append(time.process_time() - t0)
    print(f"{len(frames)} frames of {args.size} px x 3: CPU per frame median "
          f"{1000 * np.median(times):.1f} ms, mean {1000 * np.mean(times):.1f} ms, "
          f"max {1000 * np.max(times):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
