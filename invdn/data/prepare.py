"""Preparing training data once: `prepare(dataset, paths, ...)`, the library form of `invdn
prepare` — a SIDD crop cache (:mod:`invdn.data.cache`) or a folder of clean photographs
(:mod:`invdn.data.photos`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from invdn.checks import Int, check_value
from invdn.errors import OptionError

DATASETS = {"sidd": "ROOT OUT", "photos": "OUT"}


def prepare(dataset: str, paths: Sequence[str | Path], *, short_side: int = 512,
            bsds: str | Path | None = None, crop: int = 512, stride: int | None = None,
            crops_per_image: int | None = None, seed: int = 0, workers: int = 1,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Prepare `dataset` ('sidd': `paths` = ROOT OUT; 'photos': `paths` = OUT) and return its
    summary, with `message`: the line that says what is ready and how to train on it.

    sidd: `crop`² windows on a grid of `stride` (default: `crop`) or `crops_per_image` random
    ones from `seed`, cropped by `workers` processes. photos: the allow-listed photographs of
    Debian packages plus, with `bsds`, the BSDS500 photographs outside the BSDS300 test split,
    area-downscaled to a short side of at most `short_side`. Both resume where they stopped."""
    if dataset not in DATASETS:
        raise OptionError("dataset", repr(dataset), f"must be one of {', '.join(DATASETS)}")
    wanted = DATASETS[dataset]
    if len(paths) != len(wanted.split()):
        raise OptionError(None, None, f"invdn prepare {dataset} takes {wanted}, got "
                                      f"{len(paths)} path(s)")
    if dataset == "photos":
        return _photos(paths[0], short_side, bsds, log)
    root, out = paths
    for key, value in (("crop", crop), ("stride", stride), ("crops_per_image", crops_per_image),
                       ("workers", workers)):
        check_value(key, value, Int(1, null=True, noun=""))
    if crop % 4:
        raise OptionError("crop", crop, "must be a multiple of 4 (InvDN's size multiple)")
    from invdn.data.cache import CropPlan, prepare_sidd_cache

    plan = CropPlan(crop=crop, stride=stride, per_image=crops_per_image, seed=seed)
    summary = prepare_sidd_cache(root, out, plan, workers=workers, log=log)
    summary["message"] = (f"cache ready: {summary['out']} ({summary['scenes']} scenes, "
                          f"{summary['new_crops']} new crops, {summary['skipped']} scenes "
                          f"skipped); train with `invdn train data=sidd "
                          f"data.cache={summary['out']}`")
    return summary


def _photos(out: str | Path, short_side: int, bsds: str | Path | None,
            log: Callable[[str], None]) -> dict[str, Any]:
    from invdn.data.photos import SOURCES, bsds_sources, prepare_photos

    sources = [*SOURCES, *(bsds_sources(bsds) if bsds else ())]
    summary = prepare_photos(out, sources, short_side=short_side, log=log)
    missing = (f"; {summary['missing']} missing, install: apt-get install "
               f"{' '.join(summary['missing_packages'])}" if summary["missing"] else "")
    summary["message"] = (f"photos ready: {summary['out']} ({summary['photos']} photos, "
                          f"{summary['written']} new, {summary['skipped']} kept{missing}); "
                          f"train with `invdn train data.root={summary['out']}`")
    return summary
