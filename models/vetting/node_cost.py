"""What vetting adds to the site node's time per frame.

``python -m models.vetting.node_cost [--frames 6] [--artefact cosmic_rays]`` renders a
reference and new frames of one field (1024x1024, 5 injected sources each) and
runs the transient stage of every new frame both ways: the hand cuts only
(``vetting=None``) and the loose search scored by the shipped vetting model.
Prints the median CPU time (``time.process_time``, robust on a shared machine)
of each part and the difference.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

__all__ = ["main", "measure"]


def measure(frames: int, artefact: str | None, repeats: int = 3,
            model_path: str | None = None) -> dict[str, float]:
    """Median CPU ms per frame of the transient stage: hand cuts (``find_transients``)
    against the loose search plus the vetting model (``search_candidates`` + ``vet``),
    on the same frames and reference, as :class:`~site_node.edge.pipeline.EdgePipeline`
    calls them."""
    from models.vetting.dataset import _analyse
    from site_node.edge.synthetic import simulated_frame
    from site_node.edge.transients import Reference, find_transients, search_candidates
    from site_node.edge.vetting import VettingModel, find_vetting_model

    model = VettingModel.from_files(model_path or find_vetting_model())
    frame, ext, quality, zp = _analyse(simulated_frame(seed=21, seeing_arcsec=1.2))
    reference = Reference(image=ext.image, header=frame.wcs.to_header(relax=True),
                          fwhm_px=quality.fwhm_px, zero_point=zp.value, exptime=frame.exptime,
                          rms=ext.rms, gain=frame.gain,
                          saturation=frame.saturate - ext.background)
    out: dict[str, list[float]] = {}
    for k in range(frames):
        hdul = simulated_frame(seed=100 + k, seeing_arcsec=1.0 + 0.1 * k, transients=5,
                               artefacts=(artefact,) if artefact else ())
        frame, ext, quality, zp = _analyse(hdul)
        inputs = {"fwhm_px": quality.fwhm_px, "zero_point": zp.value,
                  "exptime": frame.exptime, "rms": ext.rms, "gain": frame.gain,
                  "saturation": frame.saturate - ext.background, "reference": reference,
                  "objects": ext.objects, "bad_columns": ext.bad_columns}
        for _ in range(repeats):
            t = time.process_time()
            hand, _ = find_transients(ext.image, frame.wcs, **inputs)
            t1 = time.process_time()
            cands, _ = search_candidates(ext.image, frame.wcs, **inputs, max_candidates=500)
            t2 = time.process_time()
            vetted, _ = model.vet(cands)
            t3 = time.process_time()
            out.setdefault("hand_cuts_cpu_ms", []).append(1000 * (t1 - t))
            out.setdefault("search_cpu_ms", []).append(1000 * (t2 - t1))
            out.setdefault("onnx_vet_cpu_ms", []).append(1000 * (t3 - t2))
            out.setdefault("candidates_scored", []).append(len(cands))
            out.setdefault("hand_kept", []).append(len(hand))
            out.setdefault("model_kept", []).append(len(vetted))
    med = {k: float(np.median(v)) for k, v in out.items()}
    med["added_cpu_ms"] = med["search_cpu_ms"] + med["onnx_vet_cpu_ms"] - med["hand_cuts_cpu_ms"]
    return med


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.vetting.node_cost", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--artefact", default=None, help="e.g. cosmic_rays (many candidates)")
    ap.add_argument("--model", default=None, help="ONNX file (default: the shipped one)")
    args = ap.parse_args(argv)
    for k, v in measure(args.frames, args.artefact, model_path=args.model).items():
        print(f"{k:28s} {v:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
