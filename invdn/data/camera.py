"""Camera-like noise: the unprocessing pipeline of Brooks et al., "Unprocessing Images for Learned
Raw Denoising" (CVPR 2019), in torch.

A clean sRGB image `x` (`(B, 3, H, W)` float in [0, 1]) is turned into camera raw
(`unprocess`): inverse tone curve (smoothstep) → inverse gamma (2.2) → sRGB→camera colour matrix
(a random convex mix of four cameras' XYZ→camera matrices, rows normalised) → inverse white
balance and digital gain with the paper's highlight-preserving "safe" gains → clip to [0, 1].
Its RGGB Bayer mosaic gets shot + read noise, variance `shot·raw + read`, with the paper's
log-linear sensor relation: log shot ~ U(log 1e-4, log 1.2e-2), log read = 2.18·log shot + 1.20
+ N(0, 0.26). `process` then runs the camera's forward pipeline: white balance → clip →
demosaic → camera→sRGB matrix → clip → gamma → tone curve.

The clean image goes through the same forward pipeline without noise, and the noisy output is
`x + process(noisy mosaic) − process(clean mosaic)`, so clean and noisy differ only by the
processed noise: demosaicing and clipping artefacts of the signal itself cancel, and with zero
noise the output is `x` exactly. The forward white balance divides by the same per-pixel safe
gains the inverse applied (the paper's forward pass uses the plain gains, which saturates
near-white pixels), so `process_rgb(unprocess(x)) == x` up to float32 rounding (≤ 1e-4 measured,
`tests/test_data_camera.py`) wherever the camera-space colour was not clipped, i.e. except
for colours outside the random camera's gamut.

The noise is signal dependent (shot term, then gamma), spatially correlated (demosaicing
interpolates it) and channel correlated (the colour matrix mixes the raw channels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from invdn.errors import InvdnError

# XYZ → camera matrices of four cameras, and linear sRGB → XYZ (D65), as in the paper's code.
XYZ2CAMS = torch.tensor([
    [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
    [[0.4913, -0.0541, -0.0202], [-0.6130, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
    [[0.8380, -0.2630, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
    [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.0970, 0.1581, 0.5181]],
], dtype=torch.float64)
RGB2XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
SHOT_RANGE = (1e-4, 1.2e-2)                  # the paper's shot-noise range (variance per unit)
READ_SLOPE, READ_OFFSET, READ_STD = 2.18, 1.20, 0.26   # log read = 2.18 log shot + 1.20 + N(0, .26)
GAMMA = 2.2
INFLECTION = 0.9                             # safe gains: highlights above this gray keep gain ~1
DEMOSAIC_METHODS = ("bilinear", "opencv", "opencv_ea", "kornia")


@dataclass(frozen=True)
class CameraParams:
    """One draw of the camera per image; every field has a leading batch dimension `B`."""

    rgb2cam: torch.Tensor    # (B, 3, 3) linear sRGB → camera RGB, rows sum to 1
    rgb_gain: torch.Tensor   # (B,) digital gain (the paper's 1 / N(0.8, 0.1))
    red_gain: torch.Tensor   # (B,) white-balance gain of red, U(1.9, 2.4)
    blue_gain: torch.Tensor  # (B,) white-balance gain of blue, U(1.5, 1.9)
    shot: torch.Tensor       # (B,) shot-noise variance per unit of raw signal
    read: torch.Tensor       # (B,) read-noise variance

    def as_dict(self) -> dict[str, list]:
        """Plain lists (for JSON records)."""
        return {k: getattr(self, k).tolist() for k in self.__dataclass_fields__}


def draw_params(n: int, shot: tuple[float, float] = SHOT_RANGE,
                generator: torch.Generator | None = None,
                device: torch.device | str = "cpu") -> CameraParams:
    """`n` random cameras as in the paper; `shot` is the log-uniform range of the shot variance
    (a fixed value when lo == hi; 0 switches the noise off, read noise included)."""
    g = dict(generator=generator, device=device)
    weights = torch.rand(n, len(XYZ2CAMS), 1, 1, **g).double() * (1e8 - 1e-8) + 1e-8
    xyz2cam = (XYZ2CAMS.to(device) * weights).sum(1) / weights.sum(1)
    rgb2cam = xyz2cam @ RGB2XYZ.to(device)
    rgb2cam = rgb2cam / rgb2cam.sum(-1, keepdim=True)
    # 1 / N(0.8, 0.1), kept away from 0 (a 4-sigma clamp; the paper leaves it unbounded)
    rgb_gain = 1.0 / (0.8 + 0.1 * torch.randn(n, **g)).clamp(0.4, 1.2)
    red_gain = 1.9 + 0.5 * torch.rand(n, **g)
    blue_gain = 1.5 + 0.4 * torch.rand(n, **g)
    lo, hi = shot
    u = torch.rand(n, **g)
    z = torch.randn(n, **g)
    if hi <= 0:
        shot_v = read_v = torch.zeros(n, device=device)
    else:
        log_shot = math.log(lo) + u * (math.log(hi) - math.log(lo)) if lo < hi \
            else torch.full((n,), math.log(lo), device=device)
        shot_v = torch.exp(log_shot)
        read_v = torch.exp(READ_SLOPE * log_shot + READ_OFFSET + READ_STD * z)
    return CameraParams(rgb2cam.float(), rgb_gain, red_gain, blue_gain, shot_v, read_v)


def _view(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _matmul(ccm: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
    """Per-image colour matrix: `(B, 3, 3)` × `(B, 3, H, W)`."""
    return torch.einsum("bij,bjhw->bihw", ccm.to(img.dtype), img)


def smoothstep(x: torch.Tensor) -> torch.Tensor:
    """The paper's global tone curve, 3x² − 2x³ on [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def inverse_smoothstep(y: torch.Tensor) -> torch.Tensor:
    """Exact inverse of `smoothstep` on [0, 1]."""
    y = y.clamp(0.0, 1.0)
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * y) / 3.0)


