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
  invdn denoise photo.jpg -o denoised/ --checkpoint invdn.pt
  invdn denoise shots/ -r -o clean/ --samples 4 --self-ensemble --device cuda
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library (and torch) is imported when a command runs, not for --help
    from invdn.inference.batch import BatchResult

HELP = "denoise images (files, folders, globs) into an output folder"

FORMATS = {"same": None, "png": ".png", "tif": ".tif", "jpg": ".jpg", "webp": ".webp"}


def add_device_arguments(parser: argparse.ArgumentParser, precision: bool = True) -> None:
    """`--device` and (with `precision`) `--precision`, for every command that runs a network."""
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when present), cpu, cuda or cuda:N (default auto)")
    if precision:
        parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                            help="the network's convolutions in bf16 or fp32 (the coupling "
                                 "arithmetic stays fp32); auto: bf16 where the CPU "
                                 "(AVX512-BF16/AMX) or GPU computes it natively, else fp32 "
                                 "(default auto)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the commands that run a denoiser on images."""
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="weights: invdn export, `invdn train` .ckpt or original InvDN .pth "
                             "(default: the installed default weights)")
    parser.add_argument("--samples", type=int, default=1, metavar="K",
                        help="average K latent draws (InvDN's MC self-ensemble; default 1)")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="also average the 8 flips/transposes (x8 slower)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the latent draws; same seed, same output (default 0)")
    add_device_arguments(parser)
    parser.add_argument("--tile", type=int, default=512,
                        help="tile size in pixels for bounded memory, a multiple of the "
                             "network's size multiple (4 for InvDN); 0 = whole image at once "
                             "(default 512)")
    parser.add_argument("--overlap", type=int, default=32,
                        help="overlap of neighbouring tiles in pixels (default 32)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders or quoted globs ('shots/**/*.png')")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output folder (created if missing)")
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


def denoise_options(args: argparse.Namespace):
    """The :class:`DenoiseOptions` of the shared model options in `args`."""
    from invdn.inference.pipeline import DenoiseOptions

    return DenoiseOptions(samples=args.samples, self_ensemble=args.self_ensemble,
                          tile=args.tile, overlap=args.overlap, seed=args.seed,
                          precision=args.precision)


def make_denoiser(args: argparse.Namespace):
    """The :class:`Denoiser` for the shared model options of `args`."""
    from invdn.inference.loading import load_checkpoint_or_default
    from invdn.inference.pipeline import Denoiser

    return Denoiser(load_checkpoint_or_default(args.checkpoint), denoise_options(args),
                    args.device)


def batch_callbacks(quiet: bool, desc: str) -> dict:
    """The `report`, `progress` and `tile_progress` callbacks of a batch command: failures
    above the bars on stderr, an image bar named `desc`, a tile bar for tiled images; bars
    hidden when `quiet`, else shown only on a terminal."""
    from tqdm import tqdm

    show = True if quiet else None
    return {"report": lambda line: tqdm.write(line, file=sys.stderr),
            "progress": lambda items: tqdm(items, desc=desc, unit="img", disable=show),
            "tile_progress": tile_bar(show)}


def tile_bar(quiet: bool | None):
    """A tqdm wrapper for the tiles of one image (hidden for single-tile images)."""
    from tqdm import tqdm

    def wrap(tiles: list):
        return tqdm(tiles, desc="tiles", unit="tile", leave=False,
                    disable=True if len(tiles) == 1 else quiet)

    return wrap


def batch_outcome(result: BatchResult) -> str:
    """'N skipped…, N failed[, N not done][, N not read …]' for the line that ends a batch
    command."""
    note = " (existing outputs; --overwrite replaces them)" if result.skipped else ""
    not_done = f", {result.not_done} not done" if result.not_done else ""
    not_read = (f", {result.not_read} not read (other image formats, listed above)"
                if result.not_read else "")
    return f"{result.skipped} skipped{note}, {result.failed} failed{not_done}{not_read}"


def batch_exit(result: BatchResult, command: str) -> int:
    """Report why a batch stopped early (stderr) and give the exit status: 1 when an image
    failed or the batch stopped, else 0."""
    if result.stopped:
        print(f"invdn {command}: {result.stopped}", file=sys.stderr)
    return 0 if result.ok else 1


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
