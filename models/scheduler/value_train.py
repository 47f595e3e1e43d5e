"""Train and evaluate the value ensemble (torch; the ``train`` extra)."""

from __future__ import annotations

import copy
import math

import numpy as np

from models.scheduler.metrics import (
    FINE_LEVELS,
    coverage,
    fit_scale,
    fit_variance_scale,
    interval_ece,
    rmse,
)
from models.scheduler.value_data import ValueSet

__all__ = ["evaluate_value", "train_value"]


def train_value(train: ValueSet, calib: ValueSet, *, seed: int, epochs: int = 40,
                members: int = 5, hidden: int = 64, batch: int = 256, lr: float = 3e-3,
                progress=None):
    """Train the ensemble on ``train``; fit its variance scale on ``calib`` (other nights).

    Returns the ensemble (eval mode) and a dict of training figures.
    """
    import torch

    from models.scheduler.value_model import ValueEnsemble

    torch.manual_seed(seed)
    model = ValueEnsemble(train.x.shape[1], members, hidden)
    x = torch.from_numpy(train.x)
    y_scale = float(np.std(train.y)) or 1.0
    model.x_mean.copy_(x.mean(0))
    model.x_std.copy_(x.std(0).clamp_min(1e-3))
    model.y_scale.fill_(y_scale)
    y = torch.from_numpy(train.y / y_scale)
    xc, yc = torch.from_numpy(calib.x), torch.from_numpy(calib.y / y_scale)
    gen = torch.Generator().manual_seed(seed)
    n = len(train)
    figures = {}
    for j, member in enumerate(model.members):
        boot = torch.randint(0, n, (n,), generator=gen)
        opt = torch.optim.Adam(member.parameters(), lr=lr, weight_decay=1e-5)
        best = (math.inf, None)
        for epoch in range(epochs):
            order = boot[torch.randperm(n, generator=gen)]
            member.train()
            for s in range(0, n, batch):
                idx = order[s:s + batch]
                z = (x[idx] - model.x_mean) / model.x_std
                mu, log_var = member(z)
                loss = 0.5 * (log_var + (y[idx] - mu) ** 2 / log_var.exp()).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            member.eval()
            with torch.no_grad():
                mu, log_var = member((xc - model.x_mean) / model.x_std)
                vloss = float(0.5 * (log_var + (yc - mu) ** 2 / log_var.exp()).mean())
            if vloss < best[0]:
                best = (vloss, copy.deepcopy(member.state_dict()))
            if progress is not None:
                progress(j * epochs + epoch + 1, members * epochs)
        member.load_state_dict(best[1])
        figures[f"member{j}_calib_nll"] = round(best[0], 4)
    model.eval()
    with torch.no_grad():
        mean, var = model(xc)
    scale = fit_variance_scale(calib.y, mean.numpy(), np.sqrt(var.numpy()))
    model.var_scale.fill_(scale)
    figures["variance_scale"] = round(scale, 4)
    return model, figures


def evaluate_value(predict, train: ValueSet, test: ValueSet) -> dict:
    """Error and calibration of ``predict(x) -> (mean, sigma)`` on ``test`` nights, against
    the value formula with one scale fitted on ``train``."""
    mean, sigma = predict(test.x)
    s = fit_scale(train.y, train.formula)
    formula = s * test.formula
    cov = coverage(test.y, mean, sigma)
    return {
        "test_observations": len(test), "test_nights": int(np.unique(test.night).size),
        "rmse": round(rmse(test.y, mean), 4),
        "formula_rmse": round(rmse(test.y, formula), 4),
        "formula_scale": round(s, 4),
        "rmse_ratio": round(rmse(test.y, mean) / rmse(test.y, formula), 4),
        "mae": round(float(np.mean(np.abs(test.y - mean))), 4),
        "formula_mae": round(float(np.mean(np.abs(test.y - formula))), 4),
        "interval_ece": round(interval_ece(test.y, mean, sigma), 4),
        "coverage": {f"{lv:g}": round(c, 4) for lv, c in cov.items()},
        "interval_ece_fine": round(interval_ece(test.y, mean, sigma, FINE_LEVELS), 4),
        "coverage_fine": {f"{lv:g}": round(c, 4)
                          for lv, c in coverage(test.y, mean, sigma, FINE_LEVELS).items()},
        "rank_correlation": round(_spearman(mean, test.y), 4),
        "formula_rank_correlation": round(_spearman(formula, test.y), 4),
    }


def _spearman(a, b) -> float:
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])
