"""The anomaly autoencoder (PyTorch): a small convolutional autoencoder over frame thumbnails.

Input and output are ``(N, C, 64, 64)`` (see :mod:`site_node.edge.thumbnails`:
the binned starlight, the binned sky and the mosaic of source cutouts). Four
stride-2 convolutions take 64x64 to 4x4, a linear bottleneck of ``latent``
numbers forces the model to learn what normal frames share, and four
transposed convolutions come back up. The output is linear (no squashing), so
the reconstruction error is comparable across channels.

Only training needs torch; the site node runs the exported ONNX.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ThumbnailAutoencoder", "WithLatent"]


class ThumbnailAutoencoder(nn.Module):
    """Convolutional autoencoder for ``(N, channels, size, size)`` thumbnails.

    Parameters
    ----------
    channels : int
        Input channels.
    size : int
        Side of the input (a multiple of 16).
    width : int
        Channels of the first convolution (doubles once, then stays).
    latent : int
        Size of the bottleneck.
    """

    def __init__(self, channels: int = 3, size: int = 64, width: int = 16,
                 latent: int = 32) -> None:
        super().__init__()
        if size % 16:
            raise ValueError(f"size must be a multiple of 16, got {size}")
        self.config = {"channels": channels, "size": size, "width": width, "latent": latent}
        w = [width, 2 * width, 4 * width, 4 * width]
        self._grid = size // 16
        self._deep = w[3]

        def down(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1),
                                 nn.LeakyReLU(0.1))

        def up(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1),
                                 nn.LeakyReLU(0.1))

        self.encoder = nn.Sequential(down(channels, w[0]), down(w[0], w[1]), down(w[1], w[2]),
                                     down(w[2], w[3]), nn.Flatten(),
                                     nn.Linear(w[3] * self._grid**2, latent))
        self.expand = nn.Sequential(nn.Linear(latent, w[3] * self._grid**2), nn.LeakyReLU(0.1))
        self.decoder = nn.Sequential(up(w[3], w[2]), up(w[2], w[1]), up(w[1], w[0]),
                                     nn.ConvTranspose2d(w[0], channels, 4, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of ``x``."""
        return self.forward_with_latent(x)[0]

    def forward_with_latent(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reconstruction of ``x`` and its latent code ``(N, latent)``."""
        z = self.encoder(x)
        h = self.expand(z).view(-1, self._deep, self._grid, self._grid)
        return self.decoder(h), z


class WithLatent(nn.Module):
    """Exports both outputs: ``reconstruction`` and ``latent``."""

    def __init__(self, model: ThumbnailAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_with_latent(x)
