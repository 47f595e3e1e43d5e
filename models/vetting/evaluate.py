"""Evaluate the vetting model on held-out nights and sites against two baselines.

``python -m models.vetting.evaluate [--model models/vetting/vetting-v1.onnx] [--cache DIR]``
scores the held-out candidates through the site node's own
:class:`~site_node.edge.vetting.VettingModel` (onnxruntime only), prints the
metric table and writes the reliability diagram next to the model.

Baselines: the hand-written cuts of :func:`~site_node.edge.transients.find_transients`
(their own fixed verdict), and a random forest on the scalar features
(:data:`~site_node.edge.transients.FEATURE_NAMES`, no cutouts), trained on the
same training candidates with its threshold chosen like the model's (equal
false-negative and false-positive rates on the validation nights).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.vetting.dataset import ARTEFACT_MIX, HELD_OUT_SITE, HOSTS, Dataset

__all__ = ["breakdown", "calibration", "equal_error_threshold", "main", "random_forest",
           "rates", "reliability_png", "table"]

ECE_BINS = 15
SNR_BINS = (5.0, 7.0, 10.0, 20.0, 50.0, np.inf)
INJ_SNR_BINS = (0.0, 3.0, 5.0, 7.0, 10.0, 20.0, 50.0, np.inf)
"""Bins of the injected source's own S/N (below 5: ambiguous, not in the rates)."""
DMAG_BINS = (-6.0, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5)


def rates(p: np.ndarray, label: np.ndarray, threshold: float) -> dict[str, float]:
    """False-negative and false-positive rates of ``p >= threshold``, and their maximum."""
    real, bogus = label == 1, label == 0
    fnr = float(np.mean(p[real] < threshold)) if real.any() else float("nan")
    fpr = float(np.mean(p[bogus] >= threshold)) if bogus.any() else float("nan")
    return {"fnr": fnr, "fpr": fpr, "max_fnr_fpr": max(fnr, fpr),
            "n_real": int(real.sum()), "n_bogus": int(bogus.sum())}


