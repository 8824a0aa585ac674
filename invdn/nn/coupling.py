"""The affine coupling step of InvDN (additive on the 3-channel branch, affine on the rest),
written once: the module (:class:`CouplingBlock`), the inference fast path (`invdn.nn.fast`) and
the reversible backward (`invdn.nn.reversible`) all run :func:`coupling_forward`,
:func:`coupling_inverse` and :func:`log_scale`, handing them their own sub-network callables."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from invdn.nn.subnets import make_subnet

#: `F(x2)`: the additive branch's shift, `(B, C − k, h, w)` → `(B, k, h, w)`.
Shift = Callable[[Tensor], Tensor]
#: `y1` → `(G(y1), s)`: the affine branch's shift and log-scale (:func:`log_scale` of `H(y1)`).
ShiftAndLogScale = Callable[[Tensor], tuple[Tensor, Tensor]]


def log_scale(h: Tensor, clamp: float) -> Tensor:
    """s = clamp·(2σ(h) − 1), bounded to (−clamp, clamp); `h` = H(y1), any shape and dtype."""
    # In place after the first copy (sigmoid keeps its own output for its backward): two
    # allocations instead of four, the same values as `clamp * (torch.sigmoid(h) * 2 - 1)`.
    return torch.sigmoid(h).mul(2).sub_(1).mul_(clamp)


def coupling_forward(
    x1: Tensor,
    x2: Tensor,
    f: Shift,
    g_and_s: ShiftAndLogScale,
    need_y2: bool = True,
    fused: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """y1 = x1 + F(x2);  y2 = x2·exp(s) + G(y1), s = s(y1).

    `x1` `(B, k, h, w)`, `x2` `(B, C − k, h, w)` → (y1, y2), same shapes. With
    `need_y2=False` y2 is None and `g_and_s` is not called (for a latent nobody reads).
    `fused=True` computes y2 with one fused multiply-add (`torch.addcmul`: one kernel, one
    temporary less, one rounding instead of two), which the inference fast path uses; training
    keeps the separate multiply and add of the original code. The two differ only in the last
    bit of some values, and each path keeps the results it always had.
    """
    y1 = x1 + f(x2)
    if not need_y2:
        return y1, None
    g, s = g_and_s(y1)
    if fused:
        return y1, torch.addcmul(g, x2, torch.exp(s))
    return y1, x2 * torch.exp(s) + g


def coupling_inverse(y1: Tensor, y2: Tensor, f: Shift, g_and_s: ShiftAndLogScale) -> tuple[Tensor, Tensor]:
    """The exact inverse of :func:`coupling_forward`: x2 = (y2 − G(y1)) / exp(s);  x1 = y1 − F(x2)."""
    g, s = g_and_s(y1)
    # Division by exp(s), as in the original: multiplying by exp(-s) drifts ~1e-6 over 16 blocks.
    x2 = (y2 - g) / torch.exp(s)
    return y1 - f(x2), x2


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
        return log_scale(self.H(y1), self.clamp)

    def g_and_log_scale(self, y1: Tensor, h_first: bool = True) -> tuple[Tensor, Tensor]:
        """(G(y1), s(y1)), the affine branch's shift and log-scale. `h_first`: H runs before G
        (the original code's order in forward; its inverse runs G first). The values are the
        same either way, but autograd sums y1's gradients in evaluation order, so keeping each
        direction's order keeps training bit for bit."""
        if h_first:
            s = self.log_scale(y1)
            return self.G(y1), s
        g = self.G(y1)
        return g, self.log_scale(y1)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split :]
        return torch.cat(coupling_forward(x1, x2, self.F, self.g_and_log_scale), dim=1)

    def inverse(self, y: Tensor) -> Tensor:
        y1, y2 = y[:, : self.split], y[:, self.split :]
        g_first = partial(self.g_and_log_scale, h_first=False)
        return torch.cat(coupling_inverse(y1, y2, self.F, g_first), dim=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, split={self.split}, clamp={self.clamp}"
