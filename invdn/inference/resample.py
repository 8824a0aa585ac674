"""New noisy realizations of a scene by resampling InvDN's latent (the paper's noise generation;
`invdn generate`, `invdn.inference.files.resample_files`).

InvDN maps a noisy image to a clean low-resolution image `lr` and a latent `z` that holds the
noise (and fine detail). Denoising is `inverse(lr, ε)`: a trained InvDN maps any ordinary draw
ε ~ N(0, I) to the same clean image, so the noise lives in the particular structure of `z`, not
in its size. A new realization therefore keeps `lr` and draws a latent with the input latent's
own statistics, per channel and per neighbourhood:

    z' = s · (μ + σ_local(z − μ) · ε)     on the resampled channels (ε ~ N(0, I))
    z' = z                                on the others (the original noise, unchanged)
    x' = inverse(lr, z')

μ is each channel's mean (over the calibration crop, below), σ_local its RMS deviation over a
`window` x `window` latent neighbourhood (so the noise keeps its dependence on brightness and
content). The inverse is far from linear in the latent's size, so the scale `s` is calibrated
once per image, on its central CALIBRATION_SIDE² crop (the same whatever the tiling), against the
input itself: the input's noise level is estimated robustly from its own first Haar level's
detail bands (2 · MAD / 0.6745) where the scene is flattest — the half of each brightness bin
with the least detail in the clean estimate x̂ — and the bins' levels are combined as a root mean
square, so that shot noise's brighter regions count. (The residual x − x̂ would miss the noise x̂
still holds.) `s` is then interpolated (log-log) on a fixed grid of calibration realizations
(their own latent draw) to give `temperature` times that level. Modes: "all" resamples all
latent channels; "high" only those descending from the first Haar level's detail bands (the
finest scale: 36 of the paper InvDN's 45 latent channels), keeping the coarser noise of the
original. `bench/generate.py` measures how well the result matches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invdn.checks import Checked, Choice, Int, Number, Rule
from invdn.errors import InvdnError
from invdn.inference.device import resolve_device
from invdn.inference.latent import LatentField, image_key
from invdn.inference.pipeline import ProgressFn
from invdn.inference.tiling import check_tiling, run_tiled
from invdn.io.images import image_to_tensor, tensor_to_image
from invdn.nn.padding import pad_to_multiple
from invdn.nn.protocol import has_latent

MODES = ("all", "high")
# separate latent streams: the clean estimate, the realizations, the scale calibration
_DENOISE_DRAW, _NOISE_DRAW, _CALIBRATION_DRAW = 0, 1, 2
# candidate latent scales s (geometric, 2^(1/4) apart), tried in the calibration
SCALES = tuple(2 ** (k / 4) for k in range(-8, 5))
CALIBRATION_SIDE = 256  # pixels; the central crop the scale is calibrated on


def robust_noise_std(residual: Tensor, intensity: Tensor | None = None, bins: int = 8,
                     flat: float = 1.0) -> Tensor:
    """Noise standard deviation of `(B, C, H, W)` `residual` (same units), from the median
    absolute value of its first Haar level's detail bands (Donoho's estimator; Haar here
    scales a detail band of white noise σ to σ / 2). Robust to sparse edges left in it.

    With `intensity` (`(B, C, H, W)`, e.g. the clean estimate) the noise may depend on
    brightness (shot noise): the estimator runs per intensity quantile bin (`bins` of equal
    pixel count) and the root mean square of the bins' levels is returned, which a single
    median over all pixels underestimates when bright and dark regions differ. `flat` < 1
    keeps only that fraction of each bin, the positions where `intensity` itself has the least
    detail, so that `residual` may be the noisy image itself: where the scene is flat, its
    detail bands hold the noise alone."""
    from invdn.nn.haar import haar_forward

    c = residual.shape[1]
    h, w = residual.shape[-2] // 2 * 2, residual.shape[-1] // 2 * 2
    details = haar_forward(residual[..., :h, :w])[:, c:]
    if intensity is None:
        return 2 * details.abs().median() / 0.6745
    level = F.avg_pool2d(intensity[..., :h, :w], 2).mean(1).flatten()  # (B·h/2·w/2,)
    rows = details.abs().permute(0, 2, 3, 1).reshape(level.numel(), -1)  # same order
    if flat < 1:  # detail energy of `intensity` per position, same order
        activity = haar_forward(intensity[..., :h, :w])[:, c:].square().sum(1).flatten()
    variances = []
    for idx in level.argsort().chunk(bins):
        if flat < 1:
            idx = idx[activity[idx].argsort()[:max(1, int(flat * len(idx)))]]
        variances.append((2 * rows[idx].median() / 0.6745).square())
    # bins hold equal pixel counts (up to one), so their levels weigh alike
    return torch.stack(variances).mean().sqrt()


def finest_scale_channels(in_channels: int, levels: int, keep: int | None = None) -> list[int]:
    """Latent channel indices (0-based, within the latent, which starts after the `keep`
    kept channels; default `in_channels`) that descend from the detail bands of the first Haar
    level. Haar squeeze at each level maps channel j of C to channels j, C+j, 2C+j, 3C+j (LL
    first); a channel keeps the finest detail level among its ancestors."""
    keep = in_channels if keep is None else keep
    origin: list[int | None] = [None] * in_channels  # None: still the low-pass image
    for level in range(1, levels + 1):
        origin = [o if o is not None else (None if k == 0 else level)
                  for k in range(4) for o in origin]
    return [i - keep for i, o in enumerate(origin) if o == 1 and i >= keep]


@dataclass(frozen=True)
class ResampleOptions(Checked):
    """`count` realizations, `mode` 'all'|'high', `temperature` the generated noise level
    relative to the input's estimated level (0: no new noise),
    `window` (latent pixels) for the local noise strength, `samples` latent draws averaged for
    the clean estimate, `seed`, `tile`/`overlap` as in denoising."""

    count: int = 4
    mode: str = "all"
    temperature: float = 1.0
    window: int = 5
    samples: int = 4
    seed: int = 0
    tile: int = 512
    overlap: int = 32

    # signs of tile and overlap only; LatentResampler checks the pair with the network's size
    # multiple
    RULES: ClassVar[dict[str, Rule]] = {
        "count": Int(1, noun=""), "samples": Int(1, noun=""), "mode": Choice(MODES),
        "temperature": Number(at_least=0, noun=""), "window": Int(1, odd=True),
        "seed": Int(0, noun=""), "tile": Int(0, noun="", fix=" (0 disables tiling)"),
        "overlap": Int(0, noun=""),
    }


def interpolate_scale(scales: Sequence[float], levels: Sequence[float], target: float) -> float:
    """The latent scale whose noise level is `target`, from `levels` measured at the increasing
    `scales`: log-log linear interpolation between the first pair of neighbours that brackets
    the target (the grid is 19 % coarse, too coarse to pick from), else the closest grid point."""
    logs, t = [math.log(v) for v in levels], math.log(target)
    for i in range(len(scales) - 1):
        lo, hi = logs[i], logs[i + 1]
        if min(lo, hi) <= t <= max(lo, hi) and lo != hi:
            a = (t - lo) / (hi - lo)
            return math.exp((1 - a) * math.log(scales[i]) + a * math.log(scales[i + 1]))
    return scales[int(np.argmin([abs(v - t) for v in logs]))]


class LatentResampler:
    """An InvDN model ready to produce noisy realizations of images by resampling its latent."""

    def __init__(self, model: nn.Module, options: ResampleOptions | None = None,
                 device: str | torch.device = "auto") -> None:
        if not has_latent(model):
            raise InvdnError(f"noise generation needs an InvDN model; {type(model).__name__} "
                             "has no latent")
        self.options = options or ResampleOptions()
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = model.eval().to(self.device)
        self.multiple = model.multiple
        self.tile, self.overlap = check_tiling(self.options.tile, self.options.overlap,
                                               self.multiple)
        mask = torch.zeros(model.latent_channels, dtype=torch.bool)
        if self.options.mode == "all":
            mask[:] = True
        else:
            mask[finest_scale_channels(model.in_channels, model.levels,
                                       getattr(model, "keep", None))] = True
        self.mask = mask.to(self.device)[None, :, None, None]

    def _split(self, patch: Tensor, draw, mu: Tensor | None = None
               ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """lr, z, clean estimate, the latent's channel means μ (the patch's own unless given)
        and local RMS deviation σ of a patch."""
        o = self.options
        lr, z = self.model(patch)
        clean = sum(self.model.inverse(lr, draw(_DENOISE_DRAW, k))
                    for k in range(o.samples)) / o.samples
        if mu is None:
            mu = z.mean(dim=(2, 3), keepdim=True)
        sigma = F.avg_pool2d((z - mu).square(), o.window, stride=1, padding=o.window // 2,
                             count_include_pad=False).sqrt()
        return lr, z, clean.clamp(0, 1), mu, sigma

    def _realize(self, lr: Tensor, z: Tensor, mu: Tensor, sigma: Tensor, eps: Tensor,
                 scale: float) -> Tensor:
        fresh = scale * (mu + sigma * eps)
        return self.model.inverse(lr, torch.where(self.mask, fresh, z)).clamp(0, 1)

    def _calibrate(self, padded: Tensor, field: LatentField) -> tuple[float, Tensor]:
        """On the central crop: the latent's channel means μ `(1, C, 1, 1)`, and the scale
        whose realization has the noise level closest to `temperature` x the input's own
        (0.0 when temperature is 0)."""
        o, m = self.options, self.multiple
        h, w = padded.shape[-2:]
        ch, cw = (min(CALIBRATION_SIDE // m * m, size) for size in (h, w))
        y0, x0 = (h - ch) // 2 // m * m, (w - cw) // 2 // m * m
        region = (y0 // m, x0 // m, ch // m, cw // m)

        def draw(stream: int, k: int) -> Tensor:
            return field.region(*region, draw=(stream, k)).to(self.device)

        patch = padded[..., y0:y0 + ch, x0:x0 + cw].to(self.device)
        lr, z, clean, mu, sigma = self._split(patch, draw)
        if o.temperature == 0:
            return 0.0, mu
        # the input's noise from its own flattest half (per brightness bin): the residual
        # around the clean estimate misses the noise the estimate still holds
        target = max(float(o.temperature * robust_noise_std(patch, clean, flat=0.5)), 1e-8)
        eps = draw(_CALIBRATION_DRAW, 0)
        levels = [max(float((self._realize(lr, z, mu, sigma, eps, s) - clean).std()), 1e-8)
                  for s in SCALES]
        return interpolate_scale(SCALES, levels, target), mu

    @torch.no_grad()
    def resample_tensor(self, x: Tensor, key: tuple[int, ...] = (),
                        progress: ProgressFn | None = None) -> tuple[Tensor, Tensor]:
        """Noisy `(1, 3, H, W)` in [0, 1] → (clean estimate `(1, 3, H, W)`, realizations
        `(count, 3, H, W)`), CPU, clamped to [0, 1]. The calibrated scale is left in
        `self.scale`."""
        o, m = self.options, self.multiple
        padded, (h, w) = pad_to_multiple(x, m)
        field = LatentField(self.model.latent_channels, o.seed, key)
        scale, mu = self._calibrate(padded, field)
        self.scale = scale

        def tile_fn(patch: Tensor, y0: int, x0: int) -> Tensor:
            region = (y0 // m, x0 // m, patch.shape[-2] // m, patch.shape[-1] // m)

            def draw(stream: int, k: int) -> Tensor:
                return field.region(*region, draw=(stream, k)).to(self.device)

            lr, z, clean, _, sigma = self._split(patch.to(self.device), draw, mu)
            outs = [clean] + [self._realize(lr, z, mu, sigma, draw(_NOISE_DRAW, r), scale)
                              for r in range(o.count)]
            return torch.cat(outs, dim=1).cpu()

        out = run_tiled(padded, tile_fn, self.tile, self.overlap, m, progress)[..., :h, :w]
        return out[:, :3], out[0, 3:].reshape(o.count, 3, h, w)

    def __call__(self, img: np.ndarray, progress: ProgressFn | None = None
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`(H, W, C)` uint8/uint16 image → (clean estimate, `count` noisy realizations), each
        shaped and typed like `img` (gray back to gray, alpha passed through)."""
        x = image_to_tensor(img)
        clean, realizations = self.resample_tensor(x, image_key(img[:, :, :3]), progress)
        return (tensor_to_image(clean, img),
                [tensor_to_image(r[None], img) for r in realizations])


