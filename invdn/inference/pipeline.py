"""Denoising whole images with a model: padding, tiling, latent draws, self-ensemble, formats.

For InvDN the latent of every pass comes from a :class:`~invdn.inference.latent.LatentField`
keyed by the seed and the image's pixels, so a seed reproduces an output exactly, whatever the
tiling, the file order or the device. Models without a latent (DANet) are run as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from invdn.checks import Checked, Choice, Int, Rule
from invdn.errors import InvdnError
from invdn.inference.device import PRECISIONS, resolve_device, resolve_precision
from invdn.inference.latent import LatentField, image_key
from invdn.inference.tiling import check_tile_work, check_tiling, run_tiled
from invdn.io.images import gray_from_rgb, image_to_tensor, tensor_to_image
from invdn.nn.padding import pad_to_multiple
from invdn.nn.protocol import has_latent
from invdn.timing import Stopwatch

ProgressFn = Callable[[list], Iterable]
CheckpointFn = Callable[[], None]  # called before every network pass; raises to stop the work


@dataclass(frozen=True)
class DenoiseOptions(Checked):
    """How to denoise: `samples` latent draws averaged (InvDN's MC self-ensemble),
    `self_ensemble` averages the 8 flips/transposes, `tile`/`overlap` in pixels (tile 0: whole
    image at once), `seed` ≥ 0 picks the latent draws, `precision` 'auto' | 'bf16' | 'fp32' the
    convolutions' dtype (auto: bf16 for InvDN where the device computes bf16 natively, see
    :func:`invdn.inference.device.resolve_precision`; float32 otherwise)."""

    samples: int = 1
    self_ensemble: bool = False
    tile: int = 512
    overlap: int = 32
    seed: int = 0
    precision: str = "auto"

    # The signs of tile and overlap only: whether they fit together depends on the network's
    # size multiple, which Denoiser checks (checking overlap <= tile / 2 here blamed the default
    # overlap for a tile like 3 that is no multiple of 4).
    RULES: ClassVar[dict[str, Rule]] = {
        "samples": Int(1, noun=""), "seed": Int(0, noun=""),
        "tile": Int(0, noun="", fix=" (0 disables tiling)"), "overlap": Int(0, noun=""),
        "precision": Choice(PRECISIONS),
    }


# Timed probe runs further apart than this (slowest / fastest) mean a machine too busy for its
# speed to predict a job's: no time estimate is given then.
MAX_PROBE_SPREAD = 1.5


@dataclass(frozen=True)
class WorkEstimate:
    """The work of a batch: `images`, `megapixels` processed (tile overlap included), `tiles`,
    `passes` per pixel, and where measured `rate` s/MP on `device`, the `spread` of the timed
    probe runs (slowest / fastest) and `seconds`, the estimate: None when not measured or when
    the spread is above MAX_PROBE_SPREAD (an estimate the measurement cannot back)."""

    images: int
    megapixels: float
    tiles: int
    passes: float
    seconds: float | None = None
    rate: float | None = None
    device: str = "cpu"
    spread: float | None = None

    @property
    def measured(self) -> bool:
        return self.rate is not None

    def describe(self) -> str:
        """One line for the user, e.g. 'work: 3 images, 37.7 MP in 84 tiles …'."""
        line = (f"work: {self.images} image{'s' * (self.images != 1)}, "
                f"{self.megapixels:.1f} MP in {self.tiles:,} tiles, x{self.passes:g} passes")
        if self.seconds is None and self.rate is not None:
            line += (f"; no time estimate: the speed of {self.device} varied {self.spread:.1f}x "
                     "while it was measured (a busy machine)")
        if self.seconds is not None:
            minutes = self.seconds / 60
            took = f"{minutes:.0f} min" if minutes >= 1 else f"{self.seconds:.0f} s"
            line += (f"; about {took} on {self.device} ({self.rate:.1f} s/MP measured here on a "
                     "warmed-up model at the tile size)")
        return line


def geometric(x: Tensor, t: int) -> Tensor:
    """The t-th of the 8 flips/transposes (bit 0: flip W, bit 1: flip H, bit 2: transpose)."""
    if t & 1:
        x = x.flip(-1)
    if t & 2:
        x = x.flip(-2)
    return x.transpose(-2, -1) if t & 4 else x


def geometric_inverse(x: Tensor, t: int) -> Tensor:
    """Undo :func:`geometric` with the same `t`."""
    if t & 4:
        x = x.transpose(-2, -1)
    if t & 2:
        x = x.flip(-2)
    return x.flip(-1) if t & 1 else x


class Denoiser:
    """A model, options and device, ready to denoise tensors or image arrays."""

    def __init__(self, model: nn.Module, options: DenoiseOptions | None = None,
                 device: str | torch.device = "auto") -> None:
        self.options = options or DenoiseOptions()
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = model.eval().to(self.device)
        self.multiple = int(getattr(model, "multiple", 1))
        self.latent = has_latent(model)
        self.tile, self.overlap = check_tiling(self.options.tile, self.options.overlap,
                                               self.multiple)
        self.dtype = model_precision(model, self.options.precision, self.device)

    def _precision(self):
        """The context the network runs in: bf16 autocast (InvDN's fast path then keeps its
        coupling arithmetic in float32) or nothing."""
        return torch.autocast(self.device.type, dtype=self.dtype,
                              enabled=self.dtype != torch.float32)

    def _transforms(self) -> range:
        return range(8) if self.options.self_ensemble else range(1)

    @property
    def passes(self) -> float:
        """Network work per pixel in units of one denoise (forward + inverse): each transform
        runs one forward and `samples` inverses."""
        return len(self._transforms()) * (1 + self.options.samples) / 2 if self.latent else \
            len(self._transforms()) / 2

    @torch.no_grad()
    def probe_rates(self, side: int | tuple[int, int] = 512, runs: int = 2) -> list[float]:
        """Measured times of one denoise pass per megapixel on this device, on a probe of `side`
        (a size or `(height, width)`): one run to warm the model up (allocations, kernels),
        then `runs` timed ones.

        Probe at the tile size the job runs: a network call has a fixed cost besides its
        per-pixel one, which a small probe measures mostly. On the 2-core CPU with a training
        run beside it, one run measured 300 s/MP at 128² and 25 s/MP at 512² (the rate its 512
        tiles then ran at)."""
        h, w = (side, side) if isinstance(side, int) else side
        x = torch.rand((1, 3, h, w), generator=torch.Generator().manual_seed(0))
        x = x.to(self.device)
        rates = []
        for _ in range(1 + runs):
            with Stopwatch() as watch, self._precision():
                out = self.model(x)
                if self.latent:
                    out = self.model.inverse(out[0], torch.zeros_like(out[1]))
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
            rates.append(watch.seconds / (h * w / 1e6))
        return rates[1:]

    def seconds_per_megapixel(self, side: int | tuple[int, int] = 512) -> float:
        """The mean of :meth:`probe_rates`."""
        rates = self.probe_rates(side)
        return sum(rates) / len(rates)

    def plan(self, sizes: Sequence[tuple[int, int]], measure_above: float = 8.0) -> WorkEstimate:
        """The work of denoising images of `sizes` `(height, width)`, checked up front: an
        absurd tiling raises InvdnError before anything runs. When it comes to more than
        `measure_above` megapixel-passes, the device's speed is measured for a time estimate,
        on a warmed-up model and at the tile size of the largest image (at most 512² when
        untiled); when the timed runs disagree by more than MAX_PROBE_SPREAD, no estimate."""
        m = self.multiple
        megapixels, tiles, probe = 0.0, 0, (0, 0)
        for h, w in sizes:
            hp, wp = -(-h // m) * m, -(-w // m) * m
            work = check_tile_work(hp, wp, self.tile, self.overlap, m)
            megapixels += hp * wp * work.factor / 1e6
            tiles += work.tiles
            limit = self.tile or 512
            shape = (min(limit, hp), min(limit, wp))
            probe = max(probe, shape, key=lambda s: s[0] * s[1])
        units = megapixels * self.passes
        if units <= measure_above:
            return WorkEstimate(len(sizes), megapixels, tiles, self.passes, device=str(self.device))
        rates = self.probe_rates(probe)
        rate, spread = sum(rates) / len(rates), max(rates) / max(min(rates), 1e-12)
        seconds = rate * units if spread <= MAX_PROBE_SPREAD else None
        return WorkEstimate(len(sizes), megapixels, tiles, self.passes, seconds, rate,
                            str(self.device), spread)

    @torch.no_grad()
    def denoise_tensor(self, x: Tensor, key: tuple[int, ...] = (),
                       progress: ProgressFn | None = None,
                       checkpoint: CheckpointFn | None = None) -> Tensor:
        """Noisy `(1, 3, H, W)` float in [0, 1] (CPU) → denoised, same shape, CPU, not clamped.

        `key` separates the latent draws of different images under the same seed.
        `checkpoint()` is called before every network pass (one tile's forward or inverse); an
        exception it raises stops the work there (how `invdn serve` cancels a job)."""
        check = checkpoint or (lambda: None)
        padded, (h, w) = pad_to_multiple(x, self.multiple)
        field = (LatentField(self.model.latent_channels, self.options.seed, key)
                 if self.latent else None)
        m = self.multiple

        def tile_fn(patch: Tensor, y0: int, x0: int) -> Tensor:
            with self._precision():
                total = run_transforms(patch.to(self.device), y0, x0)
            return (total / len(self._transforms())).float().cpu()

        def run_transforms(patch: Tensor, y0: int, x0: int) -> Tensor:
            total = None
            for t in self._transforms():
                p = geometric(patch, t)
                check()
                if field is None:
                    out = self.model(p)
                else:
                    lr, _ = self.model(p)
                    out = None
                    for k in range(self.options.samples):
                        check()
                        z = field.region(y0 // m, x0 // m, patch.shape[-2] // m,
                                         patch.shape[-1] // m, draw=(t, k))
                        z = geometric(z, t).to(self.device, lr.dtype)
                        rec = self.model.inverse(lr, z).float()  # sums in float32
                        out = rec if out is None else out.add_(rec)
                    out = out / self.options.samples
                out = geometric_inverse(out.float(), t)
                total = out if total is None else total.add_(out)
            return total

        out = run_tiled(padded, tile_fn, self.tile, self.overlap, m, progress)
        return out[..., :h, :w]

    def denoise_float(self, x: Tensor, key: tuple[int, ...] = ()) -> Tensor:
        """Noisy `(1, C, H, W)` float, C = 1 (gray) or 3, any range (e.g. the field's
        benchmark protocol: Gaussian noise not clipped) → denoised, same shape, not clamped.
        Gray runs as RGB and is averaged back, as for gray files."""
        if x.dim() != 4 or x.shape[:2] not in ((1, 1), (1, 3)) or not x.is_floating_point():
            raise InvdnError(f"expected a (1, 1|3, H, W) float tensor, got {tuple(x.shape)} "
                             f"{x.dtype}")
        out = self.denoise_tensor(x.float().expand(1, 3, -1, -1), key)
        return gray_from_rgb(out) if x.shape[1] == 1 else out

    def __call__(self, img: np.ndarray, progress: ProgressFn | None = None,
                 checkpoint: CheckpointFn | None = None) -> np.ndarray:
        """Denoise `(H, W, C)` uint8/uint16 gray (C=1), RGB (C=3) or RGBA (C=4; alpha passed
        through) → same shape and dtype. Gray is denoised as RGB and averaged back.
        `checkpoint` as in :meth:`denoise_tensor`."""
        x = image_to_tensor(img)
        out = self.denoise_tensor(x, image_key(img[:, :, :3]), progress, checkpoint)
        del x
        return tensor_to_image(out, img)


def model_precision(model: nn.Module, precision: str, device: torch.device) -> torch.dtype:
    """The dtype `model` runs in for `precision` on `device`. 'auto' picks bf16 only for InvDN
    with resnet sub-networks (the fast path, whose float32 coupling arithmetic bench/quality.py
    measured) on bf16-native hardware; other models stay float32 unless bf16 is asked for."""
    dtype = resolve_precision(precision, device)
    if precision == "auto" and dtype != torch.float32:
        from invdn.nn.fast import supports_fast_path

        if not (has_latent(model) and hasattr(model, "layers") and supports_fast_path(model)):
            return torch.float32
    return dtype
