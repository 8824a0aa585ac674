"""Denoising whole images with a model: padding, tiling, latent draws, self-ensemble, formats.

For InvDN the latent of every pass comes from a :class:`~invdn.inference.latent.LatentField`
keyed by the seed and the image's pixels, so a seed reproduces an output exactly, whatever the
tiling, the file order or the device. Models without a latent (DANet) are run as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from invdn.checks import Checked, Choice, Int, Rule
from invdn.errors import InvdnError
from invdn.inference.device import PRECISIONS, resolve_device, resolve_precision
from invdn.inference.latent import LatentField, image_key
from invdn.inference.tiling import check_tile_work, check_tiling, fit_tile, run_tiles
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
    image at once; overlap None: what the network's measured reach needs,
    :func:`invdn.inference.context.context_overlap`), `seed` ≥ 0 picks the latent draws,
    `precision` 'auto' | 'bf16' | 'fp32' the convolutions' dtype (auto: bf16 for InvDN where
    the device computes bf16 natively, see :func:`invdn.inference.device.resolve_precision`;
    float32 otherwise)."""

    samples: int = 1
    self_ensemble: bool = False
    tile: int = 512
    overlap: int | None = None
    seed: int = 0
    precision: str = "auto"

    # The signs of tile and overlap only: whether they fit together depends on the network's
    # size multiple, which Denoiser checks (checking overlap <= tile / 2 here blamed the default
    # overlap for a tile like 3 that is no multiple of 4).
    RULES: ClassVar[dict[str, Rule]] = {
        "samples": Int(1, noun=""), "seed": Int(0, noun=""),
        "tile": Int(0, noun="", fix=" (0 disables tiling)"), "overlap": Int(0, noun="", null=True),
        "precision": Choice(PRECISIONS),
    }


# Timed network calls further apart than this (slowest / fastest) mean a machine too busy for
# its speed to predict a job's: no time estimate is given then.
MAX_PROBE_SPREAD = 1.5

# Pixels per network call that tiles are batched up to (whole tiles; a larger tile runs alone):
# on the CPU batching gains nothing measurable at 256² tiles, so only small tiles are grouped;
# on a GPU, fewer and larger calls keep it busy.
CALL_PIXELS = {"cpu": 512 * 512, "cuda": 2048 * 2048}
# What measured overlaps come to (the shipped default's: 40 px), for suggesting a tile before
# the network is measured.
TYPICAL_OVERLAP = 32


@dataclass(frozen=True)
class WorkEstimate:
    """The work of a batch: `images`, `megapixels` processed (tile overlap included), `tiles`,
    `passes` per pixel, whether a time estimate is `wanted` (large jobs), and once measured
    on the job's first network calls (:class:`RateMeter`) `rate` s/MP on `device`, the
    `spread` of the timed calls (slowest / fastest) and `seconds`, the estimate: None when not
    measured or when the spread is above MAX_PROBE_SPREAD (an estimate the measurement cannot
    back)."""

    images: int
    megapixels: float
    tiles: int
    passes: float
    seconds: float | None = None
    rate: float | None = None
    device: str = "cpu"
    spread: float | None = None
    wanted: bool = False

    @property
    def measured(self) -> bool:
        return self.rate is not None

    def measured_with(self, rates: Sequence[float]) -> WorkEstimate:
        """This work with the time estimate of the timed calls' `rates` (s/MP-pass)."""
        rate = sum(rates) / len(rates)
        spread = max(rates) / max(min(rates), 1e-12)
        seconds = rate * self.megapixels * self.passes if spread <= MAX_PROBE_SPREAD else None
        return replace(self, seconds=seconds, rate=rate, spread=spread)

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
            line += (f"; about {took} on {self.device} ({self.rate:.1f} s/MP measured on this "
                     "job's first tiles, after one to warm up)")
        return line


