"""New noisy realizations of image files: `generate_files(inputs, output)`, the library form of
`invdn generate`.

For each input `name.ext` the output folder gets `name_clean.ext` (the clean estimate),
`name_genNN.ext` (the realizations), `name_noise.json` (the noise statistics of
:func:`invdn.inference.generate.noise_statistics`) and `name_noise.png` (their plot). Inputs whose
outputs all exist are skipped unless `overwrite`; failures are reported and the batch goes on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from invdn.errors import InvdnError
from invdn.inference.batch import BatchResult, Job, plan_jobs, report_passed_over, run_batch
from invdn.inference.files import JobProgress, check_file_options
from invdn.inference.generate import GenerateOptions, NoiseGenerator, noise_statistics, plot_noise
from invdn.inference.loading import load_checkpoint_or_default
from invdn.inference.pipeline import ProgressFn
from invdn.io.atomic import write_atomic, write_text
from invdn.io.images import read_image, read_meta, write_image
from invdn.timing import Stopwatch


def output_paths(target: Path, count: int) -> dict[str, Any]:
    """The files written for the input whose plain output would be `target`."""
    stem, suffix, folder = target.stem, target.suffix, target.parent
    return {"clean": folder / f"{stem}_clean{suffix}",
            "realizations": [folder / f"{stem}_gen{r:02d}{suffix}" for r in range(count)],
            "json": folder / f"{stem}_noise.json", "png": folder / f"{stem}_noise.png"}


def _all(outs: dict[str, Any]) -> list[Path]:
    return [outs["clean"], *outs["realizations"], outs["json"], outs["png"]]


def generate_files(inputs: Sequence[str | Path], output: str | Path, *,
                   checkpoint: str | Path | nn.Module | None = None,
                   options: GenerateOptions | None = None, device: str | torch.device = "auto",
                   recursive: bool = False, overwrite: bool = False,
                   max_megapixels: float = 100.0, report: Callable[[str], None] = print,
                   progress: JobProgress | None = None,
                   tile_progress: ProgressFn | None = None) -> BatchResult:
    """Write `options.count` noisy realizations of each image named by `inputs` (files,
    folders, globs), its clean estimate and a noise report into the folder `output` (see the
    module docstring). `checkpoint`: InvDN weights in any format, a model, or None for the
    shipped default. Returns counts (written, skipped, failed, not done) and the wall time."""
    import matplotlib.pyplot as plt

    check_file_options(max_megapixels)
    options = options or GenerateOptions()
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
        generator = NoiseGenerator(load_checkpoint_or_default(checkpoint), options, device)
        # the report names a weights file; a model handed in has no name to give
        named = None if checkpoint is None or isinstance(checkpoint, nn.Module) else str(checkpoint)

        def process(job: Job) -> None:
            outs = plans[job]
            img = read_image(job.source, max_megapixels=max_megapixels)
            meta = read_meta(job.source)
            clean, realizations = generator(img, progress=tile_progress)
            write_image(outs["clean"], clean, meta)
            for path, gen in zip(outs["realizations"], realizations, strict=True):
                write_image(path, gen, meta)
            stats = noise_statistics(img, clean, realizations)
            o = options
            record = {"input": str(job.source), "mode": o.mode, "temperature": o.temperature,
                      "latent_scale": generator.scale, "count": o.count, "window": o.window,
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
