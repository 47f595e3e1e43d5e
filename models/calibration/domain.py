"""Training and leave-one-site-out evaluation of the site-invariant classifier.

:func:`train_classifier` minimises ``BCE(galaxy) + lambda x mean MMD^2`` over pairs of
domains in each step (the labelled sites with one another and, when an unlabelled
``target`` set is given, each of them with the target's images): lambda ramps up as
``2 / (1 + exp(-10 p)) - 1`` over training progress ``p`` (Ganin et al. 2016). With
``lam=0`` it is the same model and schedule without the domain term.
:func:`leave_one_site_out` holds each site out in turn: its labels are never used;
"unseen-site accuracy" is measured on its test cutouts, "in-site accuracy" on the same
test cutouts by a model trained with that site's labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from models.calibration.cutouts import CutoutSet

_WARMUP = 0.3
"""Fraction of training before the domain term starts (the classifier learns first;
with the MMD on from the start, collapsing every feature is its easiest minimum)."""

__all__ = ["accuracy", "calibrate_temperature", "ece", "leave_one_site_out",
           "predict", "train_classifier"]


def train_classifier(train: CutoutSet, *, lam: float, seed: int, epochs: int,
                     target: CutoutSet | None = None, batch: int = 64, lr: float = 2e-3,
                     on_epoch: Callable[[], None] | None = None) -> Any:
    """Train a :class:`~models.calibration.model.SiteInvariantNet` (eval mode on return)."""
    import torch

    from models.calibration.model import SiteInvariantNet, mmd2

    torch.manual_seed(seed)
    model = SiteInvariantNet(in_channels=train.x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    x = torch.from_numpy(train.x)
    y = torch.from_numpy(train.label.astype(np.float32))
    doms = sorted(set(train.domain.tolist()))
    by_dom = [torch.from_numpy(np.flatnonzero(train.domain == d)) for d in doms]
    tx = torch.from_numpy(target.x) if target is not None else None
    gen = torch.Generator().manual_seed(seed)
    per = batch // len(doms)
    steps_per_epoch = max(len(i) for i in by_dom) // per
    total = epochs * steps_per_epoch
    bce = torch.nn.BCEWithLogitsLoss()
    step = 0
    for _ in range(epochs):
        model.train()
        perms = [idx[torch.randperm(len(idx), generator=gen)] for idx in by_dom]
        for s in range(steps_per_epoch):
            parts = [p[(s * per) % len(p):(s * per) % len(p) + per] for p in perms]
            idx = torch.cat(parts)
            logit, feats = model(x[idx])
            loss = bce(logit, y[idx])
            progress = max(step / max(total, 1) - _WARMUP, 0.0) / (1.0 - _WARMUP)
            ramp = (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0) if progress > 0 else 0.0
            if lam > 0:
                groups, start = [], 0
                for p in parts:
                    groups.append(feats[start:start + len(p)])
                    start += len(p)
                if tx is not None:
                    ti = torch.randint(len(tx), (per,), generator=gen)
                    groups.append(model(tx[ti])[1])
                pairs = [(i, j) for i in range(len(groups)) for j in range(i + 1, len(groups))]
                if pairs:
                    d = sum(mmd2(groups[i], groups[j]) for i, j in pairs) / len(pairs)
                    loss = loss + lam * ramp * d
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if on_epoch is not None:
            on_epoch()
    model.eval()
    return model


def predict(model: Any, data: CutoutSet, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Galaxy probabilities and features of ``data``."""
    import torch

    probs, feats = [], []
    with torch.no_grad():
        for i in range(0, len(data), batch):
            logit, f = model(torch.from_numpy(data.x[i:i + batch]))
            probs.append(torch.sigmoid(logit).numpy())
            feats.append(f.numpy())
    return np.concatenate(probs), np.concatenate(feats)


def accuracy(prob: np.ndarray, label: np.ndarray) -> float:
    """Fraction correct at probability 0.5, in percent."""
    return 100.0 * float(np.mean((prob >= 0.5) == (label == 1)))


def ece(prob: np.ndarray, label: np.ndarray, bins: int = 10) -> tuple[float, list[dict]]:
    """Expected calibration error of P(galaxy) and the reliability table (equal-width bins)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges) - 1, 0, bins - 1)
    table, total = [], 0.0
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        conf, freq = float(prob[sel].mean()), float(label[sel].mean())
        total += sel.mean() * abs(conf - freq)
        table.append({"bin": [float(edges[b]), float(edges[b + 1])], "n": int(sel.sum()),
                      "mean_prob": round(conf, 4), "fraction_galaxy": round(freq, 4)})
    return float(total), table


def calibrate_temperature(model: Any, val: CutoutSet) -> float:
    """Set ``model.temperature`` to minimise the validation log-loss (grid search)."""
    import torch

    model.temperature.fill_(1.0)
    with torch.no_grad():
        logit = model(torch.from_numpy(val.x))[0].double().numpy()
    y = val.label.astype(float)
    best = (float("inf"), 1.0)
    for t in np.exp(np.linspace(math.log(0.3), math.log(5.0), 60)):
        p = np.clip(1.0 / (1.0 + np.exp(-logit / t)), 1e-7, 1 - 1e-7)
        nll = -float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        best = min(best, (nll, float(t)))
    model.temperature.fill_(best[1])
    return best[1]


def leave_one_site_out(train: dict[str, CutoutSet], test: dict[str, CutoutSet], *,
                       lam: float, seed: int, epochs: int, unlabelled_target: bool = True,
                       in_site: dict[str, float] | None = None,
                       on_epoch: Callable[[], None] | None = None) -> dict[str, dict]:
    """Per held-out site: unseen-site accuracy of models trained without its labels with
    ``lam`` (and with its training images as unlabelled target when
    ``unlabelled_target``), the gap to ``in_site`` accuracy, and the unseen-site ECE."""
    out = {}
    for held, own in train.items():
        source = CutoutSet.join([train[s] for s in train if s != held])
        target = own if unlabelled_target and lam > 0 else None
        model = train_classifier(source, lam=lam, seed=seed, epochs=epochs, target=target,
                                 on_epoch=on_epoch)
        p_seen = np.concatenate([predict(model, test[s])[0] for s in test if s != held])
        y_seen = np.concatenate([test[s].label for s in test if s != held])
        prob, _ = predict(model, test[held])
        row = {"unseen_accuracy": accuracy(prob, test[held].label),
               "seen_sites_accuracy": accuracy(p_seen, y_seen),
               "unseen_ece": ece(prob, test[held].label)[0]}
        if in_site is not None:
            row["in_site_accuracy"] = in_site[held]
            row["gap_points"] = in_site[held] - row["unseen_accuracy"]
        out[held] = row
    return out
