"""A corpus of awkward and broken image files, generated on demand for the bad-input tests.

`build(folder)` writes every case into `folder` (one file or entry per case) and returns them as
`Case`s: `ok` cases must be denoised into an output of the same shape and bit depth; the
others must fail with a one-line message naming the file and matching the regex `problem`.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    ok: bool
    problem: str = ""  # a regex the one-line error must match (ok cases: none)
    shape: tuple[int, ...] = ()  # the decoded (H, W, C) of ok cases
    dtype: str = "uint8"


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _png_bytes(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kwargs)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def huge_png_header(width: int, height: int) -> bytes:
    """A syntactically valid PNG whose IHDR claims `width` x `height` RGB, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def _rgb(h: int, w: int, seed: int) -> np.ndarray:
    return _rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def build(folder: Path) -> list[Case]:
    """Write the corpus into `folder` (created); returns its cases, sorted by name."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, data: bytes | None, ok: bool, problem: str = "",
            shape: tuple[int, ...] = (), dtype: str = "uint8") -> Path:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        cases.append(Case(name, path, ok, problem, shape, dtype))
        return path

    good = _png_bytes(Image.fromarray(_rgb(24, 20, 1)))
    add("truncated.png", good[: len(good) // 2], False, "not a readable image")
    add("zero_bytes.png", b"", False, "empty file")
    add("text_named.png", b"these are not the pixels you are looking for\n" * 3, False,
        "not a readable image")
    add("one_pixel.png", _png_bytes(Image.fromarray(_rgb(1, 1, 2))), True, shape=(1, 1, 3))
    add("two_by_three.png", _png_bytes(Image.fromarray(_rgb(2, 3, 3))), True, shape=(2, 3, 3))
    palette = Image.fromarray(_rgb(13, 17, 4)).quantize(colors=16)
    add("paletted.png", _png_bytes(palette), True, shape=(13, 17, 3))
    cmyk = io.BytesIO()
    Image.fromarray(_rgb(16, 12, 5)).convert("CMYK").save(cmyk, format="JPEG", quality=95)
    add("cmyk.jpg", cmyk.getvalue(), True, shape=(16, 12, 3))
    deep = _rng(6).integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    import cv2  # PIL cannot write 16-bit RGB

    add("deep16.png", cv2.imencode(".png", deep)[1].tobytes(), True, shape=(9, 11, 3),
        dtype="uint16")
    add("deep16.tif", cv2.imencode(".tif", deep)[1].tobytes(), True, shape=(9, 11, 3),
        dtype="uint16")
    rgba = np.dstack([_rgb(10, 7, 7), _rng(8).integers(0, 256, (10, 7, 1), dtype=np.uint8)])
    add("rgba.png", _png_bytes(Image.fromarray(rgba, "RGBA")), True, shape=(10, 7, 4))
    gray = _rng(9).integers(0, 256, (8, 5), dtype=np.uint8)
    add("gray.png", _png_bytes(Image.fromarray(gray, "L")), True, shape=(8, 5, 1))
    add("huge_header.png", huge_png_header(100_000, 100_000), False,
        "above the limit of .* MP|header claims more pixels than the decoder allows")
    add("spaced ünïcødé name.png", _png_bytes(Image.fromarray(_rgb(6, 9, 10))), True,
        shape=(6, 9, 3))
    unreadable = add("unreadable.png", good, False, "cannot read")
    os.chmod(unreadable, 0)
    (folder / "folder.png").mkdir()
    cases.append(Case("folder.png", folder / "folder.png", False,
                      "is a folder|no images found"))
    (folder / "dangling.png").symlink_to(folder / "missing-target.png")
    cases.append(Case("dangling.png", folder / "dangling.png", False, "no such file"))
    # A socket cannot be opened for reading, not even by root.
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "socket.png"))
    cases.append(Case("socket.png", folder / "socket.png", False, "not a regular file"))
    return sorted(cases, key=lambda c: c.name)


def unreadable_really(path: Path) -> bool:
    """False where permissions do not stop reading (root, some file systems)."""
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular, readable file under `folder`, plus every entry's kind and mode."""
    sums = {}
    for p in sorted(folder.rglob("*")):
        st = os.lstat(p)
        key = str(p.relative_to(folder))
        sums[key] = f"{st.st_mode:o}"
        if p.is_file() and not p.is_symlink() and os.access(p, os.R_OK):
            sums[key] += " " + hashlib.sha256(p.read_bytes()).hexdigest()
    return sums
