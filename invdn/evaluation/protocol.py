"""How an output is scored: the SIDD protocol on integer images, the one scoring rule of
`invdn evaluate`, the built-in test set, the standard sets and `invdn demo`.

The output is rounded to the input's integer type first, then per image the values of
`skimage.metrics.peak_signal_noise_ratio(data_range=255)` and `structural_similarity(
channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`
(data_range 65535 for 16-bit images) are averaged over images; computed by `invdn.metrics`,
which equals those functions.
"""

from __future__ import annotations

import numpy as np

PSNR_CAP = 100.0  # identical images have infinite PSNR; JSON needs a number
SSIM_MIN_SIDE = 11  # the protocol's Gaussian SSIM window (sigma 1.5, truncated at 3.5 sigma)
PROTOCOL = ("PSNR/SSIM per image on integer-rounded outputs: skimage peak_signal_noise_ratio("
            "data_range=255) and structural_similarity(channel_axis=-1, data_range=255, "
            "gaussian_weights=True, sigma=1.5, use_sample_covariance=False), averaged "
            "(data_range 65535 for 16-bit images; PSNR capped at 100 dB)")


def block_metrics(denoised: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    """(PSNR dB, SSIM) of `(H, W, C)` integer images under the protocol above, computed by
    `invdn.metrics` (equal to scikit-image's functions to ~1e-15; `tests/test_metrics.py`)."""
    import torch

    from invdn.metrics import psnr, ssim

    data_range = float(np.iinfo(clean.dtype).max)
    if np.array_equal(denoised, clean):
        return PSNR_CAP, 1.0
    if denoised.shape != clean.shape:
        raise ValueError(f"denoised {denoised.shape} and clean {clean.shape} differ in shape")
    pred, target = (torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].double()
                    for a in (denoised, clean))
    return (min(float(psnr(pred, target, data_range)), PSNR_CAP),
            float(ssim(pred, target, data_range)))
