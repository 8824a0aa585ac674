"""Torch datasets yielding `{"noisy", "clean"}` dicts of `(3, H, W)` float32 tensors in [0, 1].

Training sets return random `patch_size`² patches with flip/transpose augmentation; their length
is `length` (samples per epoch) and sample `i` comes from image `i % len(images)`. Indices may
exceed the length (`invdn.data.sampling.EpochSampler` numbers the samples of epoch `e` from
`e * length`): the crop, flips and noise of sample `i` come from `sample_generator(seed, i)`, so
they depend on nothing else (not on workers, global seeds or what ran before). Validation
sets return whole images (optionally center-cropped) plus a `"name"`, identical every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from invdn.data.files import Pair, read_pair
from invdn.data.noise import NoiseModel
from invdn.data.sampling import sample_generator
from invdn.data.transforms import (
    augment_pair,
    center_crop,
    color_jitter,
    luma,
    random_crop_box,
    random_scaled_patch,
    to_rgb,
    to_tensor,
)
from invdn.io.images import read_image

Sample = dict[str, torch.Tensor | str]
CleanSource = Path | np.ndarray


def _load_clean(source: CleanSource) -> np.ndarray:
    return to_rgb(source if isinstance(source, np.ndarray) else read_image(source))


def _patch(img: np.ndarray, top: int, left: int, size: int) -> torch.Tensor:
    return to_tensor(img[top:top + size, left:left + size])


class PairedPatches(Dataset):
    """Random aligned patches of `(noisy, clean)` image files, augmented."""

    def __init__(self, pairs: Sequence[Pair], patch_size: int, length: int | None = None,
                 seed: int = 0):
        self.pairs, self.patch_size = list(pairs), patch_size
        self.length = length or len(self.pairs)
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Sample:
        noisy, clean = read_pair(*self.pairs[index % len(self.pairs)])
        generator = sample_generator(self.seed, index)
        top, left = random_crop_box(*noisy.shape[:2], self.patch_size, generator)
        noisy_t, clean_t = augment_pair(_patch(noisy, top, left, self.patch_size),
                                        _patch(clean, top, left, self.patch_size), generator)
        return {"noisy": noisy_t, "clean": clean_t}


class PairedImages(Dataset):
    """Whole `(noisy, clean)` image files, center-cropped to `crop` when given."""

    def __init__(self, pairs: Sequence[Pair], crop: int | None = None):
        self.pairs, self.crop = list(pairs), crop

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Sample:
        noisy_path, clean_path = self.pairs[index]
        noisy, clean = read_pair(noisy_path, clean_path)
        return {"noisy": to_tensor(center_crop(noisy, self.crop)),
                "clean": to_tensor(center_crop(clean, self.crop)), "name": noisy_path.stem}


class ArrayPairs(Dataset):
    """In-memory `(N, H, W, 3)` uint8 noisy/clean arrays (e.g. SIDD `.mat` blocks)."""

    def __init__(self, noisy: np.ndarray, clean: np.ndarray, names: Sequence[str]):
        self.noisy, self.clean, self.names = noisy, clean, list(names)

    def __len__(self) -> int:
        return len(self.noisy)

    def __getitem__(self, index: int) -> Sample:
        return {"noisy": to_tensor(self.noisy[index]), "clean": to_tensor(self.clean[index]),
                "name": self.names[index]}


class SyntheticPatches(Dataset):
    """Random augmented patches of clean images with fresh noise from `noise` every time.

    Beyond the 8 flips/transposes: `scale=(lo, hi)` zooms out by a random factor in that range
    (area-averaged, see `random_scaled_patch`), `color=True` permutes channels and applies a
    random gamma (`color_jitter`). Both off by default (the demo's recipe). With probability
    `gray` a patch is a gray photo: its luma gets noise of its own (the same in the three
    channels it is then repeated to, as a gray file is denoised)."""

    def __init__(self, sources: Sequence[CleanSource], noise: NoiseModel, patch_size: int,
                 length: int, seed: int = 0, scale: tuple[float, float] | None = None,
                 color: bool = False, gray: float = 0.0):
        self.sources, self.noise = list(sources), noise
        self.patch_size, self.length, self.seed = patch_size, length, seed
        self.scale, self.color, self.gray = scale, color, gray

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Sample:
        clean = _load_clean(self.sources[index % len(self.sources)])
        generator = sample_generator(self.seed, index)
        if self.scale is None:
            top, left = random_crop_box(*clean.shape[:2], self.patch_size, generator)
            patch = _patch(clean, top, left, self.patch_size)
        else:
            patch = to_tensor(random_scaled_patch(clean, self.patch_size, self.scale, generator))
        if self.color:
            patch = color_jitter(patch, generator=generator)
        clean_t, _ = augment_pair(patch, patch, generator)
        if self.gray and bool(torch.rand(1, generator=generator) < self.gray):
            clean_t = luma(clean_t)
            return {"noisy": self.noise(clean_t, generator).expand(3, -1, -1).contiguous(),
                    "clean": clean_t.expand(3, -1, -1).contiguous()}
        return {"noisy": self.noise(clean_t, generator), "clean": clean_t}


class SyntheticImages(Dataset):
    """Clean images (center-cropped to `crop`) with noise seeded by `seed` and the index, so the
    validation set is the same every epoch and in every worker. With `gray`, a gray copy of
    every image follows the colour ones (named `<name>_gray`)."""

    def __init__(self, sources: Sequence[CleanSource], names: Sequence[str], noise: NoiseModel,
                 crop: int | None = None, seed: int = 0, gray: bool = False):
        self.sources, self.names, self.noise = list(sources), list(names), noise
        self.crop, self.seed, self.gray = crop, seed, gray

    def __len__(self) -> int:
        return len(self.sources) * (2 if self.gray else 1)

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(index)  # iteration stops here (the index wraps for gray copies)
        source = index % len(self.sources)
        clean = to_tensor(center_crop(_load_clean(self.sources[source]), self.crop))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        if index >= len(self.sources):
            clean = luma(clean)
            return {"noisy": self.noise(clean, generator).expand(3, -1, -1).contiguous(),
                    "clean": clean.expand(3, -1, -1).contiguous(),
                    "name": f"{self.names[source]}_gray"}
        return {"noisy": self.noise(clean, generator), "clean": clean, "name": self.names[source]}
