"""The site-invariant feature extractor and its star/galaxy head (PyTorch), and MMD.

:class:`SiteInvariantNet` maps a preprocessed cutout and PSF star (2 x 25 x 25,
:func:`models.calibration.cutouts.preprocess`) to :data:`N_FEATURES` features and a
galaxy logit. Training adds ``lambda x MMD^2`` between the features of different
sites (:func:`mmd2`, Gaussian kernels of fixed bandwidths) to the classification loss,
pulling the sites' feature distributions together so that the head transfers to a
site it has no labels from.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["N_FEATURES", "SiteInvariantNet", "mmd2"]

N_FEATURES = 32


class SiteInvariantNet(nn.Module):
    """Convolutional feature extractor plus a linear galaxy head (about 57k parameters).

    The features are the output of a linear layer (no ReLU): the MMD term cannot then
    satisfy itself by switching units off, only by aligning the sites.

    ``forward(x)`` returns ``(logit, features)``; ``temperature`` (a buffer, 1 until
    calibrated) divides the logit.
    """

    def __init__(self, width: int = 8, in_channels: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(4 * width * 7 * 7, N_FEATURES))
        self.head = nn.Linear(N_FEATURES, 1)
        self.register_buffer("temperature", torch.ones(()))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.head(f).squeeze(-1) / self.temperature, f


def mmd2(a: torch.Tensor, b: torch.Tensor,
         bandwidths: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0, 256.0)) -> torch.Tensor:
    """Squared maximum mean discrepancy between two samples of features (biased
    estimate; Gaussian kernels ``exp(-d^2 / bw)`` at fixed ``bandwidths``).

    Fixed bandwidths on purpose: with bandwidths scaled to the data (the median
    heuristic) the gradient grows as the features shrink, and training collapses
    every feature to a constant, where the discrepancy is trivially zero.
    """
    x = torch.cat([a, b])
    sq = (x * x).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * x @ x.T).clamp_min(0.0)   # no sqrt: finite grads
    k = sum(torch.exp(-d2 / bw) for bw in bandwidths)
    n = len(a)
    return (k[:n, :n].mean() + k[n:, n:].mean() - 2.0 * k[:n, n:].mean()) / len(bandwidths)
