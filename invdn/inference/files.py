"""Denoising image files: `denoise_files(inputs, output)`, the library form of `invdn denoise`.

Inputs are files, folders or globs (:func:`invdn.inference.batch.plan_jobs`); each output keeps
its input's relative name, format (unless `suffix` forces one), bit depth, channels and display
metadata (EXIF orientation, ICC profile, JPEG quality: :mod:`invdn.io.metadata`). Existing
outputs are skipped unless `overwrite`; a failing file is reported and the batch goes on, a full
disk stops it (:func:`invdn.inference.batch.run_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
from torch import nn

from invdn.errors import OptionError
from invdn.inference.batch import (
    BatchResult,
    Job,
    fit_bit_depth,
    make_output_folder,
    plan_jobs,
    report_passed_over,
    run_batch,
)
from invdn.inference.loading import load_checkpoint_or_default
from invdn.inference.pipeline import DenoiseOptions, Denoiser, ProgressFn
from invdn.io.images import image_size, read_image, read_meta, write_image
from invdn.timing import Stopwatch

JobProgress = Callable[[Sequence[Job]], Iterable[Job]]


def image_sizes(jobs: Sequence[Job], max_megapixels: float = float("inf")
                ) -> list[tuple[int, int]]:
    """`(height, width)` of every input whose header can be read and is within
    `max_megapixels` (the others are reported when their turn comes: a bomb's tiling must not
    refuse the whole batch)."""
    sizes = (image_size(job.source) for job in jobs)
    return [s for s in sizes if s is not None and s[0] * s[1] <= max_megapixels * 1e6]


def denoise_jobs(jobs: Sequence[Job], denoiser: Denoiser, max_megapixels: float | None = None,
                 jpeg_quality: int | None = None, report: Callable[[str], None] = print,
                 progress: JobProgress | None = None,
                 tile_progress: ProgressFn | None = None) -> BatchResult:
    """Denoise every job's source into its target (see the module docstring)."""

    def process(job: Job) -> None:
        img = read_image(job.source, max_megapixels=max_megapixels)
        out = fit_bit_depth(denoiser(img, progress=tile_progress), job.target)
        write_image(job.target, out, read_meta(job.source), jpeg_quality)

    return run_batch(jobs, process, report, progress)


def check_file_options(max_megapixels: float, jpeg_quality: int | None = None) -> None:
    """OptionError unless `max_megapixels` > 0 and `jpeg_quality` is None or in 1..100."""
    if not max_megapixels > 0:
        raise OptionError("max_megapixels", f"{max_megapixels:g}", "must be > 0")
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise OptionError("jpeg_quality", jpeg_quality, "must be in 1..100")


def denoise_files(inputs: Sequence[str | Path], output: str | Path, *,
                  checkpoint: str | Path | nn.Module | None = None,
                  options: DenoiseOptions | None = None, device: str | torch.device = "auto",
                  recursive: bool = False, suffix: str | None = None, overwrite: bool = False,
                  max_megapixels: float = 100.0, jpeg_quality: int | None = None,
                  notice: Callable[[str], None] = print, report: Callable[[str], None] = print,
                  progress: JobProgress | None = None,
                  tile_progress: ProgressFn | None = None) -> BatchResult:
    """Denoise the images named by `inputs` (files, folders, globs) into the folder `output`.

    `checkpoint`: a weights file in any format, a model, or None for the shipped default;
    `suffix` (e.g. '.png') forces the output format; `jpeg_quality` None keeps a JPEG input's
    estimated quality (95 for other inputs). Options and tiling are checked, and absurd tilings
    refused, before any work; `notice(line)` gets the work estimate of large jobs, `report(line)`
    each failure and each file of another image format found in a folder or glob (GIF, HEIC…,
    which are not read). Returns counts (written, skipped, failed, not done, not read) and the
    wall time."""
    check_file_options(max_megapixels, jpeg_quality)
    watch = Stopwatch()
    passed_over: list[Path] = []
    jobs = plan_jobs([str(i) for i in inputs], output, recursive, suffix, passed_over)
    report_passed_over(passed_over, report)
    todo = [j for j in jobs if overwrite or not j.target.exists()]
    result = BatchResult()  # nothing to do: nothing written
    if todo:
        # checks the options and the device
        denoiser = Denoiser(load_checkpoint_or_default(checkpoint), options, device)
        work = denoiser.plan(image_sizes(todo, max_megapixels))  # absurd tilings: before any work
        make_output_folder(output)
        if work.measured:  # the estimate, or why there is none
            notice(work.describe())
        result = denoise_jobs(todo, denoiser, max_megapixels, jpeg_quality, report, progress,
                              tile_progress)
    result.skipped = len(jobs) - len(todo)
    result.not_read = len(passed_over)
    result.seconds = watch.seconds
    return result