def equal_error_threshold(p: np.ndarray, label: np.ndarray) -> float:
    """The threshold minimising ``max(FNR, FPR)`` (midway between neighbouring scores)."""
    s = np.unique(p)
    cuts = np.concatenate([[s[0] - 1e-6], (s[1:] + s[:-1]) / 2.0, [s[-1] + 1e-6]])
    real = np.sort(p[label == 1])
    bogus = np.sort(p[label == 0])
    fnr = np.searchsorted(real, cuts, side="left") / max(len(real), 1)
    fpr = 1.0 - np.searchsorted(bogus, cuts, side="left") / max(len(bogus), 1)
    worst = np.maximum(fnr, fpr)
    best = np.flatnonzero(worst == worst.min())
    return float(np.clip(cuts[best[len(best) // 2]], 1e-4, 1.0 - 1e-4))


def auroc(p: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    from scipy.stats import rankdata

    n1, n0 = int((label == 1).sum()), int((label == 0).sum())
    if not n1 or not n0:
        return float("nan")
    r = rankdata(p)
    return float((r[label == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def calibration(p: np.ndarray, label: np.ndarray, bins: int = ECE_BINS) -> dict[str, Any]:
    """Expected calibration error (equal-width bins), Brier score and the reliability table."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        m = idx == b
        if not m.any():
            continue
        conf, acc = float(p[m].mean()), float(label[m].mean())
        ece += m.mean() * abs(conf - acc)
        table.append({"lo": round(float(edges[b]), 4), "hi": round(float(edges[b + 1]), 4),
                      "n": int(m.sum()), "confidence": conf, "fraction_real": acc})
    return {"ece": float(ece), "brier": float(np.mean((p - label) ** 2)), "bins": table}


def breakdown(p: np.ndarray, data: Dataset, threshold: float) -> dict[str, Any]:
    """FPR per artefact kind and site; FNR per host, site, SNR and magnitude bin."""
    ok = p >= threshold
    real, bogus = data.label == 1, data.label == 0
    out: dict[str, Any] = {"fpr_by_artefact": {}, "fnr_by_host": {}, "by_site": {},
                           "fnr_by_snr": {}, "fnr_by_inj_snr": {}, "fnr_by_dmag": {},
                           "detected_by_dmag": {}}
    for kind, _ in ARTEFACT_MIX:
        m = bogus & (data.artefact == kind)
        if m.any():
            out["fpr_by_artefact"][kind] = {"fpr": float(ok[m].mean()), "n": int(m.sum())}
    for h, name in enumerate(HOSTS):
        m = real & (data.host == h)
        if m.any():
            out["fnr_by_host"][name] = {"fnr": float(1 - ok[m].mean()), "n": int(m.sum())}
    for site in sorted(set(data.site.tolist())):
        s = data.site == site
        out["by_site"][site] = {"fnr": float(1 - ok[real & s].mean()) if (real & s).any()
                                else None,
                                "fpr": float(ok[bogus & s].mean()) if (bogus & s).any()
                                else None,
                                "held_out": site == HELD_OUT_SITE}
    for lo, hi in itertools.pairwise(SNR_BINS):
        m = real & (data.snr >= lo) & (data.snr < hi)
        if m.any():
            out["fnr_by_snr"][f"{lo:g}-{hi:g}"] = {"fnr": float(1 - ok[m].mean()),
                                                   "n": int(m.sum())}
    inj_snr = data.inj_snr
    for lo, hi in itertools.pairwise(INJ_SNR_BINS):
        m = real & (inj_snr >= lo) & (inj_snr < hi)
        if m.any():
            out["fnr_by_inj_snr"][f"{lo:g}-{hi:g}"] = {"fnr": float(1 - ok[m].mean()),
                                                       "n": int(m.sum())}
    for lo, hi in itertools.pairwise(DMAG_BINS):
        m = real & (data.dmag >= lo) & (data.dmag < hi)
        key = f"{lo:+g}..{hi:+g}"
        if m.any():
            out["fnr_by_dmag"][key] = {"fnr": float(1 - ok[m].mean()), "n": int(m.sum())}
        k = (data.inj_dmag >= lo) & (data.inj_dmag < hi)
        if k.any():
            out["detected_by_dmag"][key] = {"candidate": float(data.inj_found[k].mean()),
                                            "hand_cuts": float(data.inj_hand[k].mean()),
                                            "n": int(k.sum())}
    return out


def random_forest(train: Dataset, seed: int) -> Any:
    """The scalar-feature baseline: a seeded random forest (200 trees)."""
    from sklearn.ensemble import RandomForestClassifier

    rf = RandomForestClassifier(n_estimators=200, min_samples_leaf=3, n_jobs=1,
                                random_state=seed)
    rf.fit(train.features, train.label)
    return rf


def reliability_png(path: Path, curves: dict[str, dict[str, Any]], title: str) -> None:
    """A reliability diagram (fraction real against predicted probability) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5.5, 6.5), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    for name, cal in curves.items():
        conf = [b["confidence"] for b in cal["bins"]]
        acc = [b["fraction_real"] for b in cal["bins"]]
        ax.plot(conf, acc, marker="o", ms=4, label=f"{name} (ECE {cal['ece']:.3f})")
        hx.bar([(b["lo"] + b["hi"]) / 2 for b in cal["bins"]], [b["n"] for b in cal["bins"]],
               width=1.0 / ECE_BINS * 0.9, alpha=0.5, label=name)
    ax.set_ylabel("fraction real")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    hx.set_yscale("log")
    hx.set_xlabel("predicted probability of real")
    hx.set_ylabel("candidates")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_scores(p: np.ndarray, full_test: Dataset, threshold: float, p_rf: np.ndarray,
                    rf_threshold: float) -> dict[str, Any]:
    """Every metric of the model, the hand cuts and the random forest on the test set.

    ``p`` and ``p_rf`` score every candidate of ``full_test``; the rates count the
    candidates whose label the data support (:meth:`Dataset.honest`), and
    ``all_candidates`` repeats them with the ambiguous real ones counted real."""
    hand_all = full_test.hand_cuts.astype(float)
    amb = full_test.ambiguous
    all_candidates = {"model": rates(p, full_test.label, threshold),
                      "hand_cuts": rates(hand_all, full_test.label, 0.5),
                      "random_forest": rates(p_rf, full_test.label, rf_threshold)}
    ambiguous = {"n": int(amb.sum()),
                 "model_accepts": float(np.mean(p[amb] >= threshold)) if amb.any() else None,
                 "hand_cuts_accept": float(np.mean(hand_all[amb])) if amb.any() else None,
                 "fnr_by_inj_snr": breakdown(p, full_test, threshold)["fnr_by_inj_snr"]}
    test = full_test.honest()
    p, p_rf, hand = p[~amb], p_rf[~amb], hand_all[~amb]
    return {
        "model": {**rates(p, test.label, threshold), "auroc": auroc(p, test.label),
                  "threshold": threshold, **_cal(p, test.label)},
        "hand_cuts": rates(hand, test.label, 0.5),
        "random_forest": {**rates(p_rf, test.label, rf_threshold),
                          "auroc": auroc(p_rf, test.label), "threshold": rf_threshold,
                          **_cal(p_rf, test.label)},
        "model_breakdown": breakdown(p, test, threshold),
        "hand_cuts_breakdown": breakdown(hand, test, 0.5),
        "held_out_site": HELD_OUT_SITE,
        "all_candidates": all_candidates,
        "ambiguous": ambiguous,
    }


def _cal(p: np.ndarray, label: np.ndarray) -> dict[str, Any]:
    c = calibration(p, label)
    return {"ece": c["ece"], "brier": c["brier"], "reliability": c["bins"]}


def table(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows (metric, hand cuts, random forest, model) of the printed table."""
    m, h, r = metrics["model"], metrics["hand_cuts"], metrics["random_forest"]

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.2f} %"

    rows = [("candidates real / bogus", f"{m['n_real']} / {m['n_bogus']}", "", ""),
            ("false negatives (real rejected)", pct(h["fnr"]), pct(r["fnr"]), pct(m["fnr"])),
            ("false positives (bogus kept)", pct(h["fpr"]), pct(r["fpr"]), pct(m["fpr"])),
            ("max(FNR, FPR) [promotion]", pct(h["max_fnr_fpr"]), pct(r["max_fnr_fpr"]),
             pct(m["max_fnr_fpr"])),
            ("AUROC", "-", f"{r['auroc']:.4f}", f"{m['auroc']:.4f}"),
            ("ECE (15 bins)", "-", f"{r['ece']:.4f}", f"{m['ece']:.4f}"),
            ("threshold", "fixed cuts", f"{r['threshold']:.3f}", f"{m['threshold']:.3f}")]
    bd, hb = metrics["model_breakdown"], metrics["hand_cuts_breakdown"]
    for site, v in bd["by_site"].items():
        hv = hb["by_site"][site]
        tag = " (held out)" if v["held_out"] else ""
        rows.append((f"FNR / FPR at {site}{tag}", f"{pct(hv['fnr'])} / {pct(hv['fpr'])}", "",
                     f"{pct(v['fnr'])} / {pct(v['fpr'])}"))
    for kind, v in bd["fpr_by_artefact"].items():
        rows.append((f"FPR, frames with {kind} (n={v['n']})",
                     pct(hb["fpr_by_artefact"][kind]["fpr"]), "", pct(v["fpr"])))
    for host, v in bd["fnr_by_host"].items():
        rows.append((f"FNR, on {host} (n={v['n']})", pct(hb["fnr_by_host"][host]["fnr"]), "",
                     pct(v["fnr"])))
    for b, v in bd["fnr_by_snr"].items():
        rows.append((f"FNR, SNR {b} (n={v['n']})", pct(hb["fnr_by_snr"][b]["fnr"]), "",
                     pct(v["fnr"])))
    amb = metrics["ambiguous"]
    for b, v in amb["fnr_by_inj_snr"].items():
        rows.append((f"FNR, injected S/N {b} (n={v['n']})", "", "", pct(v["fnr"])))
    rows.append((f"ambiguous reals accepted (injected S/N < 5, n={amb['n']})",
                 pct(amb["hand_cuts_accept"]), "", pct(amb["model_accepts"])))
    a = metrics["all_candidates"]
    rows.append(("max(FNR, FPR), ambiguous counted real",
                 pct(a["hand_cuts"]["max_fnr_fpr"]), pct(a["random_forest"]["max_fnr_fpr"]),
                 pct(a["model"]["max_fnr_fpr"])))
    return rows


def print_table(metrics: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for col in ("metric (held-out candidates)", "hand cuts", "random forest", "vetting CNN"):
        t.add_column(col)
    for row in table(metrics):
        t.add_row(*row)
    Console().print(t)


def main(argv: list[str] | None = None) -> int:
    """Score the held-out candidates with the shipped ONNX model; print and plot."""
    from models.vetting.train import COARSE_FIELDS, DEFAULT_FIELDS, load_splits
    from site_node.edge.vetting import VettingModel, find_vetting_model

    ap = argparse.ArgumentParser(prog="python -m models.vetting.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="ONNX file (default: shipped)")
    ap.add_argument("--seed", type=int, default=None, help="dataset seed (default: the model's)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vetting-cache"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--png", type=Path, default=None,
                    help="reliability diagram (default: next to the model)")
    args = ap.parse_args(argv)
    path = args.model or find_vetting_model()
    if path is None or not path.is_file():
        print(f"error: no vetting model at {path}", file=sys.stderr)
        return 2
    model = VettingModel.from_files(path)
    train_meta = model.metadata.get("training", {})
    seed = args.seed if args.seed is not None else int(train_meta.get("seed", 0))
    full_train, full_val, test = load_splits(seed, DEFAULT_FIELDS, cache=args.cache,
                                             workers=args.workers, coarse=COARSE_FIELDS)
    train, val = full_train.honest(), full_val.honest()
    p = model.score(test.stamps.astype(np.float32), test.features)
    rf = random_forest(train, seed)
    rf_threshold = equal_error_threshold(rf.predict_proba(val.features)[:, 1], val.label)
    metrics = evaluate_scores(p, test, model.threshold, rf.predict_proba(test.features)[:, 1],
                              rf_threshold)
    print_table(metrics, f"{model.model_id} on held-out nights and sites")
    png = args.png or path.with_name(path.stem + "-reliability.png")
    reliability_png(png, {"vetting CNN": _as_curve(metrics["model"]),
                          "random forest": _as_curve(metrics["random_forest"])},
                    f"{model.name}: held-out candidates (n={len(test)})")
    print(f"reliability diagram: {png}")
    print(json.dumps({"max_fnr_fpr": metrics["model"]["max_fnr_fpr"],
                      "ece": metrics["model"]["ece"]}))
    return 0


def _as_curve(m: dict[str, Any]) -> dict[str, Any]:
    return {"ece": m["ece"], "bins": m["reliability"]}


if __name__ == "__main__":
    raise SystemExit(main())
