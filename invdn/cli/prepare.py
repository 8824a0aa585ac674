"""Crop a dataset once into a cache of small PNGs, so training does not decode full images.

  invdn prepare sidd ROOT OUT [--crop 512] [--stride S | --crops-per-image N] [--workers W]

ROOT is a SIDD sRGB download in any accepted layout (see data/README.md). By default every
image is tiled with non-overlapping CROP x CROP windows (the last row/column flush with the
border); --stride S overlaps them, --crops-per-image N takes N random windows instead (seeded).
Each image's center crop is stored too, for held-out validation. The run is resumable: run the
same command again after an interruption and finished scenes are skipped. Train on the result
with `invdn train data=sidd data.cache=OUT`.
"""

from __future__ import annotations

import argparse
import sys

HELP = "crop SIDD once into a cache of 512x512 PNG pairs (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["sidd"], help="dataset kind")
    parser.add_argument("root", help="the dataset folder (SIDD: holding Data/, or Data/ itself, "
                                     "or GT/ + Noisy/)")
    parser.add_argument("out", help="cache folder to create or resume")
    parser.add_argument("--crop", type=int, default=512, help="crop side in pixels (512)")
    placement = parser.add_mutually_exclusive_group()
    placement.add_argument("--stride", type=int, help="grid step in pixels (default: --crop)")
    placement.add_argument("--crops-per-image", type=int, metavar="N",
                           help="N random crops per image instead of a grid")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random crops (0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes cropping scenes in parallel (1)")


def run(args: argparse.Namespace) -> int:
    from invdn.data.cache import CropPlan, prepare_sidd_cache
    from invdn.errors import InvdnError

    for name in ("crop", "stride", "crops_per_image", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InvdnError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.crop % 4:
        raise InvdnError(f"--crop {args.crop} must be a multiple of 4 (InvDN's size multiple)")
    plan = CropPlan(crop=args.crop, stride=args.stride, per_image=args.crops_per_image,
                    seed=args.seed)
    summary = prepare_sidd_cache(args.root, args.out, plan, workers=args.workers,
                                 log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"cache ready: {summary['out']} ({summary['scenes']} scenes, {summary['new_crops']} "
          f"new crops, {summary['skipped']} scenes skipped); train with "
          f"`invdn train data=sidd data.cache={summary['out']}`")
    return 0
