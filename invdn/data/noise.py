"""Synthetic noise models ("physics" in deepinv's sense), applied on the fly to clean images.

Images are float tensors in [0, 1], shaped `(C, H, W)` or `(B, C, H, W)`; the result has the same
shape and dtype, clipped to [0, 1] unless `clip=False`.

`MixedNoise` draws, per image, one of the two (the shipped model is trained on it), or camera
noise with probability `p_camera`.

`CameraNoise` is the unprocessing pipeline of Brooks et al. (CVPR 2019, `invdn.data.camera`):
sRGB → camera raw → RGGB mosaic → shot + read noise → demosaic → sRGB. Its noise is signal
dependent, spatially and channel correlated. `camera_shot` is the log-uniform range of the shot
variance on the raw [0, 1] scale (the paper's `[1e-4, 1.2e-2]`); the read variance follows the
paper's sensor fit, log read = 2.18·log shot + 1.20 + N(0, 0.26). `demosaic` is `bilinear`
(torch), `opencv`, `opencv_ea` (cv2.cvtColor Bayer, bilinear / edge-aware) or `kornia`.

Units (the one thing to remember):
- `GaussianNoise.sigma` is in **8-bit levels** (0..255), the convention of denoising papers:
  `sigma=25` adds noise of standard deviation 25/255.
- `PoissonGaussianNoise` uses the heteroscedastic model of Foi et al. (2008) on the **[0, 1]**
  intensity scale: variance = `shot`·x + `read` (x the clean intensity), i.e. `shot` is the
  signal-dependent gain a and `read` the constant variance b. It is sampled as
  x + sqrt(a·x + b)·N(0, 1), the usual Gaussian approximation of Poisson shot noise.

A parameter is a number (fixed) or a `[lo, hi]` range; with a range every image (every batch
element) draws its own value: `sigma` uniformly, `shot`/`read` log-uniformly since they span decades.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from invdn.checks import Number, is_number
from invdn.data.camera import DEMOSAIC_METHODS, add_camera_noise, draw_params
from invdn.data.storage import jpeg_roundtrip, quantize
from invdn.data.transforms import luma
from invdn.errors import InvdnError

Param = float | Sequence[float]
PROBABILITY = Number(at_least=0.0, at_most=1.0, noun="a probability")


def _as_range(value: Param, name: str, positive_range: bool) -> tuple[float, float]:
    """A number or `[lo, hi]` → `(lo, hi)`; InvdnError for anything else."""
    if is_number(value):
        lo = hi = float(value)
    elif isinstance(value, bool):  # not a number (is_number), and not a pair either
        raise InvdnError(f"noise {name}={value!r} is not a number; give a number or [lo, hi]")
    else:
        try:
            lo, hi = (float(v) for v in value)
        except (TypeError, ValueError):
            raise InvdnError(f"noise {name}={value!r} is not a number or a [lo, hi] pair; "
                             f"e.g. {name}=[0.0001, 0.01]") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
        raise InvdnError(f"noise {name}={value!r} must satisfy 0 <= lo <= hi")
    if positive_range and lo != hi and lo <= 0:
        raise InvdnError(f"noise {name} range {value!r} is drawn log-uniformly and needs lo > 0; "
                         f"use a fixed {name}=0 to switch this term off")
    return lo, hi


def _draw(bounds: tuple[float, float], n: int, log: bool, generator: torch.Generator | None,
          device: torch.device) -> torch.Tensor:
    """`n` values in `bounds` (uniform or log-uniform), float32 on `device`."""
    lo, hi = bounds
    if lo == hi:
        return torch.full((n,), lo, device=device)
    u = torch.rand(n, generator=generator, device=device)
    if log:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def _per_image(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Shape `(n,)` values so they broadcast over `x`'s `(C, H, W)` per image."""
    return values.view(-1, 1, 1, 1) if x.dim() == 4 else values.view(1, 1, 1)


def _check_input(x: torch.Tensor) -> int:
    if x.dim() not in (3, 4) or not x.is_floating_point():
        raise InvdnError(f"noise models take float (C, H, W) or (B, C, H, W) tensors in [0, 1], "
                         f"got {tuple(x.shape)} {x.dtype}")
    return x.shape[0] if x.dim() == 4 else 1


