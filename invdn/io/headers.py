"""Image sizes read from the bytes the decoder itself reads first, before anything is decoded.

OpenCV decodes every image invdn reads; it allocates from the format's own header (PNG `IHDR`,
JPEG `SOFn`, the first TIFF directory, the BMP info header, the WebP `VP8X`/`VP8 `/`VP8L`
chunk). :func:`read_header` parses exactly those fields, so the megapixel guard of
:func:`invdn.io.images.read_image` checks the size that will be decoded. Pillow, which the guard
used before, stops at things the decoder skips (a bad CRC in an ancillary PNG chunk, a broken
`iCCP`, a float32 TIFF), and a guard that passed whatever it could not parse let those through
at any size. Here a header that cannot be parsed is an error, never a pass.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from invdn.errors import InvdnError

__all__ = ["ImageHeader", "HeaderError", "read_header", "MAX_TIFF_PAGES"]

MAX_TIFF_PAGES = 10_000  # directories followed when counting pages (a loop guard)


class HeaderError(InvdnError):
    """The file's header cannot be parsed (or names an unsupported format); the message says
    why, without the file name (the caller adds it)."""


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says: `format` ('PNG', 'JPEG', 'TIFF', 'BMP', 'WebP'), `width`,
    `height`, `pages` (TIFF directories; 1 elsewhere) and `gray_alpha` (a PNG of colour type 4,
    gray with alpha, which OpenCV decodes as RGBA)."""

    format: str
    width: int
    height: int
    pages: int = 1
    gray_alpha: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(data: bytes) -> ImageHeader:
    """The :class:`ImageHeader` of the encoded image `data` (the whole file or at least its
    header); HeaderError when the format is none of PNG, JPEG, TIFF, BMP, WebP or its header
    is damaged."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return _png(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
        if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return _tiff(data)
        if data.startswith(b"BM"):
            return _bmp(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
    except (struct.error, IndexError) as err:
        raise HeaderError("its header is truncated") from err
    raise HeaderError("not a PNG, JPEG, TIFF, BMP or WebP file (unknown signature)")


def _positive(fmt: str, width: int, height: int, **extra) -> ImageHeader:
    if width <= 0 or height <= 0:
        raise HeaderError(f"its {fmt} header gives an empty size ({width}x{height})")
    return ImageHeader(fmt, width, height, **extra)


def _png(data: bytes) -> ImageHeader:
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise HeaderError("its PNG header has no IHDR chunk first")
    body = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
        raise HeaderError("its PNG header (IHDR) fails its checksum")  # libpng refuses it too
    width, height, _depth, colour = struct.unpack(">IIBB", body[:10])
    return _positive("PNG", width, height, gray_alpha=colour == 4)


# Start-of-frame markers: SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> ImageHeader:
    pos = 2
    while True:
        while data[pos] != 0xFF:  # garbage between segments, as libjpeg tolerates it
            pos += 1
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in (0x01, *range(0xD0, 0xD8)):  # TEM, RSTn: no length
            continue
        if marker in (0xD9, 0xDA):  # EOI or SOS before any frame header
            raise HeaderError("its JPEG header has no frame size (no SOF marker before the data)")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _SOF:
            _precision, height, width = struct.unpack(">BHH", data[pos + 2 : pos + 7])
            if height == 0:
                raise HeaderError("its JPEG header leaves the height to a DNL marker, which the "
                                  "decoder does not support")
            return _positive("JPEG", width, height)
        if length < 2:
            raise HeaderError("its JPEG header has a segment of impossible length")
        pos += length


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4), 16: ("Q", 8)}  # SHORT, LONG, LONG8


def _tiff(data: bytes) -> ImageHeader:
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    if big:
        offset = struct.unpack(order + "Q", data[8:16])[0]
        count_fmt, entry_size, next_fmt = "Q", 20, "Q"
    else:
        offset = struct.unpack(order + "I", data[4:8])[0]
        count_fmt, entry_size, next_fmt = "H", 12, "I"
    first: dict[int, int] = {}
    pages, seen = 0, set()
    while offset:
        if offset in seen or offset >= len(data) or pages >= MAX_TIFF_PAGES:
            if pages == 0:
                raise HeaderError("its TIFF header points outside the file")
            break  # a loop or a dangling link after the first page: count what was read
        seen.add(offset)
        count_size = struct.calcsize(count_fmt)
        (count,) = struct.unpack(order + count_fmt, data[offset : offset + count_size])
        entries = offset + count_size
        if pages == 0:
            for i in range(count):
                at = entries + i * entry_size
                tag, kind = struct.unpack(order + "HH", data[at : at + 4])
                if tag in (256, 257) and kind in _TIFF_TYPES:
                    fmt, size = _TIFF_TYPES[kind]
                    value = at + (12 if big else 8)  # values sit left-justified in the field
                    first[tag] = struct.unpack(order + fmt, data[value : value + size])[0]
        pages += 1
        end = entries + count * entry_size
        offset = struct.unpack(order + next_fmt, data[end : end + struct.calcsize(next_fmt)])[0]
    if 256 not in first or 257 not in first:
        raise HeaderError("its TIFF header has no image width or length")
    return _positive("TIFF", first[256], first[257], pages=pages)


def _bmp(data: bytes) -> ImageHeader:
    (size,) = struct.unpack("<I", data[14:18])
    if size == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
    elif size >= 40:
        width, height = struct.unpack("<ii", data[18:26])
        height = abs(height)  # negative: stored top-down
    else:
        raise HeaderError(f"its BMP header has an unknown info header size ({size})")
    return _positive("BMP", width, height)


def _webp(data: bytes) -> ImageHeader:
    kind, _length = struct.unpack("<4sI", data[12:20])
    body = data[20:]
    if kind == b"VP8X":  # extended: the canvas size, 24 bits each, minus one
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
    elif kind == b"VP8 ":  # lossy: key frame tag (3 bytes), start code, 14-bit sizes
        if body[3:6] != b"\x9d\x01\x2a":
            raise HeaderError("its WebP (VP8) header has no key frame start code")
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", body[6:10]))
    elif kind == b"VP8L":  # lossless: signature 0x2f, then 14-bit width-1 and height-1
        if body[0] != 0x2F:
            raise HeaderError("its WebP (VP8L) header has a wrong signature")
        (bits,) = struct.unpack("<I", body[1:5])
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        raise HeaderError(f"its WebP header starts with an unknown chunk {kind!r}")
    return _positive("WebP", width, height)
