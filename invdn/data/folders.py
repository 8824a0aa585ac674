"""Paired noisy/clean folders of any images, partners matched by file name without suffix.

`noisy/a.png` pairs with `clean/a.tif`; with `recursive=True` the path relative to each folder
counts (`noisy/x/a.png` ↔ `clean/x/a.png`).
"""

from __future__ import annotations

from pathlib import Path

from invdn.data.files import Pair, index_by_key, list_images, match_pairs
from invdn.errors import InvdnError


def find_folder_pairs(noisy_dir: str | Path, clean_dir: str | Path, recursive: bool = False,
                      keys: tuple[str, str] = ("data.noisy", "data.clean")) -> list[Pair]:
    """`(noisy, clean)` pairs sorted by name; InvdnError for missing folders or odd files.

    `keys` name the config keys in error messages."""
    dirs = (Path(noisy_dir), Path(clean_dir))
    for key, folder in zip(keys, dirs, strict=True):
        if not folder.is_dir():
            raise InvdnError(f"{key}: folder {folder} does not exist; pass {key}=/path/to/folder")

    def index(folder: Path) -> dict[str, Path]:
        return index_by_key(list_images(folder, recursive),
                            lambda p: p.relative_to(folder).with_suffix("").as_posix(), folder)

    return match_pairs(index(dirs[0]), index(dirs[1]), *dirs)
