"""The field's standard denoising test sets (CBSD68, Kodak24, BSD68, Set12) and their protocol.

Protocol of the published tables (DnCNN, FFDNet, DRUNet, Restormer), `protocol="paper"`:
clean = image / 255 (float); noisy = clean + N(0, σ/255), drawn in float64 by NumPy's legacy
generator seeded once per (set, σ) (`np.random.seed(0)`), images in sorted file order, **not
clipped, not quantized**. `protocol="8bit"` draws the same noise and then clips and rounds the
noisy image to 8 bits: what a user's file, and `invdn denoise`, see. Scores: PSNR/SSIM of the
output clipped to [0, 1] and rounded to uint8, against the uint8 clean image, all channels
(`invdn.evaluation.protocol.block_metrics`); a set's score is the mean over its images. Gray
sets are denoised and scored as gray images.

The sets are not part of the project (evaluation only, never trained on): `root` is a folder
holding `CBSD68/`, `Kodak24/`, `BSD68/` and `Set12/`, e.g. the `testsets/` folder of the
FFDNet authors' repository (github.com/cszn/FFDNet) or of KAIR (github.com/cszn/KAIR).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invdn.errors import InvdnError

#: A denoiser for the benchmark: noisy `(H, W, C)` float32 (C = 1 or 3, any range) → denoised,
#: same shape, float (clipped and rounded by the scoring).
Method = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TestSet:
    """A standard set: its folder name under the root and whether its images are gray."""

    name: str
    gray: bool


TEST_SETS = (TestSet("CBSD68", False), TestSet("Kodak24", False), TestSet("BSD68", True),
             TestSet("Set12", True))
SIGMAS = (15, 25, 50)
PROTOCOLS = ("paper", "8bit")


def test_set(name: str) -> TestSet:
    """The set called `name`; InvdnError naming the known ones otherwise."""
    for s in TEST_SETS:
        if s.name == name:
            return s
    raise InvdnError(f"test set {name!r} unknown; choose from "
                     f"{', '.join(s.name for s in TEST_SETS)}")


def load_set(root: str | Path, name: str) -> list[tuple[str, np.ndarray]]:
    """`(file stem, uint8 (H, W, C))` of every image of set `name` under `root`, sorted by file
    name; C = 1 for the gray sets (a colour file there is turned gray), 3 for the colour ones."""
    from invdn.io.images import read_image

    spec = test_set(name)
    folder = Path(root) / spec.name
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".bmp", ".tif"))
    if not files:
        raise InvdnError(f"{folder}: no images; give --root the folder that holds "
                         f"{', '.join(s.name for s in TEST_SETS)} (e.g. FFDNet's testsets/)")
    images = []
    for path in files:
        img = read_image(path)[:, :, :3]
        if img.dtype != np.uint8:
            raise InvdnError(f"{path}: {img.dtype}; the standard sets are 8-bit")
        if spec.gray and img.shape[2] == 3:
            import cv2

            img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[:, :, None]
        elif not spec.gray and img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        images.append((path.stem, np.ascontiguousarray(img)))
    return images


def noisy_inputs(images: Sequence[tuple[str, np.ndarray]], sigma: float, protocol: str
                 ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """`(name, clean uint8, noisy float32)` for each image: the protocol's noise at `sigma`
    (8-bit levels), one generator seeded with 0 for the whole set."""
    if protocol not in PROTOCOLS:
        raise InvdnError(f"protocol {protocol!r} unknown; choose from {', '.join(PROTOCOLS)}")
    rng = np.random.RandomState(0)  # = np.random.seed(0) then np.random.normal, as the papers
    for name, clean in images:
        noisy = clean.astype(np.float64) / 255.0 + rng.normal(0.0, sigma / 255.0, clean.shape)
        if protocol == "8bit":
            noisy = np.round(np.clip(noisy, 0.0, 1.0) * 255.0) / 255.0
        yield name, clean, noisy.astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float `(H, W, C)` → uint8, clipped to [0, 1] and rounded (the protocol's output)."""
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def score(denoised: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    """(PSNR dB, SSIM) of a float output against the uint8 clean image."""
    from invdn.evaluation.protocol import block_metrics

    return block_metrics(to_uint8(denoised), clean)


@dataclass
class Timer:
    """Seconds spent inside a method and the megapixels it denoised (for MP/s)."""

    seconds: float = 0.0
    megapixels: float = 0.0

    @property
    def mp_per_s(self) -> float | None:
        return self.megapixels / self.seconds if self.seconds else None


def run_timed(method: Method, noisy: np.ndarray, timer: Timer) -> np.ndarray:
    """`method(noisy)`, its wall time and pixels added to `timer`."""
    start = time.perf_counter()
    out = method(noisy)
    timer.seconds += time.perf_counter() - start
    timer.megapixels += noisy.shape[0] * noisy.shape[1] / 1e6
    return out


def evaluate_set(method: Method, images: Sequence[tuple[str, np.ndarray]], sigma: float,
                 protocol: str, timer: Timer | None = None,
                 log: Callable[[str], None] | None = None) -> dict:
    """Mean and per-image PSNR/SSIM of `method` on `images` at `sigma` under `protocol`, and of
    the noisy input itself: `{"psnr", "ssim", "noisy_psnr", "images": [{name, psnr, ssim}]}`."""
    timer = timer if timer is not None else Timer()
    records = []
    noisy_psnr = []
    for name, clean, noisy in noisy_inputs(images, sigma, protocol):
        out = run_timed(method, noisy, timer)
        psnr, ssim = score(out, clean)
        noisy_psnr.append(score(noisy, clean)[0])
        records.append({"name": name, "psnr": psnr, "ssim": ssim})
        if log is not None:
            log(f"{name} σ={sigma:g} {protocol}: {psnr:.2f} dB")
    return {"psnr": float(np.mean([r["psnr"] for r in records])),
            "ssim": float(np.mean([r["ssim"] for r in records])),
            "noisy_psnr": float(np.mean(noisy_psnr)), "images": records}


__all__ = ["Method", "PROTOCOLS", "SIGMAS", "TEST_SETS", "TestSet", "Timer", "evaluate_set",
           "load_set", "noisy_inputs", "run_timed", "score", "test_set", "to_uint8"]
