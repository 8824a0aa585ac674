"""`invdn demo`: the main job on an embedded default, so a fresh install shows something at once.

A bundled photo (scikit-image's chelsea, held out from the default weights' training) gets
Gaussian noise of known σ with a fixed seed, is quantised to 8 bits like a real photo, and is
denoised with the shipped default weights. The result is written side by side as
noisy | denoised | clean, with each image on its own, and PSNR before and after is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from invdn.checks import Number, check_value
from invdn.io.images import write_image


@dataclass(frozen=True)
class DemoResult:
    """PSNR (dB, 8-bit) of the noisy input and of the denoised output; the files written."""

    psnr_noisy: float
    psnr_denoised: float
    seconds: float
    files: tuple[Path, ...]


def run_demo(out_dir: str | Path, image: str = "chelsea", sigma: float = 25.0, crop: int = 256,
             seed: int = 0, checkpoint: str | Path | None = None) -> DemoResult:
    """Denoise the central `crop`² of the bundled `image` with Gaussian noise `sigma` (8-bit
    levels) and write `demo.png` (noisy | denoised | clean), `noisy.png`, `denoised.png`,
    `clean.png` into `out_dir`."""
    check_value("sigma", sigma, Number(above=0, at_most=255, noun=""))
    from invdn.data.noise import GaussianNoise
    from invdn.data.synthetic import bundled_image
    from invdn.evaluation.protocol import block_metrics
    from invdn.evaluation.testset import center
    from invdn.inference.loading import load_checkpoint_or_default
    from invdn.inference.pipeline import DenoiseOptions, Denoiser
    from invdn.io.images import image_to_tensor, tensor_to_image
    from invdn.timing import Stopwatch

    clean = center(bundled_image(image), crop)
    noisy_t = GaussianNoise(sigma)(image_to_tensor(clean), torch.Generator().manual_seed(seed))
    noisy = tensor_to_image(noisy_t, clean)  # clipped and rounded to 8 bits
    denoiser = Denoiser(load_checkpoint_or_default(checkpoint), DenoiseOptions(seed=seed),
                        device="cpu")
    with Stopwatch() as watch:
        denoised = denoiser(noisy)
    seconds = watch.seconds
    out = Path(out_dir)
    gap = np.full((clean.shape[0], 8, 3), 255, np.uint8)
    files = {"demo.png": np.concatenate([noisy, gap, denoised, gap, clean], axis=1),
             "noisy.png": noisy, "denoised.png": denoised, "clean.png": clean}
    for name, img in files.items():
        write_image(out / name, img)
    return DemoResult(block_metrics(noisy, clean)[0], block_metrics(denoised, clean)[0],
                      seconds, tuple(out / n for n in files))
