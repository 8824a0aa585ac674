"""Haar wavelet downsampling: the parameter-free, exactly invertible squeeze of InvDN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The four 2x2 filters of the official code, in its channel order (LL, then the three details).
HAAR_FILTERS = torch.tensor(
    [
        [[1.0, 1.0], [1.0, 1.0]],
        [[1.0, -1.0], [1.0, -1.0]],
        [[1.0, 1.0], [-1.0, -1.0]],
        [[1.0, -1.0], [-1.0, 1.0]],
    ]
)


def haar_weights(channels: int) -> Tensor:
    """The official code's frozen grouped-conv weight, `(4 * channels, 1, 2, 2)` of ±1."""
    return HAAR_FILTERS.unsqueeze(1).repeat(channels, 1, 1, 1)


def haar_forward(x: Tensor) -> Tensor:
    """`(B, C, H, W)` → `(B, 4C, H/2, W/2)`: channels are [f0 of all C, f1 of all C, f2…, f3…] / 4.

    Computed as a butterfly on the four pixels of each 2x2 cell rather than as a grouped
    convolution: same values, no weights, and a fraction of the memory traffic.
    """
    b, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"Haar downsampling needs even height and width, got {h}x{w}")
    cells = x.reshape(b, c, h // 2, 2, w // 2, 2)
    a, bb = cells[:, :, :, 0, :, 0], cells[:, :, :, 0, :, 1]
    cc, d = cells[:, :, :, 1, :, 0], cells[:, :, :, 1, :, 1]
    s_top, d_top = a + bb, a - bb
    s_bot, d_bot = cc + d, cc - d
    out = torch.stack((s_top + s_bot, d_top + d_bot, s_top - s_bot, d_top - d_bot), dim=1)
    return out.reshape(b, 4 * c, h // 2, w // 2) / 4.0


def haar_inverse(y: Tensor) -> Tensor:
    """Exact inverse of :func:`haar_forward`: `(B, 4C, h, w)` → `(B, C, 2h, 2w)`."""
    b, c4, h, w = y.shape
    if c4 % 4:
        raise ValueError(f"Haar inverse needs a multiple of 4 channels, got {c4}")
    c = c4 // 4
    f0, f1, f2, f3 = y.reshape(b, 4, c, h, w).unbind(1)
    s_top, s_bot = f0 + f2, f0 - f2
    d_top, d_bot = f1 + f3, f1 - f3
    a, bb = s_top + d_top, s_top - d_top
    cc, d = s_bot + d_bot, s_bot - d_bot
    top = torch.stack((a, bb), dim=-1)
    bot = torch.stack((cc, d), dim=-1)
    return torch.stack((top, bot), dim=3).reshape(b, c, 2 * h, 2 * w)


def haar_forward_conv(x: Tensor) -> Tensor:
    """The official grouped-convolution formulation (kept as the reference for tests)."""
    c = x.shape[1]
    out = F.conv2d(x, haar_weights(c).to(x), stride=2, groups=c) / 4.0
    b, _, h, w = out.shape
    return out.reshape(b, c, 4, h, w).transpose(1, 2).reshape(b, 4 * c, h, w)


class HaarDownsampling(nn.Module):
    """Invertible Haar squeeze, `(B, C, H, W)` ↔ `(B, 4C, H/2, W/2)`; no parameters."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return haar_forward(x)

    def inverse(self, y: Tensor) -> Tensor:
        return haar_inverse(y)

    # The transform is linear and H^T = H^{-1} / 4, so both directions differentiate in
    # closed form; the reversible stack uses this instead of recomputing.
    def grad_of_forward(self, grad_out: Tensor) -> Tensor:
        return haar_inverse(grad_out) / 4.0

    def grad_of_inverse(self, grad_out: Tensor) -> Tensor:
        return haar_forward(grad_out) * 4.0

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
