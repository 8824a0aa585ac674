"""LightningDataModules for SIDD, paired folders and synthetic noise (the default).

Batches are dicts: training `{"noisy", "clean"}` as `(B, 3, P, P)` float32 in [0, 1]
(P = `patch_size`); validation adds `"name"` (list of str) and holds whole images or blocks
(any H, W; batch size 1 by default, the system pads). Workers only crop, flip and add noise:
the ×1/4 bicubic target is computed by the training system on the device.

Constructor arguments are the `conf/data/*.yaml` keys one-to-one. Nothing touches the disk
before `setup()`, which checks everything and raises `InvdnError` naming the config key to fix.
Training batches depend only on `seed`, the epoch and their position (`invdn.data.sampling`);
the position is part of the datamodule's checkpoint state, so resuming mid-epoch is exact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader, Dataset

from invdn.checks import Int, Rule
from invdn.data.cache import cache_state, load_cache
from invdn.data.datasets import ArrayPairs, PairedImages, PairedPatches, SyntheticImages, SyntheticPatches
from invdn.data.files import Pair, check_pair_sizes, check_patch_fits, holdout, image_size
from invdn.data.folders import find_folder_pairs
from invdn.data.noise import NoiseModel, build_noise, takes_gray
from invdn.data.sampling import EpochSampler, ResumableLoader
from invdn.data.sidd import Scene, find_sidd_scenes, load_mat_blocks
from invdn.data.synthetic import (
    RESERVED,
    SKIMAGE_TRAIN,
    SKIMAGE_VAL,
    bundled_images,
    split_folder,
)
from invdn.errors import InvdnError
from invdn.schema import check

DEFAULT_NOISE = {"kind": "gaussian", "sigma": [5.0, 50.0]}


def _require(value: object, key: str, example: str) -> None:
    if value is None:
        raise InvdnError(f"data.{key} is not set; pass data.{key}={example}")


def _check(key: str, value: object, rule: Rule | None = None) -> None:
    """`data.<key>` against its rule in the schema (or a stricter `rule` for this module)."""
    check(f"data.{key}", value, rule)


class _PairDataModule(L.LightningDataModule, ABC):
    """Shared loaders and checks; subclasses build `(train_set, val_set)` in `_build()`."""

    def __init__(self, patch_size: int, batch_size: int, val_batch_size: int, num_workers: int,
                 seed: int):
        super().__init__()
        self.patch_size = patch_size
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self._sampler: EpochSampler | None = None
        self._position: dict[str, int] | None = None  # restored from a checkpoint

    @abstractmethod
    def _build(self) -> tuple[Dataset, Dataset]:
        """Check the dataset's own settings and files; return `(train_set, val_set)`."""

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        for key in ("patch_size", "batch_size", "val_batch_size", "num_workers", "seed"):
            _check(key, getattr(self, key))
        train_set, val_set = self._build()
        if len(train_set) < self.batch_size:
            raise InvdnError(f"{len(train_set)} training sample(s) per epoch is fewer than "
                             f"data.batch_size={self.batch_size}; raise data.samples_per_epoch "
                             "or lower data.batch_size")
        self.train_set, self.val_set = train_set, val_set

    def _loader(self, dataset: Dataset, batch_size: int, sampler: EpochSampler | None = None
                ) -> DataLoader:
        return (DataLoader if sampler is None else ResumableLoader)(
            dataset, batch_size=batch_size, sampler=sampler, drop_last=sampler is not None,
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            # Without a generator, every iter() would draw worker seeds from the global RNG and
            # shift the latents a resumed run draws.
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        # A reloaded loader continues where the previous one (or the checkpoint) stopped.
        position = self._position or (self._sampler.state_dict() if self._sampler else None)
        self._sampler = EpochSampler(self.train_set, self.batch_size, self.seed, world, rank)
        if position is not None:
            self._sampler.load_state_dict(position)
            self._position = None
        return self._loader(self.train_set, self.batch_size, self._sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.val_batch_size)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        trainer = self.trainer
        if trainer is not None and trainer.training and self._sampler is not None:
            self._sampler.batches_done += 1
        return batch

    def state_dict(self) -> dict[str, Any]:
        """The training position (epoch, batches done), stored in Lightning checkpoints."""
        if self._sampler is not None:
            return {"train_position": self._sampler.state_dict()}
        return {"train_position": self._position} if self._position else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._position = state_dict.get("train_position")


class SIDDDataModule(_PairDataModule):
    """SIDD-Medium/Small sRGB: from the crop cache of `invdn prepare sidd` when it is complete,
    else from full-size PNGs under `root` (slow). Validation: the official `.mat` blocks when both
    paths are given, else `val_scenes` held-out scenes (pairs, in the flattened layout),
    center-cropped to `val_crop`."""

    def __init__(self, root: str | None = None, cache: str | None = None,
                 val_noisy_mat: str | None = None, val_gt_mat: str | None = None,
                 val_scenes: int = 4, val_crop: int | None = 512,
                 samples_per_epoch: int | None = None, patch_size: int = 144,
                 batch_size: int = 28, val_batch_size: int = 1, num_workers: int = 8,
                 seed: int = 0):
        super().__init__(patch_size, batch_size, val_batch_size, num_workers, seed)
        self.root, self.cache = root, cache
        self.val_noisy_mat, self.val_gt_mat = val_noisy_mat, val_gt_mat
        self.val_scenes, self.val_crop = val_scenes, val_crop
        self.samples_per_epoch = samples_per_epoch

    def _scenes(self) -> tuple[list[Scene], int | None]:
        """Scenes and, when they come from the cache, its crop size."""
        if self.cache is not None:
            state = cache_state(self.cache)
            if state.complete:
                return load_cache(self.cache), state.crop
            problem = (f"data.cache={self.cache} is an unfinished crop cache ({state.done} of "
                       f"{state.total} scenes)" if state.total else
                       f"data.cache={self.cache} holds no invdn crop cache")
            fix = f"create or finish it with: invdn prepare sidd {self.root or 'ROOT'} {self.cache}"
            if self.root is None:
                raise InvdnError(f"{problem}; {fix}")
            rank_zero_warn(f"{problem}; reading full-size PNGs from data.root meanwhile (slow); "
                           f"{fix}")
        else:
            _require(self.root, "root", "/path/to/SIDD_Medium_Srgb (or data.cache=DIR made by "
                     "`invdn prepare sidd`)")
            rank_zero_warn("decoding a full-size SIDD PNG for every patch is slow; crop them "
                           f"once with `invdn prepare sidd {self.root} OUT` and pass "
                           "data.cache=OUT")
        return find_sidd_scenes(self.root), None

    def _mat_val(self) -> ArrayPairs:
        noisy, gt = (load_mat_blocks(p) for p in (self.val_noisy_mat, self.val_gt_mat))
        if noisy.shape != gt.shape:
            raise InvdnError(f"{self.val_noisy_mat} holds {noisy.shape} blocks but "
                             f"{self.val_gt_mat} holds {gt.shape}; use matching SIDD files")
        names = ["block_" + "_".join(f"{i:02d}" for i in idx)
                 for idx in np.ndindex(*noisy.shape[:-3])]
        flat = (-1, *noisy.shape[-3:])
        return ArrayPairs(noisy.reshape(flat), gt.reshape(flat), names)

    def _build(self) -> tuple[Dataset, Dataset]:
        _check("samples_per_epoch", self.samples_per_epoch)
        _check("val_crop", self.val_crop)
        if (self.val_noisy_mat is None) != (self.val_gt_mat is None):
            raise InvdnError("set both data.val_noisy_mat and data.val_gt_mat (the SIDD "
                             "ValidationNoisyBlocksSrgb.mat / ValidationGtBlocksSrgb.mat) or neither")
        scenes, crop = self._scenes()
        val_pairs: list[Pair] = []
        val_set: Dataset
        if self.val_noisy_mat is not None:
            train_scenes, val_set = scenes, self._mat_val()
        else:
            _check("val_scenes", self.val_scenes)
            if self.val_scenes >= len(scenes):
                raise InvdnError(f"data.val_scenes={self.val_scenes} leaves no training scenes "
                                 f"({len(scenes)} found); lower it or give the .mat files")
            held = set(holdout(len(scenes), self.val_scenes))
            train_scenes = [s for i, s in enumerate(scenes) if i not in held]
            val_pairs = [p for i in sorted(held) for p in (scenes[i].center or scenes[i].pairs)]
            val_set = PairedImages(val_pairs, self.val_crop)
        train_pairs = [p for s in train_scenes for p in s.pairs]
        if crop is None:  # full-size originals; cached crops have the size the cache records
            check_pair_sizes(train_pairs, self.patch_size)
            check_pair_sizes(val_pairs)
        else:
            check_patch_fits((crop, crop), self.patch_size, f"cache {self.cache}")
        return (PairedPatches(train_pairs, self.patch_size, self.samples_per_epoch, self.seed),
                val_set)


class FoldersDataModule(_PairDataModule):
    """Any paired `noisy`/`clean` folders (partners share a file name). Validation: the
    `val_noisy`/`val_clean` folders, else `val_count` evenly spaced held-out pairs."""

    def __init__(self, noisy: str | None = None, clean: str | None = None,
                 val_noisy: str | None = None, val_clean: str | None = None,
                 val_count: int = 2, recursive: bool = False, val_crop: int | None = None,
                 samples_per_epoch: int | None = None, patch_size: int = 144,
                 batch_size: int = 8, val_batch_size: int = 1, num_workers: int = 2,
                 seed: int = 0):
        super().__init__(patch_size, batch_size, val_batch_size, num_workers, seed)
        self.noisy, self.clean = noisy, clean
        self.val_noisy, self.val_clean = val_noisy, val_clean
        self.val_count, self.recursive, self.val_crop = val_count, recursive, val_crop
        self.samples_per_epoch = samples_per_epoch

    def _build(self) -> tuple[Dataset, Dataset]:
        _check("samples_per_epoch", self.samples_per_epoch)
        _check("val_crop", self.val_crop)
        _check("recursive", self.recursive)
        _require(self.noisy, "noisy", "/path/to/noisy_images")
        _require(self.clean, "clean", "/path/to/clean_images")
        pairs = find_folder_pairs(self.noisy, self.clean, self.recursive)
        val_pairs: list[Pair]
        if self.val_noisy is not None or self.val_clean is not None:
            _require(self.val_noisy, "val_noisy", "/path/to/val_noisy (with data.val_clean)")
            _require(self.val_clean, "val_clean", "/path/to/val_clean (with data.val_noisy)")
            train_pairs = pairs
            val_pairs = find_folder_pairs(self.val_noisy, self.val_clean, self.recursive,
                                          keys=("data.val_noisy", "data.val_clean"))
        else:
            _check("val_count", self.val_count, Int(1))  # held-out pairs
            if self.val_count >= len(pairs):
                raise InvdnError(f"data.val_count={self.val_count} leaves no training pairs "
                                 f"({len(pairs)} found in {self.noisy}); lower it or pass "
                                 "data.val_noisy/data.val_clean")
            held = set(holdout(len(pairs), self.val_count))
            train_pairs = [p for i, p in enumerate(pairs) if i not in held]
            val_pairs = [p for i, p in enumerate(pairs) if i in held]
        check_pair_sizes(train_pairs, self.patch_size)
        check_pair_sizes(val_pairs)
        return (PairedPatches(train_pairs, self.patch_size, self.samples_per_epoch, self.seed),
                PairedImages(val_pairs, self.val_crop))


class SyntheticDataModule(_PairDataModule):
    """Clean images + synthetic noise (the default; works with nothing downloaded).

    `root=None` uses images bundled with installed packages (see `invdn.data.synthetic`):
    `train_images` names them (default: the demo's colour photos), validation is always
    chelsea and coffee. Otherwise the images under `root` (e.g. made by `invdn prepare photos`),
    with `val_count` of them held out for validation (0: validate on chelsea and coffee), plus
    the bundled `train_images` when given (none by default). `noise` is a `build_noise` mapping,
    default Gaussian with sigma drawn from [5, 50] (8-bit levels) per patch. `scale=[lo, hi]`
    and `color=true` add zoom-out and colour augmentation (see `SyntheticPatches`). Validation
    images are center-cropped to `val_crop` and their noise is seeded by `seed`, identical every
    epoch."""

    def __init__(self, root: str | None = None, recursive: bool = False, val_count: int = 2,
                 noise: NoiseModel | Mapping | None = None, val_crop: int | None = 256,
                 samples_per_epoch: int = 1024, patch_size: int = 144, batch_size: int = 8,
                 val_batch_size: int = 1, num_workers: int = 2, seed: int = 0,
                 train_images: Sequence[str] | None = None,
                 scale: Sequence[float] | None = None, color: bool = False, gray: float = 0.0):
        super().__init__(patch_size, batch_size, val_batch_size, num_workers, seed)
        self.root, self.recursive, self.val_count = root, recursive, val_count
        self.noise = DEFAULT_NOISE if noise is None else noise
        self.val_crop, self.samples_per_epoch = val_crop, samples_per_epoch
        self.train_images, self.scale, self.color = train_images, scale, color
        self.gray = gray

    def _scale(self) -> tuple[float, float] | None:
        if self.scale is None:
            return None
        try:
            lo, hi = (float(v) for v in self.scale)
        except (TypeError, ValueError):
            raise InvdnError(f"data.scale={self.scale!r} must be a [lo, hi] pair or null, "
                             "e.g. data.scale=[0.25,1.0]") from None
        if not 0.0 < lo <= hi <= 1.0:
            raise InvdnError(f"data.scale={self.scale!r} needs 0 < lo <= hi <= 1 (zoom-out "
                             "factors), e.g. data.scale=[0.25,1.0]")
        return lo, hi

    def _bundled_train(self, default: Sequence[str]) -> list[np.ndarray]:
        """The bundled training images `train_images` names (`default` when it is null)."""
        train_names = tuple(default if self.train_images is None else self.train_images)
        if (not train_names and self.root is None) or set(train_names) & set(RESERVED):
            raise InvdnError(f"data.train_images={list(train_names)} must be non-empty and must "
                             f"not hold the validation or test images {list(RESERVED)}")
        train = bundled_images(train_names)
        for name, img in zip(train_names, train, strict=True):
            check_patch_fits(img.shape[:2], self.patch_size, f"bundled image {name}")
        return train

    def _build(self) -> tuple[Dataset, Dataset]:
        _check("samples_per_epoch", self.samples_per_epoch, Int(1))  # null: no epoch length here
        for key in ("val_crop", "recursive", "color", "gray"):
            _check(key, getattr(self, key))
        noise, scale = build_noise(self.noise), self._scale()
        if self.gray and not takes_gray(noise):
            raise InvdnError(f"data.gray={self.gray} needs a noise model that takes gray images; "
                             "camera noise takes RGB only: use data.noise.kind=photo (or "
                             "data.gray=0)")
        if self.root is None:
            train = self._bundled_train(SKIMAGE_TRAIN)
            val, names = bundled_images(SKIMAGE_VAL), list(SKIMAGE_VAL)
        else:
            _check("val_count", self.val_count)
            bundled = self._bundled_train(())
            folder, held = split_folder(self.root, self.val_count, self.recursive)
            val, names = held, [p.relative_to(self.root).with_suffix("").as_posix() for p in held]
            if self.val_count == 0:  # validate on the bundled photos, as runs without a folder do
                val, names = bundled_images(SKIMAGE_VAL), list(SKIMAGE_VAL)
            for path in folder:
                check_patch_fits(image_size(path), self.patch_size, path)
            for path in held:
                image_size(path)  # unreadable validation images fail now, not mid-epoch
            train = [*folder, *bundled]
        return (SyntheticPatches(train, noise, self.patch_size, self.samples_per_epoch, self.seed,
                                 scale, self.color, self.gray),
                SyntheticImages(val, names, noise, self.val_crop, self.seed, gray=self.gray > 0))


__all__ = ["FoldersDataModule", "SIDDDataModule", "SyntheticDataModule"]
