"""The value network (Component 2): a deep ensemble of small MLPs with mean and variance heads.

Each member maps :data:`~models.scheduler.features.VALUE_FEATURES` to a mean and
a log-variance of the science value an observation will yield, trained by the
Gaussian negative log-likelihood on its own bootstrap of the data from its own
initialisation (Lakshminarayanan et al. 2017). The ensemble's prediction is the
mixture's mean and variance (aleatoric: the members' mean variance; epistemic:
the spread of their means), times a single variance scale fitted on
calibration nights, so its intervals hold their nominal coverage.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ValueEnsemble", "ValueMember"]


class ValueMember(nn.Module):
    """One MLP: features -> (mean, log variance)."""

    def __init__(self, n_features: int, hidden: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.SiLU(),
                                  nn.Linear(hidden, hidden), nn.SiLU())
        self.mean = nn.Linear(hidden, 1)
        self.log_var = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mean(h).squeeze(-1), self.log_var(h).squeeze(-1).clamp(-8.0, 6.0)


class ValueEnsemble(nn.Module):
    """The members and the calibration scale; ``forward`` gives (mean, variance).

    ``x_mean``/``x_std`` standardise the inputs and ``y_scale`` the value inside the
    graph, so the ONNX file takes raw features and returns science-value units.
    """

    def __init__(self, n_features: int, members: int = 5, hidden: int = 64) -> None:
        super().__init__()
        self.members = nn.ModuleList(ValueMember(n_features, hidden) for _ in range(members))
        self.register_buffer("x_mean", torch.zeros(n_features))
        self.register_buffer("x_std", torch.ones(n_features))
        self.register_buffer("y_scale", torch.ones(()))
        self.register_buffer("var_scale", torch.ones(()))
        self.config = {"n_features": n_features, "members": members, "hidden": hidden}

    def member_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's mean and variance in standardised units, shape (members, batch)."""
        z = (x - self.x_mean) / self.x_std
        outs = [m(z) for m in self.members]
        return (torch.stack([o[0] for o in outs]), torch.stack([o[1].exp() for o in outs]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, var = self.member_outputs(x)
        mean = mu.mean(0)
        total = (var + mu**2).mean(0) - mean**2
        return mean * self.y_scale, total * self.var_scale * self.y_scale**2
