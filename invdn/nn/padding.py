"""Padding images to the size multiple a network needs (InvDN: 4), and cropping back."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def pad_to_multiple(x: Tensor, m: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad `(B, C, H, W)` at the bottom and right so H and W become multiples of `m`.

    Reflect padding (no artificial edge for the network to see); replicate when the image is
    too small to reflect (pad >= size). Returns the padded tensor and the original `(h, w)`,
    so `out[..., :h, :w]` crops back.
    """
    h, w = x.shape[-2:]
    ph, pw = -h % m, -w % m
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)