@dataclass(frozen=True)
class GaussianNoise:
    """Additive white Gaussian noise; `sigma` in 8-bit levels (25 → std 25/255)."""

    sigma: Param = 25.0
    clip: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _as_range(self.sigma, "sigma", positive_range=False))

    def std(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-pixel standard deviation on the [0, 1] scale, broadcastable to `x`."""
        sigma = _draw(self.sigma, _check_input(x), False, generator, x.device) / 255.0
        return _per_image(sigma.to(x.dtype), x)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noisy copy of `x` (same shape, in [0, 1] when `clip`)."""
        return _add_noise(x, self.std(x, generator), generator, self.clip)


@dataclass(frozen=True)
class PoissonGaussianNoise:
    """Heteroscedastic noise with variance `shot`·x + `read` on the [0, 1] scale."""

    shot: Param = (1e-4, 1e-2)
    read: Param = (1e-6, 1e-3)
    clip: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "shot", _as_range(self.shot, "shot", positive_range=True))
        object.__setattr__(self, "read", _as_range(self.read, "read", positive_range=True))

    def std(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-pixel standard deviation sqrt(a·x + b), same shape as `x`."""
        n = _check_input(x)
        a = _per_image(_draw(self.shot, n, True, generator, x.device).to(x.dtype), x)
        b = _per_image(_draw(self.read, n, True, generator, x.device).to(x.dtype), x)
        return torch.sqrt(a * x.clamp(min=0) + b)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noisy copy of `x` (same shape, in [0, 1] when `clip`)."""
        return _add_noise(x, self.std(x, generator), generator, self.clip)


@dataclass(frozen=True)
class CameraNoise:
    """Camera-like noise (unprocessing, Brooks et al. 2019); `camera_shot` a shot-variance range
    (or fixed value; 0 switches the noise off), `demosaic` one of `DEMOSAIC_METHODS`."""

    camera_shot: Param = (1e-4, 1.2e-2)
    demosaic: str = "bilinear"
    clip: bool = True

    def __post_init__(self) -> None:
        shot = _as_range(self.camera_shot, "camera_shot", positive_range=True)
        object.__setattr__(self, "camera_shot", shot)
        if self.demosaic not in DEMOSAIC_METHODS:
            raise InvdnError(f"noise demosaic={self.demosaic!r} unknown; use one of "
                             f"{', '.join(DEMOSAIC_METHODS)}")

    def draw(self, n: int, generator: torch.Generator | None = None,
             device: torch.device | str = "cpu"):
        """`n` random cameras (`invdn.data.camera.CameraParams`), the ones `__call__` draws first."""
        return draw_params(n, self.camera_shot, generator, device)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noisy copy of RGB `x` (same shape, in [0, 1] when `clip`)."""
        n = _check_input(x)
        batch = x if x.dim() == 4 else x.unsqueeze(0)
        noisy = add_camera_noise(batch, self.draw(n, generator, x.device), generator,
                                 self.demosaic, self.clip)
        return noisy if x.dim() == 4 else noisy[0]


@dataclass(frozen=True)
class MixedNoise:
    """Per image: camera noise with probability `p_camera`; otherwise Gaussian noise with
    probability `p_gaussian`, else Poisson–Gaussian (the shipped model's training noise: one
    network for all). E.g. `p_camera=0.34, p_gaussian=0.5` gives each model a third.
    `p_camera=0` (the default) draws exactly what it drew before camera noise existed."""

    sigma: Param = (5.0, 50.0)
    shot: Param = (1e-4, 1e-2)
    read: Param = (1e-6, 1e-3)
    p_gaussian: float = 0.5
    p_camera: float = 0.0
    camera_shot: Param = (1e-4, 1.2e-2)
    demosaic: str = "bilinear"
    clip: bool = True

    def __post_init__(self) -> None:
        for name in ("p_gaussian", "p_camera"):
            PROBABILITY.check(f"noise {name}", getattr(self, name))
        gaussian = GaussianNoise(self.sigma, self.clip)
        poisson_gaussian = PoissonGaussianNoise(self.shot, self.read, self.clip)
        camera = CameraNoise(self.camera_shot, self.demosaic, self.clip)
        # The models parse and check the ranges; keep their normalized values.
        for name, value in (("sigma", gaussian.sigma), ("shot", poisson_gaussian.shot),
                            ("read", poisson_gaussian.read), ("camera_shot", camera.camera_shot),
                            ("gaussian", gaussian), ("poisson_gaussian", poisson_gaussian),
                            ("camera", camera)):
            object.__setattr__(self, name, value)

    def std(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-pixel standard deviation of the Gaussian / Poisson–Gaussian part on the [0, 1]
        scale, same shape as `x` (camera noise has no per-pixel std: it is correlated)."""
        n = _check_input(x)
        pick = _per_image(torch.rand(n, generator=generator, device=x.device) < self.p_gaussian, x)
        gauss = self.gaussian.std(x, generator).expand_as(x)
        return torch.where(pick, gauss, self.poisson_gaussian.std(x, generator))

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noisy copy of `x` (same shape, in [0, 1] when `clip`)."""
        if self.p_camera == 0.0:
            return _add_noise(x, self.std(x, generator), generator, self.clip)
        n = _check_input(x)
        batch = x if x.dim() == 4 else x.unsqueeze(0)
        camera = torch.rand(n, generator=generator, device=x.device) < self.p_camera
        out = torch.empty_like(batch)
        if not camera.all():
            rest = batch[~camera]
            out[~camera] = _add_noise(rest, self.std(rest, generator), generator, self.clip)
        if camera.any():
            out[camera] = self.camera(batch[camera], generator)
        return out if x.dim() == 4 else out[0]


def correlate(noise: torch.Tensor, blur: float) -> torch.Tensor:
    """White noise `(C, H, W)` made spatially correlated: blurred by a Gaussian of std `blur`
    pixels (reflect padding) and rescaled so that every pixel keeps its variance."""
    radius = max(1, math.ceil(3 * blur))
    t = torch.arange(-radius, radius + 1, dtype=noise.dtype, device=noise.device)
    kernel = torch.exp(-0.5 * (t / blur) ** 2)
    kernel = kernel / kernel.square().sum().sqrt()  # unit gain in variance, per axis
    c = noise.shape[0]
    x = torch.nn.functional.pad(noise[None], (radius, radius, radius, radius), mode="reflect")
    x = torch.nn.functional.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    x = torch.nn.functional.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return x[0]


@dataclass(frozen=True)
class PhotoNoise:
    """The noise of photographs as people have them, per image: a noise model, then how the
    photo was stored (the shipped default's training noise).

    Noise: camera noise (Brooks et al.) with probability `p_camera`; otherwise Gaussian with
    probability `p_gaussian`, else Poisson–Gaussian, and either made spatially correlated with
    probability `p_correlated` (a Gaussian blur of std drawn from `correlation` pixels, the
    variance kept), as demosaicing, in-camera denoising and resampling leave it.
    Storage: with probability `p_float` the noisy image stays float and unclipped (the field's
    benchmark protocol, values outside [0, 1]); otherwise it is clipped and rounded to 8 bits,
    and with probability `p_jpeg` saved as a JPEG of quality drawn from `jpeg_quality`, its
    chroma subsampled 4:2:0 with probability `p_subsample` (else 4:4:4).
    Gray images `(1, H, W)` get noise of their own (camera noise: that of the RGB copy, turned
    gray with the BT.601 weights) and are stored as gray JPEGs."""

    sigma: Param = (0.0, 55.0)
    shot: Param = (1e-4, 1e-2)
    read: Param = (1e-6, 1e-3)
    p_gaussian: float = 0.7
    p_camera: float = 0.3
    camera_shot: Param = (1e-4, 1.2e-2)
    demosaic: str = "bilinear"
    p_correlated: float = 0.2
    correlation: Param = (0.3, 1.2)
    p_float: float = 0.25
    p_jpeg: float = 0.3
    jpeg_quality: Param = (60.0, 100.0)
    p_subsample: float = 0.8

    def __post_init__(self) -> None:
        for name in ("p_gaussian", "p_camera", "p_correlated", "p_float", "p_jpeg",
                     "p_subsample"):
            PROBABILITY.check(f"noise {name}", getattr(self, name))
        correlation = _as_range(self.correlation, "correlation", positive_range=False)
        if correlation[0] <= 0:
            raise InvdnError(f"noise correlation={self.correlation!r} must be > 0 (a blur std "
                             "in pixels), e.g. correlation=[0.3, 1.2]")
        quality = _as_range(self.jpeg_quality, "jpeg_quality", positive_range=False)
        if not 1 <= quality[0] <= quality[1] <= 100:
            raise InvdnError(f"noise jpeg_quality={self.jpeg_quality!r} must lie in 1..100")
        mixed = MixedNoise(self.sigma, self.shot, self.read, self.p_gaussian, self.p_camera,
                           self.camera_shot, self.demosaic, clip=False)
        for name, value in (("sigma", mixed.sigma), ("shot", mixed.shot), ("read", mixed.read),
                            ("camera_shot", mixed.camera_shot), ("correlation", correlation),
                            ("jpeg_quality", quality), ("mixed", mixed)):
            object.__setattr__(self, name, value)

    def _chance(self, p: float, generator: torch.Generator | None) -> bool:
        return bool(torch.rand(1, generator=generator) < p)

    def _uniform(self, bounds: tuple[float, float], generator: torch.Generator | None) -> float:
        return float(_draw(bounds, 1, False, generator, torch.device("cpu")))

    def _noise(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Unclipped noisy copy of one `(C, H, W)` image."""
        mixed = self.mixed
        if self._chance(self.p_camera, generator):
            rgb = x.expand(3, -1, -1) if x.shape[0] == 1 else x
            noisy = mixed.camera(rgb[None], generator)[0]
            return x + luma(noisy - rgb) if x.shape[0] == 1 else noisy
        std = mixed.std(x[None], generator)[0]
        white = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        if self._chance(self.p_correlated, generator):
            white = correlate(white, self._uniform(self.correlation, generator))
        return x + std * white

    def _store(self, noisy: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self._chance(self.p_float, generator):
            return noisy
        if self._chance(self.p_jpeg, generator):
            quality = round(self._uniform(self.jpeg_quality, generator))
            subsampling = "420" if self._chance(self.p_subsample, generator) else "444"
            return jpeg_roundtrip(noisy, quality, subsampling)
        return quantize(noisy)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noisy copy of gray or RGB `x` `(C, H, W)` / `(B, C, H, W)` (same shape; in [0, 1]
        unless kept float)."""
        _check_input(x)
        if x.dim() == 3:
            return self._store(self._noise(x, generator), generator)
        return torch.stack([self(img, generator) for img in x])


NoiseModel = GaussianNoise | PoissonGaussianNoise | CameraNoise | MixedNoise | PhotoNoise

NOISE_KINDS = {"gaussian": GaussianNoise, "poisson_gaussian": PoissonGaussianNoise,
               "camera": CameraNoise, "mixed": MixedNoise, "photo": PhotoNoise}


def takes_gray(model: NoiseModel) -> bool:
    """Whether `model` can noise a one-channel (gray) image: every model but camera noise,
    which PhotoNoise alone applies to gray (through an RGB copy)."""
    if isinstance(model, CameraNoise):
        return False
    return not (isinstance(model, MixedNoise) and model.p_camera > 0)


def _add_noise(x: torch.Tensor, std: torch.Tensor, generator: torch.Generator | None,
               clip: bool) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    noisy = x + std * noise
    return noisy.clamp(0.0, 1.0) if clip else noisy


def build_noise(spec: NoiseModel | Mapping) -> NoiseModel:
    """A noise model from config values; models pass through.

    `kind` picks the model and only that model's parameters are used, so one config can hold
    the settings of every kind and switch with `kind` alone, e.g.
    `{"kind": "poisson_gaussian", "sigma": [5, 50], "shot": [1e-4, 1e-2], "read": 1e-4}`.
    Names that no model takes are an error (typos)."""
    if isinstance(spec, tuple(NOISE_KINDS.values())):
        return spec
    if not isinstance(spec, Mapping):
        raise InvdnError(f"noise config must be a mapping with a 'kind', got {spec!r}")
    params = dict(spec)
    kind = params.pop("kind", None)
    cls = NOISE_KINDS.get(kind)
    if cls is None:
        raise InvdnError(f"noise kind {kind!r} unknown; use one of {', '.join(NOISE_KINDS)}")
    known = {name for model in NOISE_KINDS.values() for name in model.__dataclass_fields__}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvdnError(f"noise parameter(s) {', '.join(unknown)} unknown; noise models take "
                         f"kind, {', '.join(sorted(known))}")
    # Hydra hands lists over as ListConfig; the range parser iterates them like lists.
    return cls(**{k: v for k, v in params.items() if k in cls.__dataclass_fields__})
