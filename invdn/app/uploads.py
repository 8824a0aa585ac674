"""Uploaded files: their format from their first bytes, a safe download name, and staging them
on disk under a name of our own (a client-supplied name or path is never used on disk)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from invdn.errors import InvdnError

# (magic bytes at offset 0, suffix the input is staged and the result written with)
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"),     # classic TIFF, little/big endian
    (b"II+\x00", ".tif"), (b"MM\x00+", ".tif"),     # BigTIFF
    (b"BM", ".bmp"),
)
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".tif": "image/tiff",
               ".bmp": "image/bmp", ".webp": "image/webp"}
FORMAT_NAMES = {".png": "PNG", ".jpg": "JPEG", ".tif": "TIFF", ".bmp": "BMP", ".webp": "WebP"}


class UnsupportedUpload(InvdnError):
    """The upload is not an image format invdn reads (HTTP 415)."""


class UploadTooLarge(InvdnError):
    """The upload is above the byte limit (HTTP 413)."""


def sniff_suffix(head: bytes) -> str:
    """The suffix ('.png', '.jpg', '.tif', '.bmp', '.webp') of the image format whose signature
    starts `head`; UnsupportedUpload otherwise (the client's file name is not trusted)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    for magic, suffix in _SIGNATURES:
        if head.startswith(magic):
            return suffix
    if not head:
        raise UnsupportedUpload("empty upload; send a PNG, JPEG, TIFF, BMP or WebP file")
    raise UnsupportedUpload("not a PNG, JPEG, TIFF, BMP or WebP file (unknown signature); "
                            "send one of those formats")


def download_name(client_name: str | None, suffix: str) -> str:
    """`<stem>-denoised<suffix>` from the last component of the client's file name, with
    anything but word characters, dots and dashes replaced; 'image' when nothing is left."""
    base = re.split(r"[\\/]", client_name or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base[1:] else base
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100] or "image"
    return f"{stem}-denoised{suffix}"


def content_disposition(name: str) -> str:
    """An `attachment` header value with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def stage_upload(chunks, folder: Path, max_bytes: int) -> Path:
    """Write the byte chunks of an upload to `folder/input<suffix>` (suffix sniffed from the
    first bytes) and return that path; UploadTooLarge beyond `max_bytes`, UnsupportedUpload for
    an unknown format. `chunks` yields bytes (at least 12 in the first non-empty chunk, or the
    whole file)."""
    total = 0
    target: Path | None = None
    out = None
    try:
        for chunk in chunks:
            if not chunk:
                continue
            total += len(chunk)
            if total > max_bytes:
                raise UploadTooLarge(f"upload is above the server's limit of {max_bytes / 1e6:g} "
                                     "MB per image; send a smaller file")
            if out is None:
                target = folder / f"input{sniff_suffix(chunk)}"
                out = open(target, "wb")  # noqa: SIM115 - closed in finally
            out.write(chunk)
    finally:
        if out is not None:
            out.close()
    if target is None:
        sniff_suffix(b"")
    return target
