"""The denoisers a user would pick instead of InvDN, as plain modules: yardsticks for speed and,
with their authors' weights, for quality (`invdn.io.matconvnet.load_dncnn`).

- :class:`DnCNN` (Zhang et al., TIP 2017): `depth` 3×3 convolutions of `features` channels at
  full resolution with ReLU between (batch norm folded into the convolutions), predicting the
  noise: `denoise(x) = x − net(x)`. DnCNN-17 has depth 17; the blind colour model CDnCNN-B 20.
- :class:`FFDNet` (Zhang et al., TIP 2018): a 2× pixel-unshuffle, the noise level as extra
  input channels, `depth` convolutions of `features` channels at half resolution, pixel-shuffle
  back (colour: 12 layers × 96 channels, 0.85 M parameters).

Both take `(B, C, H, W)` float images (C = `channels`) and return the same shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _plain_stack(cin: int, cout: int, features: int, depth: int) -> nn.Sequential:
    """`depth` 3×3 convolutions `cin → features → … → cout` with ReLU between."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(nn.Conv2d(cin if i == 0 else features,
                                cout if i == depth - 1 else features, 3, padding=1))
        if i < depth - 1:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DnCNN(nn.Module):
    """Residual DnCNN: `(B, channels, H, W)` noisy → denoised (any H, W)."""

    multiple = 1

    def __init__(self, channels: int = 3, depth: int = 20, features: int = 64) -> None:
        super().__init__()
        self.channels, self.depth, self.features = channels, depth, features
        self.body = _plain_stack(channels, channels, features, depth)

    def forward(self, x: Tensor) -> Tensor:
        return x - self.body(x)

    def denoise(self, x: Tensor, samples: int = 1,
                generator: torch.Generator | None = None) -> Tensor:
        """The network's estimate (deterministic: `samples` and `generator` are ignored)."""
        return self(x)


class FFDNet(nn.Module):
    """FFDNet's shape: `(B, channels, H, W)` (H, W even) and a noise level `sigma` (8-bit
    levels, one map for every channel) → denoised."""

    multiple = 2

    def __init__(self, channels: int = 3, depth: int = 12, features: int = 96,
                 sigma: float = 25.0) -> None:
        super().__init__()
        self.channels, self.sigma = channels, sigma
        self.body = _plain_stack(4 * channels + channels, 4 * channels, features, depth)

    def forward(self, x: Tensor) -> Tensor:
        down = F.pixel_unshuffle(x, 2)
        level = down.new_full((x.shape[0], self.channels, *down.shape[-2:]), self.sigma / 255.0)
        return F.pixel_shuffle(self.body(torch.cat((down, level), dim=1)), 2)

    def denoise(self, x: Tensor, samples: int = 1,
                generator: torch.Generator | None = None) -> Tensor:
        """The network's estimate at `self.sigma` (deterministic)."""
        return self(x)


__all__ = ["DnCNN", "FFDNet"]
