"""The metadata that decides how an image displays, carried from an input to its output.

A denoiser changes pixels, not how they are meant to be shown: the EXIF orientation (a phone's
portrait photo is stored sideways with orientation 6), the ICC colour profile, and for JPEG a
compression quality close to the input's. JPEG, PNG and WebP pixels are read in their stored
orientation and the tag is written back, so viewers rotate the output exactly as they rotate
the input. OpenCV's TIFF decoder applies a TIFF's orientation itself, so TIFF pixels arrive
upright and their orientation is not carried (it would rotate them twice).

PNG and JPEG outputs get the metadata spliced into OpenCV's encoded bytes (the `iCCP`/`eXIf`
chunks; APP1 Exif and APP2 ICC_PROFILE segments), so every bit depth keeps working. TIFF outputs
with metadata are written by tifffile with the orientation and ICC tags (the rest of a TIFF's
EXIF is not carried). WebP and BMP outputs get none.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXIF_HEADER = b"Exif\x00\x00"
ORIENTATION_TAG = 274
ICC_TAG = 34675
_ICC_MARKER = b"ICC_PROFILE\x00"
_ICC_CHUNK = 65519 - 16  # bytes of profile per APP2 segment (65535 − length − marker − seq)

# The IJG standard luminance quantisation table (natural order), which libjpeg scales by quality.
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.int64)


@dataclass(frozen=True)
class ImageMeta:
    """What an output inherits: `orientation` (EXIF 1–8, None: absent), `exif` (the raw TIFF-
    structured EXIF block, without the 'Exif\\0\\0' header), `icc` (an ICC profile) and
    `jpeg_quality` (1–100, estimated from a JPEG input's quantisation tables); `gray_alpha`:
    the input is a gray-with-alpha PNG, which the decoder hands over as RGBA and a PNG output
    is written back as (its form, not display metadata: it does not make the meta true)."""

    orientation: int | None = None
    exif: bytes | None = None
    icc: bytes | None = None
    jpeg_quality: int | None = None
    gray_alpha: bool = False

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.orientation, self.exif, self.icc))


def ijg_table(quality: int) -> np.ndarray:
    """The standard luminance table libjpeg uses at `quality` (1–100)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((_IJG_LUMA * scale + 50) // 100, 1, 255)


def estimate_jpeg_quality(luma_table: list[int] | np.ndarray) -> int:
    """The libjpeg quality (1–100) whose luminance table is closest to `luma_table` (64 values
    in natural order, as Pillow's `im.quantization[0]`)."""
    table = np.asarray(luma_table, dtype=np.int64).reshape(-1)[:64]
    errors = [np.abs(ijg_table(q) - table).sum() for q in range(1, 101)]
    return int(np.argmin(errors)) + 1


def _strip_exif_header(exif: bytes | None) -> bytes | None:
    if not exif:
        return None
    return exif[len(EXIF_HEADER):] if exif.startswith(EXIF_HEADER) else exif


def read_meta(path: str | Path) -> ImageMeta:
    """The display metadata of an image file (header only, no pixels decoded); an empty
    ImageMeta when there is none or the header cannot be parsed by Pillow."""
    from PIL import Image

    from invdn.io.headers import read_header

    try:
        with open(path, "rb") as f:
            gray_alpha = read_header(f.read(64)).gray_alpha  # PNG's IHDR is in the first 33
    except Exception:  # noqa: BLE001 - only PNG's colour type is wanted here
        gray_alpha = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                icc = im.info.get("icc_profile") or None
                exif = im.getexif()
                orientation = exif.get(ORIENTATION_TAG)
                raw = _strip_exif_header(im.info.get("exif"))
                if im.format == "TIFF":
                    # OpenCV's TIFF decoder already applies the orientation (the pixels read
                    # are upright), and a TIFF's "EXIF" is its whole first IFD (sizes, strips).
                    orientation, raw = None, None
                quality = None
                if im.format == "JPEG" and getattr(im, "quantization", None):
                    quality = estimate_jpeg_quality(im.quantization[0])
    except Exception:  # noqa: BLE001 - no usable metadata is not an error; pixels decide
        return ImageMeta(gray_alpha=gray_alpha)
    orientation = int(orientation) if orientation in range(1, 9) else None
    return ImageMeta(orientation, raw, icc, quality, gray_alpha)


def _exif_for(meta: ImageMeta, limit: int) -> bytes | None:
    """The EXIF block to embed: the input's own, or (when absent or larger than `limit`) a
    minimal one holding only the orientation."""
    if meta.exif and len(meta.exif) <= limit:
        return meta.exif
    if meta.orientation is None:
        return None
    from PIL import Image

    exif = Image.Exif()
    exif[ORIENTATION_TAG] = meta.orientation
    return _strip_exif_header(exif.tobytes())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def embed_png(data: bytes, meta: ImageMeta) -> bytes:
    """PNG bytes with `iCCP` and `eXIf` chunks inserted right after IHDR (both must precede
    the image data)."""
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    extra = b""
    if meta.icc:
        extra += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(meta.icc))
    exif = _exif_for(meta, 1 << 30)
    if exif:
        extra += _png_chunk(b"eXIf", exif)
    return data[:ihdr_end] + extra + data[ihdr_end:]


def encode_png_gray_alpha(img: np.ndarray) -> bytes:
    """`(H, W, 2)` gray + alpha uint8/uint16 as a PNG of colour type 4 (OpenCV's encoder takes
    only 1, 3 or 4 channels)."""
    h, w, _ = img.shape
    depth = 8 * img.dtype.itemsize
    rows = np.ascontiguousarray(img.astype(">u2" if depth == 16 else np.uint8)).view(np.uint8)
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rows.reshape(h, -1)], axis=1)  # filter 0
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, 4, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def embed_jpeg(data: bytes, meta: ImageMeta) -> bytes:
    """JPEG bytes with an APP1 Exif and APP2 ICC_PROFILE segments after SOI and any APP0."""
    pos = 2
    if data[2:4] == b"\xff\xe0":  # keep JFIF's APP0 first, as readers expect
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    segments = b""
    exif = _exif_for(meta, 65533 - 2 - len(EXIF_HEADER))
    if exif:
        body = EXIF_HEADER + exif
        segments += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    if meta.icc:
        chunks = [meta.icc[i:i + _ICC_CHUNK] for i in range(0, len(meta.icc), _ICC_CHUNK)]
        for i, chunk in enumerate(chunks[:255]):
            body = _ICC_MARKER + bytes((i + 1, len(chunks))) + chunk
            segments += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    return data[:pos] + segments + data[pos:]


def encode_tiff(img: np.ndarray, meta: ImageMeta) -> bytes:
    """`(H, W, C)` gray/RGB/RGBA uint8/uint16 as a deflate-compressed TIFF with the orientation
    and ICC tags of `meta`."""
    import io

    import tifffile

    tags = []
    if meta.orientation is not None:
        tags.append((ORIENTATION_TAG, "H", 1, meta.orientation, True))
    if meta.icc:
        tags.append((ICC_TAG, "B", len(meta.icc), meta.icc, True))
    channels = img.shape[2]
    buf = io.BytesIO()
    tifffile.imwrite(buf, img[:, :, 0] if channels == 1 else img,
                     photometric="minisblack" if channels == 1 else "rgb",
                     extrasamples=("unassalpha",) if channels == 4 else None,
                     compression="zlib", extratags=tags, metadata=None)
    return buf.getvalue()
