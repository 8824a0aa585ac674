"""PSNR and SSIM in torch (any device), equal to scikit-image's SIDD protocol.

`psnr` matches `skimage.metrics.peak_signal_noise_ratio(data_range=255)` and `ssim` matches
`structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
channel_axis=-1, data_range=255)` on uint8 images (to float rounding). Inputs are
`(B, C, H, W)` tensors holding values in `[0, data_range]`; results are one value per image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def to_uint8_levels(x: Tensor) -> Tensor:
    """`(…)` float in [0, 1] → the same float tensor rounded to the 256 uint8 levels 0…255
    (clipped, round half up — the rounding `invdn.imageio.from_float` writes files with)."""
    return torch.floor(x.clamp(0.0, 1.0) * 255.0 + 0.5)


def _metric_dtype(x: Tensor) -> torch.dtype:
    # float64 keeps SSIM's E[x²] − E[x]² exact enough on 0…255 values; MPS has no float64.
    return torch.float32 if x.device.type == "mps" else torch.float64


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")


def psnr(pred: Tensor, target: Tensor, data_range: float = 255.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, `(B,)`; inf where the images are equal."""
    _check_pair(pred, target)
    dtype = _metric_dtype(pred)
    mse = (pred.to(dtype) - target.to(dtype)).square().flatten(1).mean(dim=1)
    return 10 * torch.log10(data_range**2 / mse)


def gaussian_window(sigma: float = 1.5, truncate: float = 3.5) -> Tensor:
    """1-D Gaussian weights as `scipy.ndimage.gaussian_filter` uses them (radius
    `int(truncate·sigma + 0.5)`, normalised to sum 1), float64."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _filter(x: Tensor, window: Tensor) -> Tensor:
    """Separable 'valid' Gaussian filter on `(N, 1, H, W)`."""
    k = window.numel()
    x = F.conv2d(x, window.view(1, 1, k, 1))
    return F.conv2d(x, window.view(1, 1, 1, k))


def ssim(
    pred: Tensor,
    target: Tensor,
    data_range: float = 255.0,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> Tensor:
    """Structural similarity per image, `(B,)`, averaged over channels.

    scikit-image filters the whole image and then drops a border of the window radius before
    averaging, so only windows fully inside the image count: a 'valid' convolution gives
    exactly those values whatever padding mode skimage uses.
    """
    _check_pair(pred, target)
    dtype = _metric_dtype(pred)
    window = gaussian_window(sigma).to(device=pred.device, dtype=dtype)
    b, c, h, w = pred.shape
    if min(h, w) < window.numel():
        raise ValueError(f"SSIM needs images of at least {window.numel()}x{window.numel()} "
                         f"pixels, got {h}x{w}")
    x = pred.to(dtype).reshape(b * c, 1, h, w)
    y = target.to(dtype).reshape(b * c, 1, h, w)
    mx, my = _filter(x, window), _filter(y, window)
    vx = _filter(x * x, window) - mx * mx
    vy = _filter(y * y, window) - my * my
    cxy = _filter(x * y, window) - mx * my
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(b, c, -1).mean(dim=(1, 2))

