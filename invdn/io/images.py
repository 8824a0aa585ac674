"""Reading and writing images the way users have them: 8/16-bit, gray, RGB, RGBA; atomic writes.

Arrays are `(H, W, C)` in RGB(A) order, C ∈ {1, 3, 4}, dtype uint8 or uint16, in the file's
stored orientation. What decides how an image displays (EXIF orientation, ICC profile, JPEG
quality) travels separately as :class:`invdn.io.metadata.ImageMeta` (`read_meta`, and
`write_image(..., meta=)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np

from invdn.errors import InvdnError
from invdn.io.atomic import write_atomic
from invdn.io.headers import HeaderError, ImageHeader, read_header
from invdn.io.metadata import (
    ImageMeta,
    embed_jpeg,
    embed_png,
    encode_png_gray_alpha,
    encode_tiff,
    read_meta,
)

if TYPE_CHECKING:
    import torch

__all__ = ["IMAGE_SUFFIXES", "ImageMeta", "read_image", "read_meta", "write_image", "to_float",
           "from_float", "round_levels", "rescale_depth", "image_size", "image_to_tensor",
           "tensor_to_image", "gray_from_rgb", "DEFAULT_JPEG_QUALITY"]

Levels = TypeVar("Levels")  # np.ndarray or torch.Tensor (torch is not imported here)

# libtiff/libpng warnings go to stderr and scare users; real failures still raise below.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
DEFAULT_JPEG_QUALITY = 95  # OpenCV's default; used when the input's quality is unknown


class ImageTooLarge(InvdnError):
    """An image above a pixel limit; `width`, `height` and `limit_megapixels` let each
    interface word its own fix (the message is the command line's)."""

    def __init__(self, path: str | Path, width: int, height: int, limit_megapixels: float) -> None:
        self.path, self.width, self.height = path, width, height
        self.limit_megapixels = limit_megapixels
        super().__init__(f"{path}: its header claims {megapixels_text(width * height)} MP "
                         f"({width}x{height}), above the limit of {limit_megapixels:g} MP; "
                         "raise --max-megapixels to process it")


def megapixels_text(pixels: int) -> str:
    """A pixel count in MP as people read it: '10,000', '12.0', '0.12', '0.0016'."""
    mp = pixels / 1e6
    return f"{mp:,.0f}" if mp >= 100 else f"{mp:.1f}" if mp >= 0.1 else f"{mp:.3g}"


def read_image(path: str | Path, max_megapixels: float | None = None) -> np.ndarray:
    """Read an image file as `(H, W, C)` uint8/uint16 RGB(A); InvdnError if it can't be used.

    With `max_megapixels` (what `invdn denoise`, `invdn generate` and `invdn serve` pass), the
    file is first checked by its header as the decoder reads it (:mod:`invdn.io.headers`), and
    refused before anything is decoded when it is larger (ImageTooLarge), when the header
    cannot be parsed or is no PNG, JPEG, TIFF, BMP or WebP, or when it is a TIFF of several
    pages (the decoder reads only the first, and the output would silently lose the rest)."""
    path = Path(path)
    if not path.is_file():
        problem = ("is a folder, not an image file" if path.is_dir() else
                   "not a regular file" if path.exists() else "no such file")
        raise InvdnError(f"{path}: {problem}")
    try:
        data = np.fromfile(path, dtype=np.uint8)  # handles non-ASCII names, unlike cv2.imread
    except OSError as err:
        raise InvdnError(f"{path}: cannot read ({err.strerror}); check the file's permissions") from err
    if data.size == 0:
        raise InvdnError(f"{path}: empty file")
    header = None
    if max_megapixels is not None:
        header = check_header(path, data.tobytes(), max_megapixels)
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as err:  # e.g. a header claiming more pixels than OpenCV allows
        reason = ("its header claims more pixels than the decoder allows"
                  if "CV_IO_MAX_IMAGE_PIXELS" in str(err) else "the decoder failed")
        raise InvdnError(f"{path}: not a readable image ({reason})") from err
    if img is None:
        raise InvdnError(f"{path}: not a readable image (corrupt, truncated or not an image)")
    if header is not None and img.shape[0] * img.shape[1] != header.pixels:
        # never expected (the decoder allocates from that header); refuse rather than trust it
        raise InvdnError(f"{path}: not a readable image (decoded {img.shape[1]}x{img.shape[0]}, "
                         f"but its header says {header.width}x{header.height})")
    if img.dtype not in (np.uint8, np.uint16):
        if img.dtype == np.float32 and path.suffix.lower() in (".tif", ".tiff"):
            img = from_float(img, np.uint16)
        else:
            raise InvdnError(f"{path}: unsupported sample type {img.dtype}; use 8- or 16-bit images")
    if img.ndim == 2:
        img = img[:, :, None]
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    elif img.shape[2] != 1:
        raise InvdnError(f"{path}: {img.shape[2]} channels not supported; use gray, RGB or RGBA")
    return np.ascontiguousarray(img)


def check_header(path: str | Path, data: bytes, max_megapixels: float) -> ImageHeader:
    """The header of the file `path` holding `data`, checked before decoding: InvdnError when
    it cannot be parsed, ImageTooLarge above `max_megapixels`, InvdnError for a TIFF of several
    pages."""
    try:
        header = read_header(data)
    except HeaderError as err:
        raise InvdnError(f"{path}: not a readable image ({err}); it is not decoded without a "
                         "size to check: re-save it as PNG, JPEG, TIFF, BMP or WebP") from None
    if header.pixels > max_megapixels * 1e6:
        raise ImageTooLarge(path, header.width, header.height, max_megapixels)
    if header.pages > 1:
        raise InvdnError(f"{path}: a TIFF of {header.pages} pages; invdn denoises one image per "
                         "file and would keep only the first page: save each page as its own "
                         "file")
    return header


def image_size(path: str | Path) -> tuple[int, int] | None:
    """`(height, width)` from the file's header as the decoder reads it (nothing decoded); None
    when it cannot be read or parsed (reading the file then reports why)."""
    try:
        header = read_header(Path(path).read_bytes())
    except (OSError, InvdnError):
        return None
    return header.height, header.width


def to_float(img: np.ndarray) -> np.ndarray:
    """uint8/uint16 → float32 in [0, 1]."""
    return img.astype(np.float32) / float(np.iinfo(img.dtype).max)


def round_levels(x: Levels, top: int) -> Levels:
    """Float in [0, 1] (a NumPy array or a torch tensor) → the same type and dtype holding the
    integer level `0…top` nearest to `x·top`: clipped, rounded half up. The one rounding of
    the project: files are written with it (:func:`from_float`) and validation scores it."""
    # One temporary (the clipped copy), rounded in place: outputs can be hundreds of MB. Values
    # are >= 0.5, so astype's truncation in from_float gives the same integers.
    y = x.clip(0.0, 1.0)
    y *= top
    y += 0.5
    if isinstance(y, np.ndarray):
        return np.floor(y, out=y)
    return y.floor_()


def from_float(img: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """float in [0, 1] → uint8/uint16, clipped and rounded (:func:`round_levels`)."""
    return round_levels(img, int(np.iinfo(dtype).max)).astype(dtype)


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """`(H, W, C)` uint8/uint16 gray/RGB/RGBA → `(1, 3, H, W)` float32 RGB in [0, 1] (gray
    replicated, alpha dropped): :func:`to_float` for the networks."""
    import torch

    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or img.dtype not in (np.uint8, np.uint16):
        raise InvdnError(f"expected an (H, W, 1|3|4) uint8/uint16 image, got "
                         f"{img.shape} {img.dtype}")
    x = torch.empty((1, 3, *img.shape[:2]), dtype=torch.float32)
    x[0].copy_(torch.from_numpy(img[:, :, :3]).permute(2, 0, 1).expand(3, -1, -1))
    return x.div_(float(np.iinfo(img.dtype).max))


def gray_from_rgb(out: torch.Tensor) -> torch.Tensor:
    """`(B, 3, H, W)` → `(B, 1, H, W)`: how a gray image denoised as RGB (its three channels
    equal on the way in) is brought back to one channel, the mean of the three."""
    return out.mean(dim=1, keepdim=True)


def tensor_to_image(out: torch.Tensor, like: np.ndarray) -> np.ndarray:
    """`(1, 3, H, W)` float in [0, 1] → an image shaped and typed like `like`
    (:func:`from_float`: clipped, rounded), gray averaged back from RGB, `like`'s alpha
    appended."""
    if like.shape[2] == 1:
        out = gray_from_rgb(out)
    result = from_float(out[0].permute(1, 2, 0).numpy(), like.dtype)
    if like.shape[2] == 4:
        result = np.concatenate((result, like[:, :, 3:]), axis=2)
    return np.ascontiguousarray(result)


def rescale_depth(img: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """uint8/uint16 → the same image in `dtype` (uint8/uint16), rescaled and rounded
    (65535 → 255; 16-bit levels in between to the nearest 8-bit level)."""
    if img.dtype == dtype:
        return img
    return from_float(to_float(img), dtype)


def write_image(path: str | Path, img: np.ndarray, meta: ImageMeta | None = None,
                jpeg_quality: int | None = None) -> None:
    """Write `(H, W, C)` RGB(A)/gray uint8/uint16 atomically (temporary file, then rename).

    `meta` (from :func:`read_meta` of the input) puts its orientation, EXIF and ICC profile
    into PNG, JPEG and TIFF outputs, and a PNG output of a gray-with-alpha input
    (`meta.gray_alpha`) is written as gray with alpha again, its gray the mean of the RGB it
    was denoised as (as gray images are). JPEG quality: `jpeg_quality`, else the input's
    estimated quality (`meta.jpeg_quality`), else 95."""
    path = Path(path)
    suffix = path.suffix.lower() or ".png"
    meta = meta if meta is not None else ImageMeta()
    if img.ndim == 2:
        img = img[:, :, None]
    if suffix == ".png" and meta.gray_alpha and img.shape[2] == 4:
        gray = np.floor(img[:, :, :3].sum(axis=2, dtype=np.float64) / 3 + 0.5).astype(img.dtype)
        data = encode_png_gray_alpha(np.dstack([gray, img[:, :, 3]]))
        if meta:
            data = embed_png(data, meta)
    elif suffix in (".tif", ".tiff") and meta:
        data = encode_tiff(np.ascontiguousarray(img), meta)
    else:
        params: list[int] = []
        if suffix in (".jpg", ".jpeg"):
            quality = jpeg_quality or meta.jpeg_quality or DEFAULT_JPEG_QUALITY
            if not 1 <= quality <= 100:
                raise InvdnError(f"JPEG quality must be in 1..100, got {quality}")
            params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
        bgr = img
        if img.shape[2] == 3:
            bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        elif img.shape[2] == 4:
            bgr = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
        ok, buf = cv2.imencode(suffix, bgr, params)
        if not ok:
            raise InvdnError(f"{path}: cannot encode this image as {path.suffix}")
        data = buf.tobytes()
        if meta and suffix == ".png":
            data = embed_png(data, meta)
        elif meta and suffix in (".jpg", ".jpeg"):
            data = embed_jpeg(data, meta)
    write_atomic(path, lambda p: p.write_bytes(data))
