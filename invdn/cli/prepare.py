"""Prepare training data once: crop SIDD into a cache, or gather clean photographs.

  invdn prepare sidd ROOT OUT [--crop 512] [--stride S | --crops-per-image N] [--workers W]
  invdn prepare photos OUT [--short-side 512] [--bsds DIR]

ROOT is a SIDD sRGB download in any accepted layout (see data/README.md). By default every
image is tiled with non-overlapping CROP x CROP windows (the last row/column flush with the
border); --stride S overlaps them, --crops-per-image N takes N random windows instead (seeded).
Each image's center crop is stored too, for held-out validation. The run is resumable: run the
same command again after an interruption and finished scenes are skipped. Train on the result
with `invdn train data=sidd data.cache=OUT`.

`photos` writes the allow-listed photographs of Debian packages (see `invdn.data.photos` and
docs/pretrained.md; install them with `apt-get install --no-install-recommends mate-backgrounds
lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 plasma-workspace-wallpapers opencv-doc`),
area-downscaled so the short side is at most --short-side (and by at least 2x), as PNGs with a
manifest. Resumable: photos already in OUT are kept. --bsds DIR adds the 400 photographs of
the Berkeley Segmentation Dataset outside the BSDS300 test split (DIR: a folder of BSDS500
images, e.g. the CBSD432 folder of public denoising repositories or BSDS500/data/images; the
test split's 100 photographs are left out by id). Train on them with
`invdn train data.root=OUT` (add `data.train_images=[...]` for bundled photos as well).
"""

from __future__ import annotations

import argparse

from invdn.cli.common import info

HELP = "crop SIDD into a cache of PNG pairs, or gather clean training photos (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["sidd", "photos"], help="what to prepare")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="sidd: ROOT OUT (ROOT holding Data/, or Data/ itself, or GT/ + "
                             "Noisy/; OUT the cache folder to create or resume); photos: OUT")
    parser.add_argument("--short-side", type=int, default=512,
                        help="photos: largest short side of a written photo in pixels (512)")
    parser.add_argument("--bsds", metavar="DIR",
                        help="photos: also the BSDS500 photographs in DIR, except the BSDS300 "
                             "test split (the source of BSD68/CBSD68)")
    parser.add_argument("--crop", type=int, default=512, help="crop side in pixels (512)")
    placement = parser.add_mutually_exclusive_group()
    placement.add_argument("--stride", type=int, help="grid step in pixels (default: --crop)")
    placement.add_argument("--crops-per-image", type=int, metavar="N",
                           help="N random crops per image instead of a grid")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random crops (0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes cropping scenes in parallel (1)")


def run(args: argparse.Namespace) -> int:
    from invdn.data.prepare import prepare

    summary = prepare(args.dataset, args.paths, short_side=args.short_side, bsds=args.bsds,
                      crop=args.crop, stride=args.stride, crops_per_image=args.crops_per_image,
                      seed=args.seed, workers=args.workers, log=info)
    print(summary["message"])
    return 0
