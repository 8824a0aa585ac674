"""PSNR and SSIM in torch (any device), equal to scikit-image's SIDD protocol; the one SSIM of
the project (validation, `invdn evaluate` and the SSIM loss all call :func:`ssim_map`).

`psnr` matches `skimage.metrics.peak_signal_noise_ratio(data_range=255)` and `ssim` matches
`structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
channel_axis=-1, data_range=255)` on uint8 images (to float rounding, ~1e-15 in float64;
`tests/test_metrics.py`). Inputs are `(B, C, H, W)` tensors holding values in
`[0, data_range]`; results are one value per image.
"""

from __future__ import annotations

import kornia
import torch
from torch import Tensor

from invdn.io.images import round_levels

#: scikit-image's Gaussian SSIM window for sigma 1.5: radius int(3.5·1.5 + 0.5) = 5. kornia's
#: window is the same sampled Gaussian (sigma fixed at 1.5), so the two agree.
SSIM_WINDOW = 11


def to_uint8_levels(x: Tensor) -> Tensor:
    """`(…)` float in [0, 1] → the same float tensor rounded to the 256 uint8 levels 0…255
    (clipped, round half up — `invdn.io.images.round_levels`, the rounding files are written
    with)."""
    return round_levels(x, 255)


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


def ssim_map(pred: Tensor, target: Tensor, data_range: float, padding: str = "valid",
             eps: float = 0.0, window_size: int = SSIM_WINDOW) -> Tensor:
    """Per-pixel SSIM `(B, C, H', W')` with a Gaussian window (sigma 1.5), differentiable, in
    the inputs' dtype: kornia's `metrics.ssim`.

    `padding='valid'` keeps only windows fully inside the image (H' = H − window + 1): the
    pixels scikit-image averages, whatever its padding mode. `'same'` (reflect-padded, H' = H)
    is what the training loss has always used. `eps` is added to the denominator (0 for the
    protocol; the loss keeps kornia's default 1e-12)."""
    return kornia.metrics.ssim(pred, target, window_size, max_val=float(data_range), eps=eps,
                               padding=padding)


def ssim(pred: Tensor, target: Tensor, data_range: float = 255.0) -> Tensor:
    """Structural similarity per image, `(B,)`, averaged over channels and 'valid' pixels,
    computed in float64 (float32 on MPS)."""
    _check_pair(pred, target)
    h, w = pred.shape[-2:]
    if min(h, w) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} "
                         f"pixels, got {h}x{w}")
    dtype = _metric_dtype(pred)
    return ssim_map(pred.to(dtype), target.to(dtype), data_range).flatten(1).mean(dim=1)