def noise_statistics(noisy: np.ndarray, clean: np.ndarray, generated: list[np.ndarray],
                     bins: int = 16, min_pixels: int = 50) -> dict[str, Any]:
    """Compare the original noise (noisy − clean) with the generated (generated − clean).

    Values in 8-bit levels (0-255 scale whatever the bit depth): per-channel noise std, noise
    std per intensity bin of the clean estimate (bins with fewer than `min_pixels` pixels are
    left out), and the correlation of each realization's noise with the original noise."""
    top = float(np.iinfo(noisy.dtype).max)
    channels = min(noisy.shape[2], 3)

    def scaled(a: np.ndarray) -> np.ndarray:
        return a[:, :, :channels].astype(np.float64) * (255.0 / top)

    ref = scaled(clean)
    orig = scaled(noisy) - ref
    gens = [scaled(g) - ref for g in generated]
    edges = np.linspace(0, 255, bins + 1)
    which = np.clip(np.digitize(ref, edges) - 1, 0, bins - 1)

    def per_bin(noise_list: list[np.ndarray]) -> list[list[float | None]]:
        curves = []
        for c in range(channels):
            curve = []
            for b in range(bins):
                sel = which[:, :, c] == b
                vals = np.concatenate([n[:, :, c][sel] for n in noise_list])
                curve.append(float(vals.std()) if sel.sum() >= min_pixels else None)
            curves.append(curve)
        return curves

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
        denom = np.sqrt((a * a).sum() * (b * b).sum())
        return float((a * b).sum() / denom) if denom > 0 else 0.0

    return {
        "units": "8-bit levels",
        "channels": ["R", "G", "B"][:channels] if channels == 3 else ["gray"],
        "std_original": [float(orig[:, :, c].std()) for c in range(channels)],
        "std_generated": [float(np.mean([g[:, :, c].std() for g in gens]))
                          for c in range(channels)],
        "intensity_bin_centers": [float(v) for v in (edges[:-1] + edges[1:]) / 2],
        "std_vs_intensity_original": per_bin([orig]),
        "std_vs_intensity_generated": per_bin(gens),
        "correlation_with_original": [corr(g, orig) for g in gens],
        "correlation_between_realizations": (corr(gens[0], gens[1]) if len(gens) > 1
                                             else None),
    }


def plot_noise(stats: dict[str, Any], title: str):
    """Noise std vs intensity, original (solid) vs generated (dashed), per channel: a figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"R": "tab:red", "G": "tab:green", "B": "tab:blue", "gray": "black"}
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    x = stats["intensity_bin_centers"]
    for c, name in enumerate(stats["channels"]):
        for key, style, label in (("std_vs_intensity_original", "-", "original"),
                                  ("std_vs_intensity_generated", "--", "generated")):
            pts = [(xi, yi) for xi, yi in zip(x, stats[key][c], strict=True) if yi is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), style, color=colors[name], marker=".",
                        label=f"{name} {label}")
    ax.set_xlabel("intensity of the clean estimate (8-bit levels)")
    ax.set_ylabel("noise std (8-bit levels)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