class RateMeter:
    """Times a job's network calls: after `warmup` calls (a cold model) and `runs` timed ones,
    `on_ready(rates)` once with the timed calls' seconds per megapixel-pass."""

    def __init__(self, on_ready: Callable[[list[float]], None], warmup: int = 1,
                 runs: int = 2) -> None:
        self.on_ready, self.warmup, self.runs = on_ready, warmup, runs
        self.rates: list[float] = []

    def add(self, seconds: float, megapixel_passes: float) -> None:
        """One network call of `megapixel_passes` (megapixels x passes) that took `seconds`."""
        if len(self.rates) >= self.warmup + self.runs:
            return
        self.rates.append(seconds / max(megapixel_passes, 1e-12))
        if len(self.rates) == self.warmup + self.runs:
            self.on_ready(self.rates[self.warmup :])


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
    """A model, options and device, ready to denoise tensors or image arrays.

    `per_call`: tiles stacked into one network call (None: as many as fit
    `CALL_PIXELS[device]`, at least one); `meter` (set by the caller, e.g. a
    :class:`RateMeter`) is told the time of every network call."""

    def __init__(self, model: nn.Module, options: DenoiseOptions | None = None,
                 device: str | torch.device = "auto", per_call: int | None = None) -> None:
        self.options = options or DenoiseOptions()
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = model.eval().to(self.device)
        self.multiple = int(getattr(model, "multiple", 1))
        self.latent = has_latent(model)
        given = self.options.overlap
        self.tile, overlap = check_tiling(self.options.tile, 0 if given is None else given,
                                          self.multiple, TYPICAL_OVERLAP if given is None else None)
        self._overlap = None if given is None else overlap
        self.per_call = per_call
        self.meter: RateMeter | None = None
        self.dtype = model_precision(model, self.options.precision, self.device)

    @property
    def overlap(self) -> int:
        """The overlap of neighbouring tiles in pixels: the option's, or (None) the one the
        network's measured reach needs, at most half the tile (measured on first use)."""
        if self._overlap is None:
            from invdn.inference.context import context_overlap

            if self.tile == 0:
                return 0
            self._overlap = check_tiling(self.tile, min(context_overlap(self.model),
                                                        self.tile // 2), self.multiple)[1]
        return self._overlap

    def overlap_for(self, height: int, width: int) -> int:
        """The overlap tiling a `height` x `width` image uses: 0 when it is one tile (nothing
        to measure then), else :attr:`overlap`."""
        if self.tile == 0 or (height <= self.tile and width <= self.tile):
            return 0
        return self.overlap

    def tiles_per_call(self, tile_pixels: int) -> int:
        """How many tiles of `tile_pixels` go through the network in one call."""
        if self.per_call is not None:
            return max(1, self.per_call)
        budget = CALL_PIXELS.get(self.device.type, CALL_PIXELS["cpu"])
        return max(1, budget // max(tile_pixels, 1))

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

    def plan(self, sizes: Sequence[tuple[int, int]], measure_above: float = 8.0) -> WorkEstimate:
        """The work of denoising images of `sizes` `(height, width)`, checked up front: an
        absurd tiling raises InvdnError before anything runs. Nothing is run to time it: a job
        of more than `measure_above` megapixel-passes is `wanted` an estimate, which its own
        first network calls give (:class:`RateMeter`, :meth:`WorkEstimate.measured_with`)."""
        m = self.multiple
        megapixels, tiles = 0.0, 0
        for h, w in sizes:
            hp, wp = -(-h // m) * m, -(-w // m) * m
            work = check_tile_work(hp, wp, self.tile, self.overlap_for(hp, wp), m)
            megapixels += hp * wp * work.factor / 1e6
            tiles += work.tiles
        return WorkEstimate(len(sizes), megapixels, tiles, self.passes, device=str(self.device),
                            wanted=megapixels * self.passes > measure_above)

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

        def tile_fn(patches: Tensor, origins: list[tuple[int, int]]) -> Tensor:
            with Stopwatch() as watch:
                with self._precision():
                    total = run_transforms(patches.to(self.device), origins)
                result = (total / len(self._transforms())).float().cpu()  # waits for the device
            if self.meter is not None:
                self.meter.add(watch.seconds, patches[0, 0].numel() * len(origins) / 1e6
                               * self.passes)
            return result

        def latent(origins: list[tuple[int, int]], th: int, tw: int, draw: tuple[int, int]
                   ) -> Tensor:
            return torch.cat([field.region(y0 // m, x0 // m, th // m, tw // m, draw=draw)
                              for y0, x0 in origins])

        def run_transforms(patch: Tensor, origins: list[tuple[int, int]]) -> Tensor:
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
                        z = latent(origins, patch.shape[-2], patch.shape[-1], (t, k))
                        z = geometric(z, t).to(self.device, lr.dtype)
                        rec = self.model.inverse(lr, z).float()  # sums in float32
                        out = rec if out is None else out.add_(rec)
                    out = out / self.options.samples
                out = geometric_inverse(out.float(), t)
                total = out if total is None else total.add_(out)
            return total

        hp, wp = padded.shape[-2:]
        overlap = self.overlap_for(hp, wp)
        tile_pixels = self._tile_pixels(hp, wp, overlap)
        out = run_tiles(padded, tile_fn, self.tile, overlap, m, progress,
                        self.tiles_per_call(tile_pixels))
        return out[..., :h, :w]

    def _tile_pixels(self, height: int, width: int, overlap: int) -> int:
        return (fit_tile(height, self.tile, overlap, self.multiple)
                * fit_tile(width, self.tile, overlap, self.multiple))

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
