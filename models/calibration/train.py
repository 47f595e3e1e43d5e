"""Train and evaluate the site calibration and the site-invariant classifier.

``python -m models.calibration.train [--seed 0] [--nights 6] [--frames 24] [--cutouts 2400]
[--epochs 8] [--lam 1] [--method mmd|dann] [--augment] [--out models/calibration] [--quick]``

1. Photometric calibration: simulates matched stars of every site over several nights
   (:mod:`models.calibration.crosssite`), fits the network jointly
   (:mod:`models.calibration.network_fit`) and measures how well the three sites'
   calibrated magnitudes of held-out target stars agree, against the per-frame zero
   point a site node computes alone and one :func:`fit_site_calibration` per night.
2. Site-invariant star/galaxy classifier (:mod:`models.calibration.domain`): in-site
   accuracy (trained with every site's labels), then leave-one-site-out with
   ``lambda = 0`` and with ``lambda = --lam`` (the held-out site's images as unlabelled
   target), then the shipped model: all three sites, ``--lam``, temperature-scaled on
   validation cutouts; ECE and a reliability diagram on test cutouts.
3. Exports ONNX (checked against PyTorch) and writes ``NAME.onnx``, ``NAME.json``,
   ``NAME-check.npz``, ``NAME-reliability.png`` and ``card.md``; prints the metric table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "promotion_metric"]

SITES = ("cerro-pachon", "la-palma", "hanle")


def promotion_metric(metrics: dict[str, Any]) -> dict[str, Any]:
    """What a new version must beat: mean unseen-site accuracy over leave-one-site-out."""
    return {"name": "unseen_site_accuracy_mean",
            "value": float(metrics["domain"]["summary"]["mean_unseen_accuracy"]),
            "higher_is_better": True}


def _site_effects(cal: Any) -> dict[str, Any]:
    from control_center.network import load_network
    from simulator.bands import band

    net, b = load_network(), band(cal.band)
    out = {}
    for s in cal.sites:
        fx = net.site(s).effects
        out[s] = {
            "colour_term": cal.colour_term[s],
            "colour_term_true": -2 * fx.colour_tint * (b.wavelength_nm - 550) / 250,
            "extinction": cal.extinction[s],
            "extinction_true": b.extinction + fx.dust_extinction_mag,
            "drift_per_hour": cal.drift_per_hour[s],
            "drift_per_hour_true": -fx.zero_point_drift_mag_per_hour,
            "zp_scatter": cal.zp_scatter[s], "residual_rms": cal.residual_rms[s],
            "flat_poly": [float(v) for v in cal.poly[s]],
            "flat_grid": [[float(v) for v in row] for row in cal.grid[s]]}
    return out


def _summary(loso0: dict, loso: dict) -> dict[str, float]:
    def mean(rows: dict, key: str) -> float:
        return float(np.mean([r[key] for r in rows.values()]))
    return {"mean_in_site_accuracy": mean(loso, "in_site_accuracy"),
            "mean_unseen_accuracy_lambda0": mean(loso0, "unseen_accuracy"),
            "mean_unseen_accuracy": mean(loso, "unseen_accuracy"),
            "mean_gap_points_lambda0": mean(loso0, "gap_points"),
            "mean_gap_points": mean(loso, "gap_points"),
            "max_gap_points_lambda0": max(r["gap_points"] for r in loso0.values()),
            "max_gap_points": max(r["gap_points"] for r in loso.values())}


def metric_table(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Rows (model, metric, baseline, ours, goal) for the README and the console."""
    cs, d = metrics["cross_site"], metrics["domain"]
    s = d["summary"]
    rows = [
        ("calibration (network fit)", ("cross-site agreement of calibrated mags, held-out "
         "stars (RMS of site-mean differences / sqrt 2)"),
         (f"frame zero point {cs['frame_zp']['cross_site_rms_mmag']:.1f} mmag; nightly fit "
         f"{cs['nightly']['cross_site_rms_mmag']:.1f}"),
         f"{cs['network']['cross_site_rms_mmag']:.2f} mmag", "<= 5 mmag"),
        ("calibration (network fit)", "RMS of site-mean calibrated mag - truth",
         (f"frame zero point {cs['frame_zp']['rms_vs_truth_mmag']:.1f} mmag; nightly fit "
         f"{cs['nightly']['rms_vs_truth_mmag']:.1f}"),
         f"{cs['network']['rms_vs_truth_mmag']:.2f} mmag", "<= 5 mmag"),
        ("site-invariant classifier", ("star/galaxy accuracy on an unseen site, mean of 3 "
         "leave-one-site-out folds"), f"lambda=0: {s['mean_unseen_accuracy_lambda0']:.1f} %",
         f"{s['mean_unseen_accuracy']:.1f} % (in-site {s['mean_in_site_accuracy']:.1f} %)",
         "within 2 points of in-site"),
        ("site-invariant classifier", "in-site minus unseen-site accuracy, mean / worst fold",
         f"lambda=0: {s['mean_gap_points_lambda0']:.1f} / {s['max_gap_points_lambda0']:.1f}",
         f"{s['mean_gap_points']:.1f} / {s['max_gap_points']:.1f} points", "<= 2 points"),
        ("site-invariant classifier", ("ECE of P(galaxy), shipped model, test cutouts of "
         "all sites"), "-", f"{metrics['shipped']['ece']:.3f}", "<= 0.05"),
    ]
    return rows


