"""Reading and writing images the way users have them: 8/16-bit, gray, RGB, RGBA; atomic writes.

Arrays are `(H, W, C)` in RGB(A) order, C ∈ {1, 3, 4}, dtype uint8 or uint16.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from invdn.atomic import write_atomic
from invdn.errors import InvdnError

# libtiff/libpng warnings go to stderr and scare users; real failures still raise below.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def read_image(path: str | Path, max_megapixels: float | None = None) -> np.ndarray:
    """Read an image file as `(H, W, C)` uint8/uint16 RGB(A); InvdnError if it can't be used."""
    path = Path(path)
    if not path.is_file():
        problem = ("is a folder, not an image file" if path.is_dir() else
                   "not a regular file" if path.exists() else "no such file")
        raise InvdnError(f"{path}: {problem}")
    if max_megapixels is not None:
        _check_size(path, max_megapixels)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # handles non-ASCII names, unlike cv2.imread
    except OSError as err:
        raise InvdnError(f"{path}: cannot read ({err.strerror}); check the file's permissions") from err
    if data.size == 0:
        raise InvdnError(f"{path}: empty file")
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as err:  # e.g. a header claiming more pixels than OpenCV allows
        reason = ("its header claims more pixels than the decoder allows"
                  if "CV_IO_MAX_IMAGE_PIXELS" in str(err) else "the decoder failed")
        raise InvdnError(f"{path}: not a readable image ({reason})") from err
    if img is None:
        raise InvdnError(f"{path}: not a readable image (corrupt, truncated or not an image)")
    if img.dtype not in (np.uint8, np.uint16):
        if img.dtype == np.float32 and path.suffix.lower() in (".tif", ".tiff"):
            img = (np.clip(img, 0, 1) * 65535 + 0.5).astype(np.uint16)
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


def _check_size(path: Path, max_megapixels: float) -> None:
    """Refuse images whose header claims more than `max_megapixels` before decoding them."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
    except Image.DecompressionBombError as err:
        # Pillow refuses to open headers above twice its own limit; within ours, decode anyway.
        bomb = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        if bomb and max_megapixels * 1e6 < bomb:
            raise InvdnError(f"{path}: more than {bomb / 1e6:.0f} MP, above the limit of "
                             f"{max_megapixels:g} MP; raise --max-megapixels to process it") from err
        return
    except Exception:  # noqa: BLE001 - unreadable headers are reported by the decoder below
        return
    if w * h > max_megapixels * 1e6:
        raise InvdnError(f"{path}: {w}x{h} is {w * h / 1e6:.1f} MP, above the limit of "
                         f"{max_megapixels:g} MP; raise --max-megapixels to process it")


def to_float(img: np.ndarray) -> np.ndarray:
    """uint8/uint16 → float32 in [0, 1]."""
    return img.astype(np.float32) / float(np.iinfo(img.dtype).max)


def from_float(img: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """float in [0, 1] → uint8/uint16, clipped and rounded."""
    top = np.iinfo(dtype).max
    return (np.clip(img, 0.0, 1.0) * top + 0.5).astype(dtype)


def write_image(path: str | Path, img: np.ndarray) -> None:
    """Write `(H, W, C)` RGB(A)/gray uint8/uint16 atomically (temporary file, then rename)."""
    path = Path(path)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(path.suffix.lower() or ".png", img)
    if not ok:
        raise InvdnError(f"{path}: cannot encode this image as {path.suffix}")
    write_atomic(path, lambda p: p.write_bytes(buf.tobytes()))
