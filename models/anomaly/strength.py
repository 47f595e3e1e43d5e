"""AUROC of the anomaly model as a function of an anomaly's strength.

Some kinds are faint by design (a ghost is 0.5-2 sky-noise sigma per pixel in
the simulator; a new point source is one star among hundreds). This module
injects one kind at controlled strengths into *normal* test frames (after
rendering, in ADU, so the frame, its stars, sky and reference stay the same)
and scores each strength against the unmodified normal test frames, exactly as
the site node scores them:

``ghost``
    the simulator's ghost geometry (:func:`simulator.artefacts.inject_artefacts`,
    a ring or disc of 6-18 % of the frame side) at ``strength`` times the frame's
    per-pixel noise;
``new_source``
    a point source of the frame's PSF FWHM at signal-to-noise ``strength``
    (sky-limited, in an aperture of one FWHM), anywhere 10 px from the edges.

``python -m models.anomaly.strength --kind ghost --cache DIR`` prints the table.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LEVELS", "inject", "strength_table"]

LEVELS = {"ghost": (0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
          "new_source": (10.0, 30.0, 100.0, 300.0, 1000.0)}
"""Strengths tried per kind (ghost: noise sigma per pixel; new_source: SNR)."""


def _noise_adu(data: np.ndarray) -> float:
    """Per-pixel noise from the spread of neighbouring-pixel differences (ADU)."""
    d = np.diff(data.astype(np.float64), axis=1).ravel()
    return max(1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0), 1e-3)


def inject(data: np.ndarray, kind: str, strength: float, rng: np.random.Generator,
           fwhm_px: float = 1.0) -> np.ndarray:
    """``data`` (ADU) with one ``kind`` anomaly of the given strength added (a new array)."""
    from simulator.artefacts import Layers, inject_artefacts
    from simulator.psf import PSF, add_point_sources

    out = data.astype(np.float64)
    noise = _noise_adu(data)
    h, w = data.shape
    if kind == "ghost":
        zero = np.zeros((h, w), np.float32)
        layers = Layers(zero.copy(), zero.copy(), zero.copy(), PSF(fwhm_px, 0.0, 0.0), 1.0, 1.0)
        inject_artefacts(layers, ["ghost"], rng)
        unit = layers.sources / max(float(layers.sources.max()), 1e-12)   # plateau 1
        return out + strength * noise * unit
    if kind == "new_source":
        img = np.zeros((h, w), np.float64)
        flux = strength * noise * math.sqrt(math.pi) * max(fwhm_px, 1.0)
        add_point_sources(img, np.array([rng.uniform(10, w - 10)]),
                          np.array([rng.uniform(10, h - 10)]), np.array([flux]),
                          PSF(fwhm_px, 0.0, 0.0))
        return out + img
    raise ValueError(f"no strength sweep for kind {kind!r} (known: {', '.join(LEVELS)})")


def strength_table(onnx_path: Path, raw: Any, kind: str, *, levels: tuple[float, ...],
                   n_inject: int, seed: int = 0) -> list[dict[str, float]]:
    """AUROC and FPR at 95 % TPR of ``kind`` injected at each level into the first
    ``n_inject`` frames of ``raw`` (normal test frames), against all of ``raw``."""
    from models.anomaly.evaluate import auroc, fpr_at_tpr
    from models.anomaly.rawframes import frame_inputs, hdul_of
    from site_node.edge.anomaly import AnomalyScorer
    from site_node.edge.frame import load_frame

    scorer = AnomalyScorer.from_files(onnx_path)

    def score(data: np.ndarray, i: int) -> float:
        ref = hdul_of(raw.ref_data[i], str(raw.ref_header[i])) if str(raw.ref_header[i]) else None
        x, _, _ = frame_inputs(hdul_of(data, str(raw.header[i])), ref, scorer.spec)
        return float(scorer.score_inputs(x[None])[0])

    normal = np.array([score(raw.data[i], i) for i in range(len(raw))])
    rows = []
    for level in levels:
        rng = np.random.default_rng([seed, int(level * 1000)])
        s = []
        for i in range(min(n_inject, len(raw))):
            frame = load_frame(hdul_of(raw.data[i], str(raw.header[i])))
            fwhm = float(frame.header.get("SEEING", 2.0)) / max(frame.pixel_scale_arcsec or 1, 1e-3)
            s.append(score(inject(raw.data[i], kind, level, rng, fwhm), i))
        s_arr = np.array(s)
        rows.append({"strength": level, "auroc": auroc(normal, s_arr),
                     "fpr_at_95tpr": fpr_at_tpr(normal, s_arr),
                     "recall_at_threshold": float(np.mean(s_arr > scorer.threshold))})
    return rows


def main(argv: list[str] | None = None) -> int:
    from models.anomaly.rawframes import build_raw

    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.anomaly.strength",
                                description="AUROC of the anomaly model against strength.")
    p.add_argument("--kind", choices=sorted(LEVELS), default="ghost")
    p.add_argument("--model", type=Path, default=None, help="ONNX file (default: the newest)")
    p.add_argument("--test", type=int, default=150, help="normal test frames")
    p.add_argument("--inject", type=int, default=40, help="frames injected per strength")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shape", type=int, default=256)
    p.add_argument("--cache", type=Path, default=None, help="rendered frames (as train)")
    args = p.parse_args(argv)
    if args.model is None:
        from site_node.edge.pipeline import find_model

        args.model = find_model(here)
    raw = build_raw(args.seed, "test", args.test, ("normal",), shape=(args.shape, args.shape),
                    cache=args.cache / "raw" if args.cache else None)
    rows = strength_table(args.model, raw, args.kind, levels=LEVELS[args.kind],
                          n_inject=args.inject, seed=args.seed)
    unit = "noise sigma per pixel" if args.kind == "ghost" else "SNR"
    print(f"{args.kind} injected into {min(args.inject, len(raw))} normal test frames, "
          f"against {len(raw)} normal test frames ({args.model.name})")
    print(f"| {args.kind} strength ({unit}) | AUROC | FPR @ 95% TPR | recall @ threshold |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['strength']:g} | {r['auroc']:.3f} | {r['fpr_at_95tpr']:.1%} | "
              f"{r['recall_at_threshold']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
