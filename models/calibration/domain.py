"""Training and leave-one-site-out evaluation of the site-invariant classifier.

:func:`train_classifier` minimises ``BCE(galaxy) + lambda x D`` where ``D`` is the domain
term, ``method`` one of

* ``"mmd"``: the mean multi-kernel MMD^2 (:func:`~models.calibration.model.mmd2`) of the
  feature layer over pairs of domains in each step (the labelled sites with one another
  and, when an unlabelled ``target`` set is given, each of them with the target's images);
* ``"dann"``: adversarial (Ganin et al. 2016): a small domain classifier on the features
  learns which site a batch row came from, and a gradient-reversal layer makes the
  feature extractor maximise its cross-entropy, scaled by ``lambda``.

lambda ramps up as ``2 / (1 + exp(-10 p)) - 1`` over training progress ``p`` after a
warm-up. With ``lam=0`` it is the same model and schedule without the domain term.
``augment`` applies a random one of the 8 rotations/flips of the square to each source
and its PSF star together (orientation carries no class information; a site's vibration
direction does, which is one of the domain shifts).
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

METHODS = ("mmd", "dann")
"""Domain terms :func:`train_classifier` knows."""

__all__ = ["METHODS", "accuracy", "calibrate_temperature", "dihedral", "ece",
           "leave_one_site_out", "predict", "train_classifier"]


def dihedral(x: Any, gen: Any) -> Any:
    """Each image stack of ``x`` (n, c, h, w; h == w) under a random one of the square's 8
    symmetries (the same for all its channels), drawn from the torch generator ``gen``."""
    import torch

    which = torch.randint(8, (len(x),), generator=gen)
    out = x.clone()
    for k in range(1, 8):
        sel = which == k
        if bool(sel.any()):
            t = torch.rot90(x[sel], k % 4, dims=(2, 3))
            out[sel] = torch.flip(t, dims=(3,)) if k >= 4 else t
    return out


def _domain_head(n_features: int, n_domains: int) -> Any:
    from torch import nn

    return nn.Sequential(nn.Linear(n_features, 32), nn.ReLU(), nn.Linear(32, n_domains))


def _reverse_gradient() -> Any:
    import torch

    class _Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, coeff: float) -> Any:
            ctx.coeff = coeff
            return x.view_as(x)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple[Any, None]:
            return -ctx.coeff * grad, None

    return _Reverse.apply


def train_classifier(train: CutoutSet, *, lam: float, seed: int, epochs: int,
                     target: CutoutSet | None = None, batch: int = 64, lr: float = 2e-3,
                     method: str = "mmd", augment: bool = False,
                     on_epoch: Callable[[], None] | None = None) -> Any:
    """Train a :class:`~models.calibration.model.SiteInvariantNet` (eval mode on return).

    Parameters
    ----------
    train : CutoutSet
        Labelled cutouts; ``train.domain`` tells their sites apart.
    lam : float
        Weight of the domain term (0: none).
    seed, epochs, batch, lr
        Seed of initialisation and batches; passes over the largest site; batch size
        (split evenly over the labelled sites); Adam learning rate.
    target : CutoutSet, optional
        Unlabelled cutouts of a further site, aligned with the labelled ones.
    method : {"mmd", "dann"}
        The domain term (see the module docstring).
    augment : bool
        Random rotations/flips of each training cutout (source and PSF star together).
    """
    import torch

    from models.calibration.model import SiteInvariantNet, mmd2

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    torch.manual_seed(seed)
    model = SiteInvariantNet(in_channels=train.x.shape[1])
    doms = sorted(set(train.domain.tolist()))
    n_dom = len(doms) + (target is not None)
    disc = _domain_head(model.head.in_features, n_dom) if method == "dann" else None
    params = list(model.parameters()) + (list(disc.parameters()) if disc is not None else [])
    opt = torch.optim.Adam(params, lr=lr, weight_decay=1e-5)
    reverse = _reverse_gradient()
    x = torch.from_numpy(train.x)
    y = torch.from_numpy(train.label.astype(np.float32))
    by_dom = [torch.from_numpy(np.flatnonzero(train.domain == d)) for d in doms]
    tx = torch.from_numpy(target.x) if target is not None else None
    gen = torch.Generator().manual_seed(seed)
    per = batch // len(doms)
    steps_per_epoch = max(len(i) for i in by_dom) // per
    total = epochs * steps_per_epoch
    bce = torch.nn.BCEWithLogitsLoss()
    xent = torch.nn.CrossEntropyLoss()
    step = 0
    for _ in range(epochs):
        model.train()
        perms = [idx[torch.randperm(len(idx), generator=gen)] for idx in by_dom]
        for s in range(steps_per_epoch):
            parts = [p[(s * per) % len(p):(s * per) % len(p) + per] for p in perms]
            idx = torch.cat(parts)
            xb = x[idx]
            sizes = [len(p) for p in parts]
            use_target = lam > 0 and tx is not None
            if use_target:
                tb = tx[torch.randint(len(tx), (per,), generator=gen)]
                xb = torch.cat([xb, tb])
                sizes.append(per)
            if augment:
                xb = dihedral(xb, gen)
            logit, feats = model(xb)
            loss = bce(logit[:len(idx)], y[idx])
            progress = max(step / max(total, 1) - _WARMUP, 0.0) / (1.0 - _WARMUP)
            ramp = (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0) if progress > 0 else 0.0
            if lam > 0 and len(sizes) > 1:
                groups = list(torch.split(feats, sizes))
                if method == "mmd":
                    pairs = [(i, j) for i in range(len(groups))
                             for j in range(i + 1, len(groups))]
                    d = sum(mmd2(groups[i], groups[j]) for i, j in pairs) / len(pairs)
                    loss = loss + lam * ramp * d
                else:
                    dom_y = torch.cat([torch.full((n,), k) for k, n in enumerate(sizes)])
                    loss = loss + xent(disc(reverse(feats, lam * ramp)), dom_y)
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
                       in_site: dict[str, float] | None = None, method: str = "mmd",
                       augment: bool = False,
                       on_epoch: Callable[[], None] | None = None) -> dict[str, dict]:
    """Per held-out site: unseen-site accuracy of models trained without its labels with
    ``lam`` (and with its training images as unlabelled target when
    ``unlabelled_target``), the gap to ``in_site`` accuracy, and the unseen-site ECE."""
    out = {}
    for held, own in train.items():
        source = CutoutSet.join([train[s] for s in train if s != held])
        target = own if unlabelled_target and lam > 0 else None
        model = train_classifier(source, lam=lam, seed=seed, epochs=epochs, target=target,
                                 method=method, augment=augment, on_epoch=on_epoch)
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
