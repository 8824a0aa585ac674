"""Finding images and noisy/clean pairs on disk, and checking them before training starts.

A pair is `(noisy_path, clean_path)`. Checks read only image headers, so problems (missing
partners, mismatched sizes, patches larger than images) show up at setup, not inside a worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from invdn.data.transforms import to_rgb
from invdn.errors import InvdnError
from invdn.io.images import IMAGE_SUFFIXES, read_image

Pair = tuple[Path, Path]


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files (by suffix, any case) in `folder`, sorted; hidden/temporary files skipped."""
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in files
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def image_size(path: Path) -> tuple[int, int]:
    """`(height, width)` of an image file, from its header when Pillow can read it."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
        return h, w
    except Exception:  # noqa: BLE001 - let the real decoder raise its precise InvdnError
        img = read_image(path)
        return img.shape[0], img.shape[1]


def _preview(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def index_by_key(files: Sequence[Path], key: Callable[[Path], str], where: Path
                 ) -> dict[str, Path]:
    """Map `key(file)` → file; InvdnError when two files share a key."""
    found: dict[str, Path] = {}
    for f in files:
        k = key(f)
        if k in found:
            raise InvdnError(f"{where}: {found[k].name} and {f.name} both match '{k}'; "
                             "keep one file per name")
        found[k] = f
    return found


def match_pairs(noisy: dict[str, Path], clean: dict[str, Path], noisy_dir: Path,
                clean_dir: Path) -> list[Pair]:
    """Pairs with equal keys, sorted by key; InvdnError naming a few files without a partner."""
    missing_clean = sorted(set(noisy) - set(clean))
    missing_noisy = sorted(set(clean) - set(noisy))
    if missing_clean or missing_noisy:
        parts = []
        if missing_clean:
            parts.append(f"{len(missing_clean)} noisy file(s) without a clean partner in "
                         f"{clean_dir}: {_preview([noisy[k].name for k in missing_clean])}")
        if missing_noisy:
            parts.append(f"{len(missing_noisy)} clean file(s) without a noisy partner in "
                         f"{noisy_dir}: {_preview([clean[k].name for k in missing_noisy])}")
        raise InvdnError("unmatched pairs: " + "; ".join(parts)
                         + "; pairs must share a file name (add or remove the odd files)")
    if not noisy:
        raise InvdnError(f"no image pairs found in {noisy_dir} and {clean_dir}; "
                         f"put images with the same name in both ({', '.join(IMAGE_SUFFIXES)})")
    return [(noisy[k], clean[k]) for k in sorted(noisy)]


def _check_same_size(noisy: Path, noisy_hw: tuple[int, ...], clean: Path,
                     clean_hw: tuple[int, ...]) -> None:
    if noisy_hw != clean_hw:
        raise InvdnError(f"{noisy} is {noisy_hw[1]}x{noisy_hw[0]} but its clean partner {clean} "
                         f"is {clean_hw[1]}x{clean_hw[0]}; pairs must match")


def read_pair(noisy: Path, clean: Path) -> tuple[np.ndarray, np.ndarray]:
    """Both images of a pair as `(H, W, 3)` RGB of equal size; InvdnError otherwise."""
    noisy_img, clean_img = to_rgb(read_image(noisy)), to_rgb(read_image(clean))
    _check_same_size(noisy, noisy_img.shape[:2], clean, clean_img.shape[:2])
    return noisy_img, clean_img


def check_pair_sizes(pairs: Sequence[Pair], patch_size: int | None = None) -> None:
    """Noisy and clean sizes equal, and at least `patch_size` on each side (header reads)."""
    for noisy, clean in pairs:
        size = image_size(noisy)
        _check_same_size(noisy, size, clean, image_size(clean))
        check_patch_fits(size, patch_size, noisy)


def check_patch_fits(size: tuple[int, int], patch_size: int | None, path: Path | str) -> None:
    """InvdnError if a `patch_size` square does not fit an image of `(height, width)` `size`."""
    if patch_size is not None and min(size) < patch_size:
        raise InvdnError(f"{path}: image is {size[1]}x{size[0]}, smaller than data.patch_size="
                         f"{patch_size}; lower data.patch_size or remove the image")


def holdout(count: int, k: int) -> list[int]:
    """`k` evenly spaced indices out of `count` (deterministic validation split)."""
    return sorted({min(count - 1, int((i + 0.5) * count / k)) for i in range(k)})
