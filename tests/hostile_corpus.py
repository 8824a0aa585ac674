"""Files a hostile client sends, generated on demand for tests/test_hostile.py (no binaries
are committed): images whose size Pillow cannot read but OpenCV decodes, images of every format
read, broken headers, gray+alpha PNGs, a 2-page TIFF, a GIF.

Every image here is `SIZE` = 300 x 400 pixels (0.12 MP), so a limit of 0.1 MP must refuse each
of them before decoding, while 1 MP lets the decodable ones through.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import tifffile
from PIL import Image

SIZE = (300, 400)  # height, width


def pixels(seed: int = 0, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    h, w = SIZE
    top = np.iinfo(dtype).max
    ramp = np.linspace(0.2, 0.8, w)[None, :, None] * np.ones((h, 1, channels))
    noise = np.random.default_rng(seed).normal(0, 0.05, (h, w, channels))
    return np.clip((ramp + noise) * top, 0, top).astype(dtype)


def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    """A PNG chunk; `crc` overrides the correct checksum."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def after_ihdr(png: bytes, extra: bytes) -> bytes:
    """`png` with the chunks `extra` inserted right after IHDR."""
    end = 8 + 8 + 13 + 4
    return png[:end] + extra + png[end:]


def png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def bad_crc_png() -> bytes:
    """One ancillary chunk (tEXt) with a wrong CRC: libpng warns and skips it, Pillow refuses
    the whole file."""
    return after_ihdr(png(pixels(1)), chunk(b"tEXt", b"Comment\x00hostile", crc=0x12345678))


def bad_iccp_png() -> bytes:
    """An iCCP chunk with an unknown compression method: libpng drops the profile, Pillow
    refuses the file."""
    return after_ihdr(png(pixels(2)), chunk(b"iCCP", b"icc\x00\x07" + zlib.compress(b"x" * 64)))


def float32_tiff() -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, pixels(3).astype(np.float32) / 255, photometric="rgb")
    return buf.getvalue()


def encoded(suffix: str, params: list[int] | None = None, seed: int = 4) -> bytes:
    return cv2.imencode(suffix, pixels(seed), params or [])[1].tobytes()


def every_format() -> dict[str, bytes]:
    """A 300 x 400 image in every format and layout the header reader must size."""
    def pil(fmt: str, **kw) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(pixels(5)).save(buf, fmt, **kw)
        return buf.getvalue()

    big_tiff = io.BytesIO()
    tifffile.imwrite(big_tiff, pixels(6), photometric="rgb", bigtiff=True)
    motorola = io.BytesIO()
    tifffile.imwrite(motorola, pixels(6), photometric="rgb", byteorder=">")
    return {
        "rgb.png": png(pixels(5)),
        "deep16.png": png(pixels(5, dtype=np.uint16)),
        "bad_crc.png": bad_crc_png(),
        "bad_iccp.png": bad_iccp_png(),
        "baseline.jpg": encoded(".jpg"),
        "progressive.jpg": pil("JPEG", progressive=True, quality=80),
        "rgb.tif": encoded(".tif"),
        "float32.tif": float32_tiff(),
        "big.tif": big_tiff.getvalue(),
        "motorola.tif": motorola.getvalue(),
        "rgb.bmp": encoded(".bmp"),
        "lossy.webp": encoded(".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
        "lossless.webp": encoded(".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
        "alpha.webp": _webp_alpha(),
    }


def _webp_alpha() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.dstack([pixels(7), pixels(8, channels=1)]), "RGBA").save(buf, "WEBP")
    return buf.getvalue()  # an extended (VP8X) file


def broken_headers() -> dict[str, bytes]:
    """Files whose size cannot be read from the header: each is refused, never decoded."""
    good = png(pixels(9))
    ihdr_bad = bytearray(good)
    ihdr_bad[29] ^= 0xFF  # the IHDR checksum
    return {
        "ihdr_crc.png": bytes(ihdr_bad),
        "no_frame.jpg": b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01"
                        b"\x00\x00" + b"\xff\xd9",
        "dangling.tif": b"II*\x00" + struct.pack("<I", 10_000) + b"\x00" * 32,
        "gif_named.png": gif(),
        "cut.png": good[:20],
    }


def gif() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels(10)).convert("P").save(buf, "GIF")
    return buf.getvalue()


def gray_alpha_png(depth: int = 8, seed: int = 11) -> bytes:
    """A PNG of colour type 4 (gray + alpha), written by hand for 16 bits (Pillow has no LA16)."""
    h, w = 24, 32
    rng = np.random.default_rng(seed)
    top = (1 << depth) - 1
    gray = np.clip(np.linspace(0.2, 0.8, w)[None, :] + rng.normal(0, 0.05, (h, w)), 0, 1) * top
    alpha = rng.integers(0, top + 1, (h, w))
    la = np.dstack([gray, alpha]).astype(">u2" if depth == 16 else np.uint8)
    rows = b"".join(b"\x00" + la[i].tobytes() for i in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, 4, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def two_page_tiff() -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.stack([pixels(12)[:32, :40], pixels(13)[:32, :40]]),
                     photometric="rgb")
    return buf.getvalue()
