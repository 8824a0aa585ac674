"""Pixel-exact transforms for noisy/clean pairs: crops, flips, transposes, tensor conversion.

Crops work on `(H, W, C)` numpy images before conversion (so only the patch is converted);
augmentations work on `(..., H, W)` tensors. Random choices use torch's RNG (or `generator`),
which DataLoader seeds per worker.
"""

from __future__ import annotations

import numpy as np
import torch

from invdn.io.images import to_float


def to_rgb(img: np.ndarray) -> np.ndarray:
    """`(H, W, C)` gray/RGB/RGBA → `(H, W, 3)` RGB (gray repeated, alpha dropped)."""
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    return img[:, :, :3]


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601: the gray of JPEG, OpenCV and Pillow


def luma(x: torch.Tensor) -> torch.Tensor:
    """`(3, H, W)` RGB → `(1, H, W)` gray with the BT.601 weights (float in, float out)."""
    weights = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * weights).sum(0, keepdim=True)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """`(H, W, 3)` uint8/uint16 → `(3, H, W)` float32 in [0, 1] (uint16 divided by 65535)."""
    return torch.from_numpy(np.ascontiguousarray(to_float(img).transpose(2, 0, 1)))


def random_crop_box(height: int, width: int, size: int,
                    generator: torch.Generator | None = None) -> tuple[int, int]:
    """Uniform top-left corner `(top, left)` of a `size`×`size` window inside `height`×`width`."""
    top = int(torch.randint(0, height - size + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - size + 1, (1,), generator=generator))
    return top, left


def center_crop(img: np.ndarray, size: int | None) -> np.ndarray:
    """Central `size`×`size` window of `(H, W, C)` `img` (each side capped at the image's)."""
    if size is None:
        return img
    h, w = img.shape[:2]
    ch, cw = min(size, h), min(size, w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return img[top:top + ch, left:left + cw]


def augment_pair(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal flip, vertical flip and H↔W transpose, each with p = 0.5, identical for both
    `(..., H, W)` tensors (the 8 dihedral variants of the paper's training recipe)."""
    hflip, vflip, transpose = (torch.rand(3, generator=generator) < 0.5).tolist()
    if hflip:
        a, b = a.flip(-1), b.flip(-1)
    if vflip:
        a, b = a.flip(-2), b.flip(-2)
    if transpose:
        a, b = a.transpose(-1, -2), b.transpose(-1, -2)
    return a.contiguous(), b.contiguous()


def random_scaled_patch(img: np.ndarray, size: int, scale: tuple[float, float],
                        generator: torch.Generator | None = None) -> np.ndarray:
    """A `size`×`size` patch of `(H, W, C)` `img` seen at a random zoom-out factor `s` drawn
    uniformly from `scale` (0 < lo ≤ hi ≤ 1): a window of side `size / s` at a uniform position,
    shrunk with area averaging (antialiased, so it adds no aliasing and averages away the
    source's own noise and JPEG artefacts). The window is capped at the image's shorter side."""
    lo, hi = scale
    s = lo + (hi - lo) * float(torch.rand(1, generator=generator))
    side = min(max(size, round(size / s)), *img.shape[:2])
    top, left = random_crop_box(*img.shape[:2], side, generator)
    window = img[top:top + side, left:left + side]
    if side == size:
        return window
    import cv2

    return cv2.resize(np.ascontiguousarray(window), (size, size), interpolation=cv2.INTER_AREA)


def color_jitter(x: torch.Tensor, gamma: tuple[float, float] = (0.7, 1.4),
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Random channel permutation and gamma `x ** g` (`g` log-uniform in `gamma`) of a
    `(3, H, W)` float image in [0, 1]; the result stays in [0, 1]."""
    order = torch.randperm(3, generator=generator)
    lo, hi = np.log(gamma[0]), np.log(gamma[1])
    g = float(np.exp(lo + (hi - lo) * float(torch.rand(1, generator=generator))))
    return x[order].clamp(min=0.0).pow(g)
