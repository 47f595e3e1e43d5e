"""Evaluate the anomaly model per kind of anomaly against a named baseline.

Metrics, on held-out frames (test nights, never seen in training or threshold
calibration): for each artefact kind, the AUROC of normal test frames against
frames of that kind, the false-positive rate at 95 % true-positive rate, and
the recall at the model's own threshold. The baseline is an
``IsolationForest`` (scikit-learn, the ``train`` extra) on the simple image
statistics of :func:`models.anomaly.dataset.image_statistics`, fitted on the
same normal training frames.

``python -m models.anomaly.evaluate [--models DIR] [--seed S] [--cache DIR]``
scores the shipped ONNX model through the site node's own
:class:`~site_node.edge.anomaly.AnomalyScorer` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["auroc", "baseline_scores", "evaluate", "fpr_at_tpr", "markdown_table"]


def auroc(normal: np.ndarray, anomalous: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    from scipy.stats import rankdata

    normal, anomalous = np.asarray(normal, float), np.asarray(anomalous, float)
    ranks = rankdata(np.concatenate([normal, anomalous]))
    n0, n1 = len(normal), len(anomalous)
    u = ranks[n0:].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n0 * n1))


def fpr_at_tpr(normal: np.ndarray, anomalous: np.ndarray, tpr: float = 0.95) -> float:
    """False-positive rate at the highest threshold that flags ``tpr`` of the anomalies."""
    anomalous = np.sort(np.asarray(anomalous, float))
    k = int(np.floor((1.0 - tpr) * len(anomalous)))
    threshold = anomalous[min(k, len(anomalous) - 1)]
    return float(np.mean(np.asarray(normal, float) >= threshold))


def baseline_scores(train_stats: np.ndarray, test_stats: np.ndarray, seed: int = 0) -> np.ndarray:
    """IsolationForest anomaly scores (higher is more anomalous) on image statistics."""
    from sklearn.ensemble import IsolationForest

    mu, sd = train_stats.mean(axis=0), train_stats.std(axis=0) + 1e-9
    forest = IsolationForest(n_estimators=300, random_state=seed)
    forest.fit((train_stats - mu) / sd)
    return -forest.score_samples((test_stats - mu) / sd)


def evaluate(model_scores: np.ndarray, baseline: np.ndarray | None, kinds: np.ndarray,
             threshold: float) -> dict[str, Any]:
    """Per-kind metrics of the model (and the baseline) on a labelled test set.

    Parameters
    ----------
    model_scores, baseline : numpy.ndarray
        Scores of every test frame (baseline may be None).
    kinds : numpy.ndarray
        ``normal`` or the artefact kind of each frame.
    threshold : float
        The model's threshold, for its false-alarm rate and recall.
    """
    normal = kinds == "normal"
    out: dict[str, Any] = {
        "n_test_normal": int(normal.sum()),
        "test_false_alarm_rate": float(np.mean(model_scores[normal] > threshold)),
        "per_kind": {},
    }
    for kind in sorted(set(kinds.tolist()) - {"normal"}):
        sel = kinds == kind
        row = {"n": int(sel.sum()),
               "auroc": auroc(model_scores[normal], model_scores[sel]),
               "fpr_at_95tpr": fpr_at_tpr(model_scores[normal], model_scores[sel]),
               "recall_at_threshold": float(np.mean(model_scores[sel] > threshold))}
        if baseline is not None:
            row["baseline_auroc"] = auroc(baseline[normal], baseline[sel])
            row["baseline_fpr_at_95tpr"] = fpr_at_tpr(baseline[normal], baseline[sel])
        out["per_kind"][kind] = row
    return out


def markdown_table(metrics: dict[str, Any]) -> str:
    """The per-kind metrics as a Markdown table (model vs IsolationForest baseline)."""
    lines = [("| kind | n | AUROC | FPR @ 95% TPR | recall @ threshold | baseline AUROC | "
             "baseline FPR @ 95% TPR |"), "|---|---|---|---|---|---|---|"]
    for kind, r in metrics["per_kind"].items():
        lines.append(f"| {kind} | {r['n']} | {r['auroc']:.3f} | {r['fpr_at_95tpr']:.1%} | "
                     f"{r['recall_at_threshold']:.0%} | {r.get('baseline_auroc', float('nan')):.3f}"
                     f" | {r.get('baseline_fpr_at_95tpr', float('nan')):.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from models.anomaly.dataset import build, default_workers
    from simulator.artefacts import ARTEFACT_KINDS
    from site_node.edge.anomaly import AnomalyScorer
    from site_node.edge.pipeline import find_model

    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.anomaly.evaluate",
                                description="Evaluate the shipped anomaly model per kind.")
    p.add_argument("--models", type=Path, default=here, help="directory of the model")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument("--frames", type=int, default=1000, help="normal training frames (baseline)")
    p.add_argument("--test", type=int, default=300, help="normal test frames")
    p.add_argument("--per-kind", type=int, default=40, help="test frames per anomaly kind")
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--cache", type=Path, default=None, help="keep rendered features here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = p.parse_args(argv)
    path = find_model(args.models)
    if path is None:
        print(f"no anomaly model in {args.models}", file=sys.stderr)
        return 1
    scorer = AnomalyScorer.from_files(path)
    train = build(args.seed, "train", args.frames, workers=args.workers, cache=args.cache)
    test = build(args.seed, "test", args.test, workers=args.workers, cache=args.cache)
    anomalies = build(args.seed, "test", args.per_kind, ARTEFACT_KINDS, workers=args.workers,
                      cache=args.cache)
    x = np.concatenate([test.inputs(scorer.spec), anomalies.inputs(scorer.spec)])
    kinds = np.concatenate([test.kind, anomalies.kind])
    scores = scorer.score_inputs(x)
    base = baseline_scores(train.stats, np.concatenate([test.stats, anomalies.stats]), args.seed)
    metrics = evaluate(scores, base, kinds, scorer.threshold)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"{scorer.model_id}: false alarms on {metrics['n_test_normal']} normal test "
              f"frames {metrics['test_false_alarm_rate']:.1%} (threshold {scorer.threshold:.4g})")
        print(markdown_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
