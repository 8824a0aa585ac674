"""What saving a noisy photograph does to its noise: clipping, 8-bit rounding, JPEG.

Noise models (`invdn.data.noise`) return float images; a user's file is 8-bit, and most photos
are JPEGs whose encoder subsamples the chroma 2×2 (4:2:0) and quantises the DCT coefficients.
That smooths the colour noise into 2×2 blobs and turns fine luminance noise into blocky
patterns, so a denoiser trained on float noise alone leaves a noisy JPEG as it is. These
functions put a training patch through the same steps.

Images are float tensors `(C, H, W)` (C = 1 or 3) in [0, 1]; results have the same shape and
dtype. JPEG uses OpenCV's libjpeg (the encoder most tools share) with an explicit chroma
subsampling.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from invdn.errors import InvdnError

SUBSAMPLING = {"420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
               "422": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
               "444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444}


def quantize(x: torch.Tensor) -> torch.Tensor:
    """`x` clipped to [0, 1] and rounded to the 256 levels of an 8-bit file."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def jpeg_roundtrip(x: torch.Tensor, quality: int, subsampling: str = "420") -> torch.Tensor:
    """`(C, H, W)` float `x` (C = 1 gray or 3 RGB) saved as a JPEG of `quality` (1–100) with
    chroma `subsampling` ('420', '422' or '444'; gray has no chroma) and read back."""
    if x.dim() != 3 or x.shape[0] not in (1, 3):
        raise InvdnError(f"JPEG needs a (1 or 3, H, W) image, got {tuple(x.shape)}")
    if subsampling not in SUBSAMPLING:
        raise InvdnError(f"JPEG subsampling {subsampling!r} unknown; use one of "
                         f"{', '.join(SUBSAMPLING)}")
    if not 1 <= int(quality) <= 100:
        raise InvdnError(f"JPEG quality {quality} must be in 1..100")
    levels = (quantize(x) * 255.0).to(torch.uint8).permute(1, 2, 0).numpy()
    if levels.shape[2] == 3:
        levels = levels[:, :, ::-1]  # OpenCV stores BGR
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality),
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, SUBSAMPLING[subsampling]]
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(levels), params)
    if not ok:
        raise InvdnError("the JPEG encoder failed on a training patch")
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    else:
        decoded = decoded[:, :, ::-1]
    out = torch.from_numpy(np.ascontiguousarray(decoded)).permute(2, 0, 1)
    return out.to(x.dtype) / 255.0


class SavedAsJpeg:
    """A noise model whose noisy output is then saved as a JPEG of `quality` with chroma
    `subsampling`: `(C, H, W)` or `(B, C, H, W)` float → same shape, on the 8-bit levels."""

    def __init__(self, noise, quality: int = 95, subsampling: str = "420") -> None:
        self.noise, self.quality, self.subsampling = noise, quality, subsampling

    def __repr__(self) -> str:
        return (f"SavedAsJpeg({self.noise!r}, quality={self.quality}, "
                f"subsampling={self.subsampling!r})")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noisy = self.noise(x, generator)
        if noisy.dim() == 3:
            return jpeg_roundtrip(noisy, self.quality, self.subsampling)
        return torch.stack([jpeg_roundtrip(n, self.quality, self.subsampling) for n in noisy])


__all__ = ["SUBSAMPLING", "SavedAsJpeg", "jpeg_roundtrip", "quantize"]