def _print_table(rows: list[tuple[str, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="calibration metrics (held-out data)")
    for col in ("model", "metric", "baseline", "ours", "goal"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def reliability_png(path: Path, table: list[dict], title: str) -> None:
    """Reliability diagram (matplotlib, training side only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    ax.plot([r["mean_prob"] for r in table], [r["fraction_galaxy"] for r in table], "o-",
            label="model")
    ax.set_xlabel("predicted P(galaxy)")
    ax.set_ylabel("fraction that are galaxies")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.calibration.train",
                                description="Train the site calibration and the "
                                            "site-invariant classifier on simulated data.")
    p.add_argument("--seed", type=int, default=0, help="seed of data and training (default 0)")
    p.add_argument("--nights", type=int, default=6, help="calibration nights (default 6)")
    p.add_argument("--frames", type=int, default=24, help="frames per site and night")
    p.add_argument("--cutouts", type=int, default=2400,
                   help="training cutouts per site (default 2400; test and validation half)")
    p.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    p.add_argument("--lam", type=float, default=1.0, help="weight of the domain term (default 1)")
    p.add_argument("--method", choices=("mmd", "dann"), default="mmd",
                   help="domain term: multi-kernel MMD or adversarial (default mmd)")
    p.add_argument("--augment", action="store_true",
                   help="random rotations/flips of the training cutouts")
    p.add_argument("--out", type=Path, default=here, help=f"output directory (default {here})")
    p.add_argument("--name", default="calibration-v1", help="model name (default calibration-v1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--quick", action="store_true", help="a toy-size run (seconds)")
    args = p.parse_args(argv)
    if args.quick:
        args.nights, args.frames, args.cutouts, args.epochs = 2, 4, 64, 1
    try:
        import torch
    except ImportError:
        print("training needs torch: pip install -e '.[train]'", file=sys.stderr)
        return 2
    from rich.progress import Progress

    from models.calibration.card import write_card
    from models.calibration.crosssite import cross_site_metrics, network_dataset
    from models.calibration.cutouts import CutoutSet, site_cutouts
    from models.calibration.domain import (
        accuracy,
        calibrate_temperature,
        ece,
        leave_one_site_out,
        predict,
        train_classifier,
    )
    from models.calibration.export import check_onnx, export_onnx, write_artefacts
    from models.calibration.serve import INPUT_NAME, OUTPUT_NAMES

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    s0 = 1000 * args.seed
    t_start = time.monotonic()
    n_test = max(args.cutouts // 2, 32)
    runs = 1 + 2 * len(SITES) + 1
    with Progress(transient=False) as bar:
        task = bar.add_task("calibration nights", total=args.nights * len(SITES))
        data = network_dataset(seed=s0 + 1, nights=args.nights, n_frames=args.frames,
                               progress=lambda: bar.advance(task))
        cross, cal = cross_site_metrics(data)
        task = bar.add_task("cutouts", total=3 * len(SITES))
        train, val, test = {}, {}, {}
        for d, site in enumerate(SITES):
            for split, n, off in ((train, args.cutouts, 2), (val, n_test, 3), (test, n_test, 4)):
                split[site] = site_cutouts(site, d, n=n, seed=s0 + off)
                bar.advance(task)
        task = bar.add_task("classifiers", total=runs * args.epochs)
        tick = lambda: bar.advance(task)
        everyone = train_classifier(CutoutSet.join(list(train.values())), lam=0.0,
                                    seed=args.seed, epochs=args.epochs, augment=args.augment,
                                    on_epoch=tick)
        in_site = {s: accuracy(predict(everyone, test[s])[0], test[s].label) for s in SITES}
        loso0 = leave_one_site_out(train, test, lam=0.0, seed=args.seed, epochs=args.epochs,
                                   in_site=in_site, augment=args.augment, on_epoch=tick)
        loso = leave_one_site_out(train, test, lam=args.lam, seed=args.seed,
                                  epochs=args.epochs, in_site=in_site, method=args.method,
                                  augment=args.augment, on_epoch=tick)
        model = train_classifier(CutoutSet.join(list(train.values())), lam=args.lam,
                                 seed=args.seed, epochs=args.epochs, method=args.method,
                                 augment=args.augment, on_epoch=tick)
    temperature = calibrate_temperature(model, CutoutSet.join(list(val.values())))
    all_test = CutoutSet.join(list(test.values()))
    prob, _ = predict(model, all_test)
    shipped_ece, reliability = ece(prob, all_test.label)
    shipped = {"temperature": temperature, "ece": shipped_ece, "reliability": reliability,
               "accuracy": accuracy(prob, all_test.label),
               "accuracy_per_site": {s: accuracy(predict(model, test[s])[0], test[s].label)
                                     for s in SITES}}
    metrics = {"cross_site": cross,
               "domain": {"in_site_accuracy": in_site, "loso_lambda0": loso0,
                          "loso": loso, "lambda": args.lam, "method": args.method,
                          "augment": args.augment,
                          "summary": _summary(loso0, loso)},
               "shipped": shipped}
    meta: dict[str, Any] = {
        "name": args.name, "version": args.name.rpartition("-")[2],
        "kind": "site-invariant-star-galaxy-classifier", "format": "onnx",
        "input": {"name": INPUT_NAME, "shape": [None, 2, 25, 25], "dtype": "float32",
                  "preprocessing": "models.calibration.serve.preprocess(cutouts, psf_stars): "
                                   "channel 0 the source, 1 a bright star of the same "
                                   "frame; border median subtracted, x 10 / central "
                                   "7x7 flux, clipped to [-2, 10]"},
        "outputs": {OUTPUT_NAMES[0]: "P(galaxy), temperature-scaled",
                    OUTPUT_NAMES[1]: "32 site-invariant features"},
        "n_parameters": int(sum(q.numel() for q in model.parameters())),
        "training": {"seed": args.seed, "sites": list(SITES), "cutouts_per_site": args.cutouts,
                     "epochs": args.epochs, "lambda": args.lam, "method": args.method,
                     "augment": args.augment, "nights": args.nights,
                     "frames_per_night": args.frames, "quick": args.quick,
                     "threads": args.threads, "torch": torch.__version__.split("+")[0]},
        "site_calibration": {"band": cal.band, "sites": _site_effects(cal),
                             "priors": {s: cal.prior(s).to_dict() for s in cal.sites}},
        "metrics": metrics,
    }
    meta["promotion_metric"] = promotion_metric(metrics)
    onnx_bytes = export_onnx(model, meta)
    check_x = all_test.x[:: max(len(all_test) // 16, 1)][:16]
    meta["training"]["onnx_max_abs_diff"] = check_onnx(onnx_bytes, model, all_test.x[:512])
    meta["training"]["time_s"] = round(time.monotonic() - t_start, 1)
    onnx_bytes = export_onnx(model, meta)
    full = write_artefacts(args.out, args.name, onnx_bytes, meta, check_x)
    reliability_png(args.out / f"{args.name}-reliability.png", reliability,
                    f"{args.name}: P(galaxy), test cutouts, ECE {shipped_ece:.3f}")
    rows = metric_table(metrics)
    write_card(args.out / "card.md", full, rows)
    _print_table(rows)
    print(f"wrote {args.out / (args.name + '.onnx')} ({len(onnx_bytes) / 1e3:.0f} kB) in "
          f"{meta['training']['time_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
