"""The affine coupling block of InvDN (additive on the 3-channel branch, affine on the rest)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from invdn.nn.subnets import make_subnet


class CouplingBlock(nn.Module):
    """Invertible block on `(B, C, H, W)`: with x = (x1, x2), x1 the first `split` channels,

        y1 = x1 + F(x2);  s = clamp·(2σ(H(y1)) − 1);  y2 = x2·exp(s) + G(y1)

    Pure: nothing is stored on the module during forward or inverse.
    """

    def __init__(
        self,
        channels: int,
        split: int = 3,
        subnet: str = "resnet",
        width: int = 64,
        clamp: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0 < split < channels:
            raise ValueError(f"split must be in (0, {channels}), got {split}")
        self.channels, self.split, self.clamp = channels, split, clamp
        rest = channels - split
        self.F = make_subnet(subnet, rest, split, width)
        self.G = make_subnet(subnet, split, rest, width)
        self.H = make_subnet(subnet, split, rest, width)

    def zero_last_convs(self) -> None:
        """Zero the output convolution of F, G and H: the block becomes the identity."""
        for subnet in (self.F, self.G, self.H):
            last = subnet.last_conv
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def log_scale(self, y1: Tensor) -> Tensor:
        """s = clamp·(2σ(H(y1)) − 1), bounded to (−clamp, clamp)."""
        return self.clamp * (torch.sigmoid(self.H(y1)) * 2 - 1)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split :]
        y1 = x1 + self.F(x2)
        y2 = x2 * torch.exp(self.log_scale(y1)) + self.G(y1)
        return torch.cat((y1, y2), dim=1)

    def inverse(self, y: Tensor) -> Tensor:
        y1, y2 = y[:, : self.split], y[:, self.split :]
        # Division by exp(s), as in the original: multiplying by exp(-s) drifts ~1e-6 over 16 blocks.
        x2 = (y2 - self.G(y1)) / torch.exp(self.log_scale(y1))
        x1 = y1 - self.F(x2)
        return torch.cat((x1, x2), dim=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, split={self.split}, clamp={self.clamp}"
