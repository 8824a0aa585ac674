"""New noisy realizations of a scene by resampling InvDN's latent (the paper's noise generation).

InvDN maps a noisy image to a clean low-resolution image `lr` and a latent `z` holding noise and
fine detail. To separate the two, the image is first denoised (`x̂ = inverse(lr, ε)`, averaged
over latent draws) and sent forward again: its latent `z_c` holds the detail alone, so
`n = z − z_c` is the noise as the network represents it. A new realization keeps `lr`, `z_c` and
the noise's local strength, and draws the noise anew:

    z' = z_c + T · σ_local(n) · ε      on the resampled channels (ε ~ N(0, I))
    z' = z_c + n                       on the others (the original noise, unchanged)
    x' = inverse(lr, z')

σ_local is the per-channel RMS of n over a `window` x `window` latent neighbourhood, so the
noise keeps its dependence on brightness and content. Modes: "all" resamples all latent
channels; "high" only those descending from the first Haar level's detail bands (the finest
scale: 36 of InvDN's 45), keeping the coarser noise of the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invdn.errors import InvdnError
from invdn.inference.device import resolve_device
from invdn.inference.latent import LatentField, image_key
from invdn.inference.pipeline import ProgressFn, has_latent, image_to_tensor, tensor_to_image
from invdn.inference.tiling import check_tiling, run_tiled
from invdn.padding import pad_to_multiple

MODES = ("all", "high")
_DENOISE_DRAW, _NOISE_DRAW = 0, 1  # separate latent streams for the clean estimate and the noise


def finest_scale_channels(in_channels: int, levels: int) -> list[int]:
    """Latent channel indices (0-based, within the latent) that descend from the detail bands
    of the first Haar level. Haar squeeze at each level maps channel j of C to channels
    j, C+j, 2C+j, 3C+j (LL first); a channel keeps the finest detail level among its
    ancestors."""
    origin: list[int | None] = [None] * in_channels  # None: still the low-pass image
    for level in range(1, levels + 1):
        origin = [o if o is not None else (None if k == 0 else level)
                  for k in range(4) for o in origin]
    return [i - in_channels for i, o in enumerate(origin) if o == 1]


@dataclass(frozen=True)
class GenerateOptions:
    """`count` realizations, `mode` 'all'|'high', `temperature` scales the drawn noise,
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

    def __post_init__(self) -> None:
        if self.count < 1 or self.samples < 1:
            raise InvdnError(f"--count and --samples must be >= 1, got {self.count}, "
                             f"{self.samples}")
        if self.mode not in MODES:
            raise InvdnError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.temperature < 0:
            raise InvdnError(f"--temperature must be >= 0, got {self.temperature}")
        if self.window < 1 or self.window % 2 == 0:
            raise InvdnError(f"--window must be an odd number >= 1, got {self.window}")
        if self.seed < 0:
            raise InvdnError(f"--seed must be >= 0, got {self.seed}")
        if self.tile < 0 or self.overlap < 0 or (self.tile and 2 * self.overlap > self.tile):
            raise InvdnError(f"--tile {self.tile} / --overlap {self.overlap}: need tile >= 0 "
                             "and overlap <= tile / 2")


class NoiseGenerator:
    """An InvDN model ready to produce noisy realizations of images."""

    def __init__(self, model: nn.Module, options: GenerateOptions | None = None,
                 device: str | torch.device = "auto") -> None:
        if not has_latent(model):
            raise InvdnError(f"noise generation needs an InvDN model; {type(model).__name__} "
                             "has no latent")
        self.options = options or GenerateOptions()
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = model.eval().to(self.device)
        self.multiple = model.multiple
        self.tile, self.overlap = check_tiling(self.options.tile, self.options.overlap,
                                               self.multiple)
        mask = torch.zeros(model.latent_channels, dtype=torch.bool)
        if self.options.mode == "all":
            mask[:] = True
        else:
            mask[finest_scale_channels(model.in_channels, model.levels)] = True
        self.mask = mask.to(self.device)[None, :, None, None]

    @torch.no_grad()
    def generate_tensor(self, x: Tensor, key: tuple[int, ...] = (),
                        progress: ProgressFn | None = None) -> tuple[Tensor, Tensor]:
        """Noisy `(1, 3, H, W)` in [0, 1] → (clean estimate `(1, 3, H, W)`, realizations
        `(count, 3, H, W)`), CPU, clamped to [0, 1]."""
        o, m = self.options, self.multiple
        padded, (h, w) = pad_to_multiple(x, m)
        field = LatentField(self.model.latent_channels, o.seed, key)

        def tile_fn(patch: Tensor, y0: int, x0: int) -> Tensor:
            region = (y0 // m, x0 // m, patch.shape[-2] // m, patch.shape[-1] // m)

            def draw(stream: int, k: int) -> Tensor:
                return field.region(*region, draw=(stream, k)).to(self.device)

            lr, z = self.model(patch.to(self.device))
            clean = sum(self.model.inverse(lr, draw(_DENOISE_DRAW, k))
                        for k in range(o.samples)) / o.samples
            clean = clean.clamp(0, 1)
            _, z_clean = self.model(clean)
            noise = z - z_clean
            sigma = F.avg_pool2d(noise.square(), o.window, stride=1, padding=o.window // 2,
                                 count_include_pad=False).sqrt()
            outs = [clean]
            for r in range(o.count):
                fresh = o.temperature * sigma * draw(_NOISE_DRAW, r)
                outs.append(self.model.inverse(lr, z_clean + torch.where(self.mask, fresh,
                                                                         noise)).clamp(0, 1))
            return torch.cat(outs, dim=1).cpu()

        out = run_tiled(padded, tile_fn, self.tile, self.overlap, m, progress)[..., :h, :w]
        return out[:, :3], out[0, 3:].reshape(o.count, 3, h, w)

    def __call__(self, img: np.ndarray, progress: ProgressFn | None = None
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`(H, W, C)` uint8/uint16 image → (clean estimate, `count` noisy realizations), each
        shaped and typed like `img` (gray back to gray, alpha passed through)."""
        x = image_to_tensor(img)
        clean, realizations = self.generate_tensor(x, image_key(img[:, :, :3]), progress)
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
