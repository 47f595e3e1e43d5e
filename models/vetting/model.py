"""The real/bogus classifier: a small braai-like CNN over cutouts plus scalar features (torch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from site_node.edge.transients import CUTOUT, FEATURE_NAMES

__all__ = ["VettingEnsemble", "VettingNet", "augment", "augment_each"]


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
        self.register_buffer("bias", torch.zeros(()))
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
        """Calibrated probability of being real ``(N,)`` (Platt scaling: a temperature and
        a bias fitted on the validation nights)."""
        return torch.sigmoid(self.logits(stamps, features) / self.temperature + self.bias)


def augment(stamps: torch.Tensor, op: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a batch of cutouts (the features do not change)."""
    if op & 4:
        stamps = stamps.transpose(-1, -2)
    if op & 2:
        stamps = stamps.flip(-2)
    if op & 1:
        stamps = stamps.flip(-1)
    return stamps


def augment_each(stamps: torch.Tensor, ops: torch.Tensor) -> torch.Tensor:
    """Each cutout of a batch through its own flip/rotation ``ops[i]`` (0-7)."""
    out = stamps.clone()
    for op in range(8):
        idx = torch.nonzero(ops == op).flatten()
        if idx.numel():
            out[idx] = augment(stamps[idx], op)
    return out


class VettingEnsemble(nn.Module):
    """Several :class:`VettingNet` members, each over the flips/rotations ``ops`` of the
    cutouts (test-time augmentation); their logits are averaged, then calibrated.

    Same inputs and output as :class:`VettingNet` (one ONNX graph at the node).
    """

    def __init__(self, members: list[VettingNet], ops: tuple[int, ...] = (0,)) -> None:
        super().__init__()
        if not members or not ops or not set(ops) <= set(range(8)):
            raise ValueError(f"need members and flip/rotation ops in 0-7, got {len(members)} "
                             f"members and ops {ops}")
        self.members = nn.ModuleList(members)
        self.ops = tuple(int(op) for op in ops)
        self.register_buffer("temperature", torch.ones(()))
        self.register_buffer("bias", torch.zeros(()))

    def logits(self, stamps: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Mean uncalibrated logit ``(N,)`` over members and flips/rotations."""
        views = torch.cat([augment(stamps, op) for op in self.ops], dim=0)
        feats = features.repeat(len(self.ops), 1)
        z = torch.stack([m.logits(views, feats) for m in self.members])
        return z.reshape(len(self.members) * len(self.ops), -1).mean(dim=0)

    def forward(self, stamps: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Calibrated probability of being real ``(N,)``."""
        return torch.sigmoid(self.logits(stamps, features) / self.temperature + self.bias)
