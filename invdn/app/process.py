"""One uploaded image through the same library calls as `invdn denoise`, plus page extras.

`invdn denoise` (:func:`invdn.inference.files.denoise_jobs`) checks the tiling with
`Denoiser.plan`, then does `read_image(path, max_megapixels)` → `Denoiser(img, progress)` →
`fit_bit_depth` → `write_image(target, out, read_meta(path))`, the last keeping the input's EXIF
orientation, ICC profile and JPEG quality; so does :func:`denoise_file`, with the target's suffix
that of the input, so the bytes it returns equal the CLI's output file for the same weights,
options and seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invdn.errors import InvdnError
from invdn.inference.batch import fit_bit_depth
from invdn.inference.classical import estimate_noise_sigma
from invdn.inference.pipeline import Denoiser, ProgressFn
from invdn.io.images import ImageMeta, read_image, read_meta, to_float, write_image
from invdn.timing import Stopwatch

SIGMA_CROP = 1024  # noise is estimated on at most the central 1024 x 1024 pixels (speed)


class ImageTooLarge(InvdnError):
    """The image is above a pixel limit (HTTP 413)."""


@dataclass(frozen=True)
class Outcome:
    """A denoised image: `data` in the input's format and bit depth; `previews` (noisy,
    denoised) as 8-bit PNG for browsers, which show neither TIFF nor 16-bit faithfully, or None;
    `noise_sigma` estimated on the input, on the 0–255 scale; `seconds` from reading the upload to
    encoding the result."""

    data: bytes
    suffix: str
    height: int
    width: int
    channels: int
    bit_depth: int
    noise_sigma: float
    seconds: float
    previews: tuple[bytes, bytes] | None = None

    @property
    def nbytes(self) -> int:
        return len(self.data) + sum(map(len, self.previews or ()))


def noise_sigma(img: np.ndarray) -> float:
    """Gaussian noise σ of `(H, W, C)` uint8/uint16 on the 0–255 scale, estimated on the colour
    channels of the central crop of at most SIGMA_CROP² pixels (alpha ignored)."""
    h, w = img.shape[:2]
    y, x = max(0, (h - SIGMA_CROP) // 2), max(0, (w - SIGMA_CROP) // 2)
    crop = img[y : y + SIGMA_CROP, x : x + SIGMA_CROP, :3]
    if min(crop.shape[:2]) < 2:
        return 0.0  # the wavelet estimate needs at least two pixels each way
    return 255.0 * estimate_noise_sigma(to_float(crop))


def _encode(img: np.ndarray, path: Path, meta: ImageMeta) -> bytes:
    write_image(path, img, meta)
    data = path.read_bytes()
    path.unlink()
    return data


def _preview(img: np.ndarray, path: Path, meta: ImageMeta) -> bytes:
    # fit_bit_depth rescales 16-bit to 8-bit for any 8-bit-only suffix; .jpg names one. The
    # input's orientation and colour profile go along, so browsers show both sides as the
    # download will display.
    return _encode(fit_bit_depth(img, Path("preview.jpg")), path, meta)


def denoise_file(source: Path, denoiser: Denoiser, max_megapixels: float,
                 max_untiled_megapixels: float, previews: bool = False,
                 progress: ProgressFn | None = None) -> Outcome:
    """Denoise the staged upload `source` (named by us, e.g. `input.png`) into bytes of the same
    format next to it. InvdnError (ImageTooLarge for pixel limits) for images it cannot take."""
    watch = Stopwatch()
    img = read_image(source, max_megapixels=max_megapixels)
    h, w, c = img.shape
    if denoiser.tile == 0 and h * w > max_untiled_megapixels * 1e6:
        raise ImageTooLarge(f"{w}x{h} is {h * w / 1e6:.1f} MP; tile 0 (whole image at once) is "
                            f"limited to {max_untiled_megapixels:g} MP here; pick a tile size")
    denoiser.plan([(h, w)], measure_above=math.inf)  # the CLI's guard against absurd tilings
    sigma = noise_sigma(img)
    out = denoiser(img, progress=progress)
    meta = read_meta(source)
    target = source.with_name(f"output{source.suffix}")
    data = _encode(fit_bit_depth(out, target), target, meta)
    pair = None
    if previews:
        pair = (_preview(img, source.with_name("preview_in.png"), meta),
                _preview(out, source.with_name("preview_out.png"), meta))
    return Outcome(data, source.suffix, h, w, c, 8 * img.dtype.itemsize, sigma,
                   watch.seconds, pair)


def error_status(err: BaseException) -> int:
    """The HTTP status for a failure of :func:`denoise_file`: 413 for size limits, 422 for other
    problems with the image, 500 for anything unexpected."""
    if isinstance(err, ImageTooLarge):
        return 413
    if isinstance(err, InvdnError):
        # read_image's own limits (its megapixel guard, OpenCV's pixel cap) are InvdnErrors too
        text = str(err)
        return 413 if "above the limit" in text or "more pixels than" in text else 422
    return 500