def _wb_gains(p: CameraParams, dtype: torch.dtype) -> torch.Tensor:
    """Forward white balance × digital gain per channel, `(B, 3, 1, 1)`."""
    ones = torch.ones_like(p.red_gain)
    return (torch.stack([p.red_gain, ones, p.blue_gain], 1) * p.rgb_gain[:, None]
            ).to(dtype)[..., None, None]


def unprocess(x: torch.Tensor, p: CameraParams) -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB `(B, 3, H, W)` in [0, 1] → (camera raw RGB in [0, 1], forward white-balance gain
    map), both `(B, 3, H, W)`. The gain map is 1 / the safe inverse gains per pixel."""
    lin = inverse_smoothstep(x).clamp(min=1e-8) ** GAMMA
    cam = _matmul(p.rgb2cam, lin)
    inv = 1.0 / _wb_gains(p, x.dtype)
    gray = cam.mean(1, keepdim=True)
    mask = ((gray - INFLECTION).clamp(min=0.0) / (1.0 - INFLECTION)) ** 2
    safe = torch.maximum(mask + (1.0 - mask) * inv, inv)
    return (cam * safe).clamp(0.0, 1.0), 1.0 / safe


def _finish(cam: torch.Tensor, p: CameraParams) -> torch.Tensor:
    """White-balanced camera RGB → sRGB in [0, 1]: colour matrix, clip, gamma, tone curve."""
    rgb = _matmul(torch.linalg.inv(p.rgb2cam.double()).float(), cam).clamp(0.0, 1.0)
    return smoothstep(rgb.clamp(min=1e-8) ** (1.0 / GAMMA))


def process_rgb(raw: torch.Tensor, wb: torch.Tensor, p: CameraParams) -> torch.Tensor:
    """Forward pipeline on full camera RGB (no mosaic): the exact inverse of `unprocess`."""
    return _finish((raw * wb).clamp(0.0, 1.0), p)


def bayer_masks(h: int, w: int, device: torch.device | str = "cpu",
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """RGGB sampling masks `(3, H, W)`: R at (even, even), G at (even, odd) and (odd, even),
    B at (odd, odd)."""
    m = torch.zeros(3, h, w, device=device, dtype=dtype)
    m[0, 0::2, 0::2] = 1
    m[1, 0::2, 1::2] = 1
    m[1, 1::2, 0::2] = 1
    m[2, 1::2, 1::2] = 1
    return m


def mosaic(img: torch.Tensor) -> torch.Tensor:
    """`(B, 3, H, W)` → RGGB Bayer plane `(B, 1, H, W)`."""
    return (img * bayer_masks(*img.shape[-2:], img.device, img.dtype)).sum(1, keepdim=True)


_KERNEL_G = torch.tensor([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
_KERNEL_RB = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4


def _bilinear(bayer: torch.Tensor) -> torch.Tensor:
    """Bilinear demosaicing as normalised convolution (exact at the borders, any H, W)."""
    masks = bayer_masks(*bayer.shape[-2:], bayer.device, bayer.dtype)
    kernels = torch.stack([_KERNEL_RB, _KERNEL_G, _KERNEL_RB])[:, None].to(bayer)
    planes = F.conv2d(bayer * masks, kernels, padding=1, groups=3)
    weights = F.conv2d(masks[None], kernels, padding=1, groups=3)
    return planes / weights


def _opencv(bayer: torch.Tensor, code_name: str) -> torch.Tensor:
    import cv2

    # cv2 demosaics 8/16-bit only: code [-0.25, 1.25] into uint16 (noise may leave [0, 1]).
    lo, span = -0.25, 1.5
    out = []
    for plane in bayer[:, 0].detach().cpu().numpy():
        q = np.round((np.clip(plane, lo, lo + span) - lo) / span * 65535).astype(np.uint16)
        rgb = cv2.cvtColor(q, getattr(cv2, code_name)).astype(np.float32) / 65535 * span + lo
        out.append(torch.from_numpy(rgb).permute(2, 0, 1))
    return torch.stack(out).to(bayer)


def _kornia(bayer: torch.Tensor) -> torch.Tensor:
    try:
        from kornia.color import CFA, raw_to_rgb
    except ImportError:
        raise InvdnError("noise demosaic=kornia needs kornia: pip install kornia "
                         "(or use demosaic=bilinear)") from None
    # kornia names the pattern by its second row's layout (CFA.BG is R G / G B).
    return raw_to_rgb(bayer, CFA.BG)


def demosaic(bayer: torch.Tensor, method: str = "bilinear") -> torch.Tensor:
    """RGGB `(B, 1, H, W)` → `(B, 3, H, W)` with `method` (one of `DEMOSAIC_METHODS`)."""
    if method == "bilinear":
        return _bilinear(bayer)
    h, w = bayer.shape[-2:]
    if h < 4 or w < 4:
        return _bilinear(bayer)
    # OpenCV and kornia want even sizes: a 1-pixel reflection keeps the Bayer phase.
    padded = F.pad(bayer, (0, w % 2, 0, h % 2), mode="reflect") if (h % 2 or w % 2) else bayer
    if method == "opencv":
        out = _opencv(padded, "COLOR_BayerRGGB2RGB")
    elif method == "opencv_ea":
        out = _opencv(padded, "COLOR_BayerRGGB2RGB_EA")
    elif method == "kornia":
        out = _kornia(padded)
    else:
        raise InvdnError(f"noise demosaic={method!r} unknown; use one of "
                         f"{', '.join(DEMOSAIC_METHODS)}")
    return out[..., :h, :w]


def process_bayer(bayer: torch.Tensor, wb: torch.Tensor, p: CameraParams,
                  method: str = "bilinear") -> torch.Tensor:
    """Forward pipeline on an RGGB mosaic: white balance, clip, demosaic, colour, gamma, tone."""
    balanced = (bayer * mosaic(wb)).clamp(0.0, 1.0)
    return _finish(demosaic(balanced, method), p)


def add_camera_noise(x: torch.Tensor, p: CameraParams, generator: torch.Generator | None = None,
                     method: str = "bilinear", clip: bool = True) -> torch.Tensor:
    """Noisy copy of sRGB `x` `(B, 3, H, W)` in [0, 1] through camera `p` (one per image):
    `x + process(noisy mosaic) − process(clean mosaic)`, clipped to [0, 1] when `clip`."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise InvdnError(f"camera noise needs RGB images (B, 3, H, W), got {tuple(x.shape)}; "
                         "gray images must be repeated to 3 channels first")
    raw, wb = unprocess(x, p)
    bayer = mosaic(raw)
    var = _view(p.shot.to(x)) * bayer + _view(p.read.to(x))
    noise = torch.randn(bayer.shape, generator=generator, device=x.device, dtype=x.dtype)
    noisy_bayer = bayer + var.sqrt() * noise
    # the difference first: with zero noise it is exactly 0 and the output exactly x
    noisy = x + (process_bayer(noisy_bayer, wb, p, method) - process_bayer(bayer, wb, p, method))
    return noisy.clamp(0.0, 1.0) if clip else noisy
