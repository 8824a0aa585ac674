"""Using a trained network on image files: `denoise_files(inputs, output)`, the library form
of `invdn denoise`, and `resample_files(inputs, output)`, of `invdn generate`.

Inputs are files, folders or globs (:func:`invdn.inference.batch.plan_jobs`); each output keeps
its input's relative name, format (unless `suffix` forces one), bit depth, channels and display
metadata (EXIF orientation, ICC profile, JPEG quality: :mod:`invdn.io.metadata`). Existing
outputs are skipped unless `overwrite`; a failing file is reported and the batch goes on, a full
disk stops it (:func:`invdn.inference.batch.run_batch`).

`resample_files` writes, for each input `name.ext`, `name_clean.ext` (the clean estimate),
`name_genNN.ext` (the noisy realizations of :class:`invdn.inference.resample.LatentResampler`),
`name_noise.json` (the noise statistics of :func:`invdn.inference.resample.noise_statistics`)
and `name_noise.png` (their plot); an input whose outputs all exist is skipped unless
`overwrite`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from invdn.checks import Int, Number, Rule, check_value
from invdn.errors import InvdnError
from invdn.inference.batch import (
    BatchResult,
    Job,
    fit_bit_depth,
    make_output_folder,
    plan_jobs,
    report_passed_over,
    run_batch,
    run_pipelined,
)
from invdn.inference.loading import load_checkpoint_or_default
from invdn.inference.pipeline import DenoiseOptions, Denoiser, ProgressFn, RateMeter
from invdn.inference.resample import (
    LatentResampler,
    ResampleOptions,
    noise_statistics,
    plot_noise,
)
from invdn.io.atomic import write_atomic, write_text
from invdn.io.images import ImageMeta, image_size, read_image, read_meta, write_image
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
    """Denoise every job's source into its target (see the module docstring): the next file is
    decoded and the previous one encoded while the network runs (:func:`run_pipelined`)."""

    def load(job: Job) -> tuple[np.ndarray, ImageMeta]:
        return read_image(job.source, max_megapixels=max_megapixels), read_meta(job.source)

    def compute(job: Job, loaded: tuple[np.ndarray, ImageMeta]) -> tuple[np.ndarray, ImageMeta]:
        img, meta = loaded
        return fit_bit_depth(denoiser(img, progress=tile_progress), job.target), meta

    def save(job: Job, computed: tuple[np.ndarray, ImageMeta]) -> None:
        out, meta = computed
        write_image(job.target, out, meta, jpeg_quality)

    return run_pipelined(jobs, load, compute, save, report, progress)


FILE_RULES: dict[str, Rule] = {"max_megapixels": Number(above=0, noun=""),
                               "jpeg_quality": Int(1, maximum=100, noun="", null=True)}


def check_file_options(max_megapixels: float, jpeg_quality: int | None = None) -> None:
    """OptionError unless `max_megapixels` > 0 and `jpeg_quality` is None or in 1..100."""
    check_value("max_megapixels", max_megapixels, FILE_RULES["max_megapixels"])
    check_value("jpeg_quality", jpeg_quality, FILE_RULES["jpeg_quality"])


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
        if work.wanted:  # the estimate from the first tiles, or why there is none
            denoiser.meter = RateMeter(lambda rates: notice(work.measured_with(rates).describe()))
        result = denoise_jobs(todo, denoiser, max_megapixels, jpeg_quality, report, progress,
                              tile_progress)
    result.skipped = len(jobs) - len(todo)
    result.not_read = len(passed_over)
    result.seconds = watch.seconds
    return result


def output_paths(target: Path, count: int) -> dict[str, Any]:
    """The files written for the input whose plain output would be `target`."""
    stem, suffix, folder = target.stem, target.suffix, target.parent
    return {"clean": folder / f"{stem}_clean{suffix}",
            "realizations": [folder / f"{stem}_gen{r:02d}{suffix}" for r in range(count)],
            "json": folder / f"{stem}_noise.json", "png": folder / f"{stem}_noise.png"}


def _all(outs: dict[str, Any]) -> list[Path]:
    return [outs["clean"], *outs["realizations"], outs["json"], outs["png"]]


def resample_files(inputs: Sequence[str | Path], output: str | Path, *,
                   checkpoint: str | Path | nn.Module | None = None,
                   options: ResampleOptions | None = None, device: str | torch.device = "auto",
                   recursive: bool = False, overwrite: bool = False,
                   max_megapixels: float = 100.0, report: Callable[[str], None] = print,
                   progress: JobProgress | None = None,
                   tile_progress: ProgressFn | None = None) -> BatchResult:
    """Write `options.count` noisy realizations of each image named by `inputs` (files,
    folders, globs), its clean estimate and a noise report into the folder `output` (see the
    module docstring), each drawn by resampling InvDN's latent. `checkpoint`: InvDN weights in
    any format, a model, or None for the shipped default. Returns counts (written, skipped,
    failed, not done) and the wall time."""
    import matplotlib.pyplot as plt

    check_file_options(max_megapixels)
    options = options or ResampleOptions()
    watch = Stopwatch()
    passed_over: list[Path] = []
    jobs = plan_jobs([str(i) for i in inputs], output, recursive, passed_over=passed_over)
    report_passed_over(passed_over, report)
    inputs_real = {os.path.realpath(j.source) for j in jobs}
    plans: dict[Job, dict[str, Any]] = {}
    for job in jobs:
        outs = output_paths(job.target, options.count)
        clash = next((p for p in _all(outs) if os.path.realpath(p) in inputs_real), None)
        if clash is not None:
            raise InvdnError(f"output {clash} would overwrite an input; choose another output "
                             "folder")
        if overwrite or not all(p.exists() for p in _all(outs)):
            plans[job] = outs
    result = BatchResult()
    if plans:
        resampler = LatentResampler(load_checkpoint_or_default(checkpoint), options, device)
        # the report names a weights file; a model handed in has no name to give
        named = None if checkpoint is None or isinstance(checkpoint, nn.Module) else str(checkpoint)

        def process(job: Job) -> None:
            outs = plans[job]
            img = read_image(job.source, max_megapixels=max_megapixels)
            meta = read_meta(job.source)
            clean, realizations = resampler(img, progress=tile_progress)
            write_image(outs["clean"], clean, meta)
            for path, gen in zip(outs["realizations"], realizations, strict=True):
                write_image(path, gen, meta)
            stats = noise_statistics(img, clean, realizations)
            o = options
            record = {"input": str(job.source), "mode": o.mode, "temperature": o.temperature,
                      "latent_scale": resampler.scale, "count": o.count, "window": o.window,
                      "samples": o.samples, "seed": o.seed, "checkpoint": named, **stats}
            fig = plot_noise(stats, f"{job.source.name}: mode {o.mode}, T={o.temperature:g}")
            try:
                write_atomic(outs["png"], lambda p: fig.savefig(p, dpi=110, format="png"))
            finally:
                plt.close(fig)
            write_text(outs["json"], json.dumps(record, indent=2))

        result = run_batch(list(plans), process, report, progress)
    result.skipped = len(jobs) - len(plans)
    result.not_read = len(passed_over)
    result.seconds = watch.seconds
    return result
