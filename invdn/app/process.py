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
from invdn.evaluation.classical import estimate_noise_sigma
from invdn.inference.batch import fit_bit_depth
from invdn.inference.pipeline import CheckpointFn, Denoiser, ProgressFn
from invdn.io.images import ImageMeta, megapixels_text, read_image, read_meta, to_float, write_image
from invdn.io.images import ImageTooLarge as PixelLimit
from invdn.timing import Stopwatch

SIGMA_CROP = 1024  # noise is estimated on at most the central 1024 x 1024 pixels (speed)


class ImageTooLarge(InvdnError):
    """The image is above a pixel limit of the server (HTTP 413)."""


@dataclass(frozen=True)
class Outcome:
    """A denoised image: `data` in the input's format and bit depth; `previews` (noisy,
    denoised) as 8-bit PNG for browsers, which show neither TIFF nor 16-bit faithfully, or None;
    `noise_sigma` estimated on the input, on the 0–255 scale; `seconds` from reading the upload to
    encoding the result; `height` x `width` as the image displays (after its EXIF
    orientation: a portrait photo stored sideways is taller than wide)."""

    data: bytes
    suffix: str
    height: int
    width: int
    channels: int  # 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA: as the input file has them
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


def tile_pixels(height: int, width: int, tile: int) -> int:
    """Pixels of the largest network call denoising a `height` x `width` image at `tile`
    (0: the whole image; a tile larger than the image is the whole image too)."""
    return height * width if tile == 0 else min(tile, height) * min(tile, width)


def denoise_file(source: Path, denoiser: Denoiser, max_megapixels: float,
                 max_untiled_megapixels: float, previews: bool = False,
                 progress: ProgressFn | None = None,
                 checkpoint: CheckpointFn | None = None) -> Outcome:
    """Denoise the staged upload `source` (named by us, e.g. `input.png`) into bytes of the same
    format next to it. InvdnError (ImageTooLarge for pixel limits) for images it cannot take:
    above `max_megapixels`, or with one tile (tile 0, or a tile as large as the image) above
    `max_untiled_megapixels`. `checkpoint()` is called between steps and network passes; what
    it raises stops the work (cancellation)."""
    check = checkpoint or (lambda: None)
    watch = Stopwatch()
    img = read_image(source, max_megapixels=max_megapixels)
    h, w, c = img.shape
    at_once = tile_pixels(h, w, denoiser.tile)
    if at_once > max_untiled_megapixels * 1e6:
        what = ("tile 0 (whole image at once)" if denoiser.tile == 0 else
                f"tile {denoiser.tile} (one tile of {min(denoiser.tile, w)}x"
                f"{min(denoiser.tile, h)} at once)")
        raise ImageTooLarge(f"{w}x{h} is {megapixels_text(h * w)} MP; {what} is limited to "
                            f"{max_untiled_megapixels:g} MP here; pick a smaller tile "
                            "(e.g. the default 512)")
    denoiser.plan([(h, w)], measure_above=math.inf)  # the CLI's guard against absurd tilings
    check()
    sigma = noise_sigma(img)
    check()
    out = denoiser(img, progress=progress, checkpoint=checkpoint)
    check()
    meta = read_meta(source)
    target = source.with_name(f"output{source.suffix}")
    data = _encode(fit_bit_depth(out, target), target, meta)
    pair = None
    if previews:
        pair = (_preview(img, source.with_name("preview_in.png"), meta),
                _preview(out, source.with_name("preview_out.png"), meta))
    shown_h, shown_w = (w, h) if meta.orientation in (5, 6, 7, 8) else (h, w)
    channels = 2 if meta.gray_alpha and c == 4 and source.suffix == ".png" else c
    return Outcome(data, source.suffix, shown_h, shown_w, channels, 8 * img.dtype.itemsize,
                   sigma, watch.seconds, pair)


def error_status(err: BaseException) -> int:
    """The HTTP status for a failure of :func:`denoise_file`: 413 for size limits, 422 for other
    problems with the image, 500 for anything unexpected."""
    if isinstance(err, ImageTooLarge | PixelLimit):
        return 413
    if isinstance(err, InvdnError):
        # OpenCV's own pixel cap comes as a plain InvdnError
        return 413 if "more pixels than" in str(err) else 422
    return 500


def error_text(err: BaseException, source: Path, name: str) -> str:
    """The one-line message of a failure of :func:`denoise_file` for the client: the upload's
    own name instead of our staging path, and fixes a web user can apply (a smaller image),
    not the command line's flags."""
    if isinstance(err, PixelLimit):
        return (f"{name}: {err.width}x{err.height} is {megapixels_text(err.width * err.height)} MP, "
                f"above this server's limit of {err.limit_megapixels:g} MP per image; send a "
                "smaller image")
    text = (str(err).splitlines() or [type(err).__name__])[0]
    text = text.replace(str(source), name)  # our staging path is ours
    if error_status(err) == 500:
        text = f"internal error while denoising {name}: {type(err).__name__}: {text}"
    return text
