"""What several commands share: the flags of commands that run a network and the progress bars
and closing line of batch commands. Imports nothing heavy at module level (`--help` stays fast);
the library does the work and the checks."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library (and torch) is imported when a command runs, not for --help
    from invdn.inference.batch import BatchResult
    from invdn.inference.pipeline import DenoiseOptions


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
    """Options shared by the commands that run a denoiser on images (`DenoiseOptions`)."""
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
    parser.add_argument("--overlap", type=int, default=None,
                        help="overlap of neighbouring tiles in pixels (default: what the "
                             "network's reach needs for seams under 0.1 gray level, measured "
                             "on it once)")


def denoise_options(args: argparse.Namespace) -> DenoiseOptions:
    """The :class:`DenoiseOptions` of the flags of :func:`add_model_arguments` (checked there)."""
    from invdn.inference.pipeline import DenoiseOptions

    return DenoiseOptions(samples=args.samples, self_ensemble=args.self_ensemble,
                          tile=args.tile, overlap=args.overlap, seed=args.seed,
                          precision=args.precision)


def progress_bar(quiet: bool, desc: str):
    """A tqdm wrapper `(items, total) -> items` for a bar named `desc`; hidden when `quiet`,
    else shown only on a terminal."""
    from tqdm import tqdm

    def wrap(items, total: int | None = None):
        return tqdm(items, total=total, desc=desc, unit="img", disable=True if quiet else None)

    return wrap


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


def info(line: str) -> None:
    """A progress line of a library function, on stderr (stdout keeps the results)."""
    print(line, file=sys.stderr, flush=True)
