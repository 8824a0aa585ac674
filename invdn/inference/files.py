"""Denoising a planned batch of image files: read, denoise, write with the input's metadata.

Each output inherits its input's display metadata (EXIF orientation, ICC profile, JPEG quality:
:mod:`invdn.imagemeta`); a failing file is reported and the batch goes on, a full disk stops it
(:func:`invdn.inference.batch.run_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from invdn.imageio import image_size, read_image, read_meta, write_image
from invdn.inference.batch import BatchResult, Job, fit_bit_depth, run_batch
from invdn.inference.pipeline import Denoiser, ProgressFn


def image_sizes(jobs: Sequence[Job]) -> list[tuple[int, int]]:
    """`(height, width)` of every input whose header can be read (the others are reported when
    their turn comes)."""
    sizes = (image_size(job.source) for job in jobs)
    return [s for s in sizes if s is not None]


def denoise_jobs(jobs: Sequence[Job], denoiser: Denoiser, max_megapixels: float | None = None,
                 jpeg_quality: int | None = None, report: Callable[[str], None] = print,
                 progress: Callable[[Sequence[Job]], Iterable[Job]] | None = None,
                 tile_progress: ProgressFn | None = None) -> BatchResult:
    """Denoise every job's source into its target (see the module docstring)."""

    def process(job: Job) -> None:
        img = read_image(job.source, max_megapixels=max_megapixels)
        out = fit_bit_depth(denoiser(img, progress=tile_progress), job.target)
        write_image(job.target, out, read_meta(job.source), jpeg_quality)

    return run_batch(jobs, process, report, progress)
