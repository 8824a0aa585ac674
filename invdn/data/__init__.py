"""Data for training and evaluating invdn: SIDD, paired folders, synthetic noise.

The LightningDataModules import Lightning, so they load on first use; `load_mat_blocks`, the
noise models and the crop cache stay light for commands that only need those.
"""

from __future__ import annotations

import importlib
from typing import Any

from invdn.data.noise import (
    CameraNoise,
    GaussianNoise,
    MixedNoise,
    PoissonGaussianNoise,
    build_noise,
)
from invdn.data.sidd import find_sidd_scenes, load_mat_blocks

_LAZY = {
    "SIDDDataModule": "invdn.data.datamodules",
    "FoldersDataModule": "invdn.data.datamodules",
    "SyntheticDataModule": "invdn.data.datamodules",
    "CropPlan": "invdn.data.cache",
    "prepare_sidd_cache": "invdn.data.cache",
}

__all__ = ["CameraNoise", "GaussianNoise", "MixedNoise", "PoissonGaussianNoise", "build_noise",
           "find_sidd_scenes", "load_mat_blocks", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'invdn.data' has no attribute {name!r}")
