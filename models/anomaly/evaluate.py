"""Evaluate the anomaly model per kind of anomaly against a named baseline.

Metrics, on held-out frames (test nights, never seen in training or threshold
calibration): for each artefact kind, the AUROC of normal test frames against
frames of that kind, the false-positive rate at 95 % true-positive rate, and
the recall at the model's own threshold. The baseline is an
``IsolationForest`` (scikit-learn, the ``train`` extra) on the simple image
statistics of :func:`models.anomaly.dataset.image_statistics`, fitted on the
same normal training frames.

``python -m models.anomaly.evaluate [--models DIR] [--seed S] [--cache DIR]``
scores the shipped ONNX model on frames made exactly as the site node makes
them (:mod:`models.anomaly.rawframes`), with the model's own score and
threshold, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["HELD_OUT_NOTE", "auroc", "baseline_scores", "evaluate", "evaluate_features", "fpr_at_tpr",
           "markdown_table"]


HELD_OUT_NOTE = ("Every kind is held out: no anomalous frame was used to train, calibrate "
                 "or tune this model (normal frames only), so each row is a leave-kinds-out "
                 "result.")
"""Said under the table of a model that used no anomaly label (anomaly-v3 on)."""


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


def evaluate_features(onnx_bytes: bytes, score: dict[str, Any], threshold: float,
                      train: Any, test: Any, anomalies: Any, *, seed: int = 0,
                      difference_channel: int | None = None,
                      tune_kinds: tuple[str, ...] = ()) -> dict[str, Any]:
    """Per-kind metrics of an exported model on featurised test frames.

    Scores every frame with onnxruntime as the site node does, with the field's
    reference (``per_kind``) and, when the input has a ``difference`` channel,
    without it (``per_kind_no_reference``: that channel zeroed, as at a site
    with no reference yet). Adds the smallest and mean AUROC, over all kinds and
    over the held-out kinds (not in ``tune_kinds``), and the false alarms on
    normal test frames at the threshold.
    """
    import onnxruntime as ort

    from site_node.edge.anomaly import reconstruction_score

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])

    def scores_of(x: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(x), 64):
            xb = x[start:start + 64]
            recon, latent = session.run(None, {"thumbnails": xb})
            out.append(reconstruction_score(xb, recon, score, latent))
        return np.concatenate(out)

    x = np.concatenate([test.x, anomalies.x])
    kinds = np.concatenate([test.kind, anomalies.kind])
    stats = np.concatenate([test.stats, anomalies.stats])
    base = baseline_scores(train.stats, stats, seed)
    metrics = evaluate(scores_of(x), base, kinds, threshold)
    metrics["reference_used_fraction"] = float(np.mean(np.concatenate(
        [test.has_reference, anomalies.has_reference])))
    if difference_channel is not None:
        x0 = x.copy()
        x0[:, difference_channel] = 0.0
        no_ref = evaluate(scores_of(x0), None, kinds, threshold)
        metrics["test_false_alarm_rate_no_reference"] = no_ref["test_false_alarm_rate"]
        for kind, row in no_ref["per_kind"].items():
            metrics["per_kind"][kind]["auroc_no_reference"] = row["auroc"]
            metrics["per_kind"][kind]["fpr_at_95tpr_no_reference"] = row["fpr_at_95tpr"]
    per = metrics["per_kind"]
    held = [k for k in per if k not in tune_kinds]
    for k in per:
        per[k]["tuned_on"] = k in tune_kinds
    metrics["min_auroc"] = float(min(r["auroc"] for r in per.values()))
    metrics["mean_auroc"] = float(np.mean([r["auroc"] for r in per.values()]))
    metrics["baseline_mean_auroc"] = float(np.mean([r["baseline_auroc"] for r in per.values()]))
    metrics["baseline_min_auroc"] = float(min(r["baseline_auroc"] for r in per.values()))
    if held:
        metrics["held_out_min_auroc"] = float(min(per[k]["auroc"] for k in held))
        metrics["held_out_mean_auroc"] = float(np.mean([per[k]["auroc"] for k in held]))
    if difference_channel is not None:
        metrics["min_auroc_no_reference"] = float(min(r["auroc_no_reference"]
                                                      for r in per.values()))
        metrics["mean_auroc_no_reference"] = float(np.mean([r["auroc_no_reference"]
                                                            for r in per.values()]))
    metrics["kinds_meeting_goal"] = sorted(k for k, r in per.items()
                                           if r["auroc"] >= 0.98 and r["fpr_at_95tpr"] <= 0.02)
    return metrics


def markdown_table(metrics: dict[str, Any]) -> str:
    """The per-kind metrics as a Markdown table (model vs IsolationForest baseline)."""
    no_ref = any("auroc_no_reference" in r for r in metrics["per_kind"].values())
    head = ("| kind | n | AUROC | FPR @ 95% TPR | recall @ threshold | baseline AUROC | "
            "baseline FPR @ 95% TPR |")
    rule = "|---|---|---|---|---|---|---|"
    if no_ref:
        head += " AUROC, no reference | FPR @ 95% TPR, no reference |"
        rule += "---|---|"
    lines = [head, rule]
    rows = metrics["per_kind"].values()
    all_held_out = bool(rows) and all(r.get("tuned_on") is False for r in rows)
    for kind, r in metrics["per_kind"].items():
        name = kind if all_held_out or r.get("tuned_on", True) else f"{kind} (held out)"
        line = (f"| {name} | {r['n']} | {r['auroc']:.3f} | {r['fpr_at_95tpr']:.1%} | "
                f"{r['recall_at_threshold']:.0%} | {r.get('baseline_auroc', float('nan')):.3f}"
                f" | {r.get('baseline_fpr_at_95tpr', float('nan')):.1%} |")
        if no_ref:
            line += f" {r['auroc_no_reference']:.3f} | {r['fpr_at_95tpr_no_reference']:.1%} |"
        lines.append(line)
    if all_held_out:
        lines += ["", HELD_OUT_NOTE]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from models.anomaly.dataset import default_workers
    from models.anomaly.rawframes import Features, build_raw, featurise
    from simulator.artefacts import ARTEFACT_KINDS
    from site_node.edge.anomaly import AnomalyScorer
    from site_node.edge.pipeline import find_model

    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(prog="python -m models.anomaly.evaluate",
                                description="Evaluate the shipped anomaly model per kind.")
    p.add_argument("--models", type=Path, default=here, help="directory of the model")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument("--frames", type=int, default=300, help="normal training frames (baseline)")
    p.add_argument("--test", type=int, default=150, help="normal test frames")
    p.add_argument("--per-kind", type=int, default=20, help="test frames per anomaly kind")
    p.add_argument("--shape", type=int, default=256, help="frame side in pixels (default 256)")
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--cache", type=Path, default=None, help="keep rendered frames here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = p.parse_args(argv)
    path = find_model(args.models)
    if path is None:
        print(f"no anomaly model in {args.models}", file=sys.stderr)
        return 1
    scorer = AnomalyScorer.from_files(path)
    shape = (args.shape, args.shape)
    raw_cache = args.cache / "raw" if args.cache else None
    feat_cache = args.cache / "feat" if args.cache else None

    def load(split: str, n: int, kinds: tuple[str, ...], start: int = 0) -> Features:
        raw = build_raw(args.seed, split, n, kinds, shape=shape, workers=args.workers,
                        cache=raw_cache, start=start)
        tag = f"{split}-{n}{f'-from{start}' if start else ''}-{'-'.join(kinds)}"
        return featurise(raw, scorer.spec, workers=args.workers, cache=feat_cache, tag=tag)

    chunk = 100 if args.frames % 100 == 0 else args.frames
    train = Features.concat([load("train", chunk, ("normal",), s)
                             for s in range(0, args.frames, chunk)])
    test = load("test", args.test, ("normal",))
    anomalies = Features.concat([load("test", args.per_kind, (k,)) for k in ARTEFACT_KINDS])
    channels = scorer.spec.channels
    metrics = evaluate_features(
        path.read_bytes(), scorer.metadata["score"], scorer.threshold, train, test, anomalies,
        seed=args.seed,
        difference_channel=channels.index("difference") if "difference" in channels else None,
        tune_kinds=tuple(scorer.metadata.get("tuning", {}).get("kinds", ())))
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"{scorer.model_id}: false alarms on {metrics['n_test_normal']} normal test "
              f"frames {metrics['test_false_alarm_rate']:.1%} (threshold {scorer.threshold:.4g})")
        print(markdown_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
