"""The real/bogus classifier: a small braai-like CNN over cutouts plus scalar features (torch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from site_node.edge.transients import CUTOUT, FEATURE_NAMES

__all__ = ["VettingNet", "augment"]


class VettingNet(nn.Module):
    """Probability that a difference-image candidate is real.

    Inputs: ``stamps`` ``(N, 3, CUTOUT, CUTOUT)`` (new, reference, difference;
    :class:`~site_node.edge.transients.Candidates`) and ``features``
    ``(N, len(FEATURE_NAMES))`` as the site node computes them: the feature
    standardisation and the calibration temperature are buffers of the model,
    so the exported ONNX file takes the raw values.

    Parameters
    ----------
    feature_mean, feature_std : numpy.ndarray
        Standardisation of the features (from the training set).
    width : int
        Channels of the first convolutions (doubled after the first pooling).
    """

    def __init__(self, feature_mean: np.ndarray, feature_std: np.ndarray, *,
                 width: int = 16) -> None:
        super().__init__()
        n_feat = len(FEATURE_NAMES)
        self.register_buffer("feature_mean", torch.as_tensor(feature_mean, dtype=torch.float32))
        self.register_buffer("feature_std", torch.as_tensor(feature_std, dtype=torch.float32))
        self.register_buffer("temperature", torch.ones(()))
        w = width
        self.conv = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.2),
            nn.Linear(2 * w * (CUTOUT // 4) ** 2, 64), nn.ReLU())
        self.feat = nn.Sequential(nn.Linear(n_feat, 32), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(96, 32), nn.ReLU(), nn.Linear(32, 1))

    def logits(self, stamps: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits ``(N,)``."""
        f = (features - self.feature_mean) / self.feature_std
        return self.head(torch.cat([self.conv(stamps), self.feat(f)], dim=1))[:, 0]

    def forward(self, stamps: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Calibrated probability of being real ``(N,)``."""
        return torch.sigmoid(self.logits(stamps, features) / self.temperature)


def augment(stamps: torch.Tensor, op: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a batch of cutouts (the features do not change)."""
    if op & 4:
        stamps = stamps.transpose(-1, -2)
    if op & 2:
        stamps = stamps.flip(-2)
    if op & 1:
        stamps = stamps.flip(-1)
    return stamps
