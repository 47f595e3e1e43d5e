"""The learned fusion's error model (torch): a rescaling of each reported sigma.

:class:`ErrorScaleNet` maps one measurement's features (log reported sigma,
airmass, log seeing, site one-hot; :func:`models.fusion.simulate.features`) to the
log of the factor by which its reported sigma is wrong. The fusion is then the
exact GLS combination (:mod:`models.fusion.inverse_variance`) with the corrected
covariance ``D' R D'``; the learned model never touches the measured values, so
the estimate stays unbiased whatever it learns. :func:`gls_torch` is the same
combination in torch, used for training with the Gaussian negative log-likelihood
of the combined estimate.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ErrorScaleNet", "gls_torch"]


class ErrorScaleNet(nn.Module):
    """Per-measurement ``log(true sigma / reported sigma)`` from its features.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden : int
        Width of the two hidden layers.
    """

    def __init__(self, n_features: int = 8, hidden: int = 32) -> None:
        super().__init__()
        self.config = {"n_features": n_features, "hidden": hidden}
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n_features)`` -> ``(..., 1)`` log scale factor, clamped to [-3, 3]."""
        return torch.clamp(self.net(x), -3.0, 3.0)


def gls_torch(values: torch.Tensor, sigma: torch.Tensor, correlation: torch.Tensor,
              mask: torch.Tensor, pad: float = 1e3) -> tuple[torch.Tensor, torch.Tensor]:
    """GLS estimate and variance of a padded batch (``(B, n)``, ``(B, n, n)``)."""
    s = torch.where(mask, sigma, torch.full_like(sigma, pad))
    cov = correlation * s[:, :, None] * s[:, None, :]
    cinv1 = torch.linalg.solve(cov, torch.ones_like(s).unsqueeze(-1)).squeeze(-1)
    info = cinv1.sum(-1)
    est = (cinv1 * values).sum(-1) / info
    return est, 1.0 / info
