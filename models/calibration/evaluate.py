"""Re-evaluate the shipped calibration model without torch.

``python -m models.calibration.evaluate [--model models/calibration/calibration-v1.onnx]
[--seed 0] [--cutouts 1200] [--nights 6] [--frames 24]``

Scores the shipped ONNX file (onnxruntime, through
:class:`~models.calibration.serve.SiteInvariantClassifier`) on freshly simulated test
cutouts of every site (the training run's test seeds): accuracy and ECE of
P(galaxy) per site; and re-runs the photometric calibration comparison
(:func:`~models.calibration.crosssite.cross_site_metrics`, numpy/scipy only). The
leave-one-site-out figures need training and are read from the model's JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from models.calibration.serve import DEFAULT_MODEL, SiteInvariantClassifier

__all__ = ["evaluate_classifier", "main"]

SITES = ("cerro-pachon", "la-palma", "hanle")


def evaluate_classifier(clf: SiteInvariantClassifier, *, seed: int, n: int,
                        ) -> dict[str, Any]:
    """Accuracy (%) and ECE per site and overall on raw simulated test cutouts."""
    from models.calibration.cutouts import site_cutouts
    from models.calibration.domain import accuracy, ece

    out: dict[str, Any] = {}
    probs, labels = [], []
    for d, site in enumerate(SITES):
        data = site_cutouts(site, d, n=n, seed=1000 * seed + 4, raw=True)
        p, _ = clf.predict(data.x[:, 0], data.x[:, 1])
        out[site] = {"accuracy": accuracy(p, data.label), "ece": ece(p, data.label)[0]}
        probs.append(p)
        labels.append(data.label)
    p, y = np.concatenate(probs), np.concatenate(labels)
    out["all"] = {"accuracy": accuracy(p, y), "ece": ece(p, y)[0]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.calibration.evaluate",
                                description="Evaluate the shipped calibration model.")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cutouts", type=int, default=1200, help="test cutouts per site")
    p.add_argument("--nights", type=int, default=6)
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--skip-photometry", action="store_true",
                   help="only the classifier (faster)")
    args = p.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    clf = SiteInvariantClassifier(args.model)
    table = Table(title=f"{args.model.name} (held-out simulated data)")
    for col in ("what", "metric", "value"):
        table.add_column(col)
    result = evaluate_classifier(clf, seed=args.seed, n=args.cutouts)
    for site, row in result.items():
        table.add_row(f"classifier, {site}", "accuracy / ECE",
                      f"{row['accuracy']:.1f} % / {row['ece']:.3f}")
    summary = clf.metadata.get("metrics", {}).get("domain", {}).get("summary", {})
    for key, value in summary.items():
        table.add_row("leave-one-site-out (from JSON)", key, f"{value:.2f}")
    if not args.skip_photometry:
        from models.calibration.crosssite import cross_site_metrics, network_dataset

        data = network_dataset(seed=1000 * args.seed + 1, nights=args.nights,
                               n_frames=args.frames)
        cross, _ = cross_site_metrics(data)
        for method, row in cross.items():
            table.add_row(f"photometry, {method}", "cross-site RMS / vs truth",
                          f"{row['cross_site_rms_mmag']:.2f} / "
                          f"{row['rms_vs_truth_mmag']:.2f} mmag")
        result["cross_site"] = cross
    Console().print(table)
    print(json.dumps({"classifier": {k: v for k, v in result.items() if k != "cross_site"}},
                     sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
