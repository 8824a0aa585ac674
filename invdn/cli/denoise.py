"""Denoise image files, folders or globs into an output folder.

Outputs keep each input's relative name and format, how it displays (EXIF orientation and the
rest of its EXIF, ICC colour profile: PNG, JPEG, TIFF), for JPEG a quality estimated from the
input's quantisation tables (--jpeg-quality sets it; 95 for other inputs; --format png for
lossless outputs), its bit depth (8 or 16 bit; 16-bit
images written as JPEG/WebP/BMP via --format are scaled to 8 bit) and its channels: gray is
denoised as RGB and written back as gray, an alpha channel is passed through untouched. Any
size works (reflect-padded to the network's multiple of 4 and cropped back); large images run
in overlapping, blended tiles so memory stays bounded.

Inputs are never overwritten, outputs are written atomically, existing outputs are skipped unless
--overwrite, and a file that fails is reported while the others are still processed (the exit
status is then 1); a full disk stops the batch at once and says how many were not done. The
same --seed gives the same output, whatever the file order. Absurd tilings (more than 10,000
tiles, or overlap making up most of the work) are refused before any work, and large jobs print
an estimate of their time first.

examples:
  invdn denoise photo.jpg                        # -> denoised/photo.jpg
  invdn denoise photo.jpg -o out/ --checkpoint invdn.pt
  invdn denoise shots/ -r -o clean/ --samples 4 --self-ensemble --device cuda
"""

from __future__ import annotations

import argparse
from pathlib import Path

from invdn.cli.common import (
    add_model_arguments,
    batch_callbacks,
    batch_exit,
    batch_outcome,
    denoise_options,
)

HELP = "denoise images (files, folders, globs) into an output folder"

FORMATS = {"same": None, "png": ".png", "tif": ".tif", "jpg": ".jpg", "webp": ".webp"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders or quoted globs ('shots/**/*.png')")
    parser.add_argument("-o", "--output", default="denoised", metavar="OUT",
                        help="output folder, created if missing (default ./denoised)")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also take images in sub-folders of INPUT folders")
    add_model_arguments(parser)
    parser.add_argument("--format", choices=sorted(FORMATS), default="same",
                        help="output format (default: same as the input)")
    parser.add_argument("--jpeg-quality", type=int, default=None, metavar="Q",
                        help="quality 1-100 of JPEG outputs (default: the input's estimated "
                             "quality for JPEG inputs, else 95)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs (default: skip them)")
    parser.add_argument("--max-megapixels", type=float, default=100.0, metavar="MP",
                        help="refuse images larger than this (default 100)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from invdn.inference.files import denoise_files

    result = denoise_files(
        args.inputs, args.output, checkpoint=args.checkpoint, options=denoise_options(args),
        device=args.device, recursive=args.recursive, suffix=FORMATS[args.format],
        overwrite=args.overwrite, max_megapixels=args.max_megapixels,
        jpeg_quality=args.jpeg_quality, notice=lambda line: print(line, flush=True),
        **batch_callbacks(args.quiet, "denoise"))
    print(f"{result.written} written, {batch_outcome(result)} in {result.seconds:.1f} s -> "
          f"{Path(args.output)}")
    return batch_exit(result, "denoise")
