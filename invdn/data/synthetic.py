"""Clean images for synthetic-noise training: a folder of yours, or scikit-image's bundled photos.

The bundled set needs no download. Colour photos only (gray ones would teach the network
gray-only structure):
- training: astronaut, rocket, immunohistochemistry, hubble_deep_field, retina
- validation (held out): chelsea, coffee
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from invdn.data.files import holdout, list_images
from invdn.errors import InvdnError

SKIMAGE_TRAIN = ("astronaut", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
SKIMAGE_VAL = ("chelsea", "coffee")


def skimage_images(names: tuple[str, ...]) -> list[np.ndarray]:
    """The named `skimage.data` photos as `(H, W, 3)` uint8 arrays."""
    import skimage.data

    return [np.ascontiguousarray(getattr(skimage.data, name)()[:, :, :3]) for name in names]


def split_folder(root: str | Path, val_count: int, recursive: bool = False
                 ) -> tuple[list[Path], list[Path]]:
    """Training and held-out validation images of `root`: `val_count` evenly spaced files of the
    sorted list go to validation."""
    root = Path(root)
    if not root.is_dir():
        raise InvdnError(f"clean image folder {root} does not exist; fix data.root or set "
                         "data.root=null for the bundled scikit-image photos")
    files = list_images(root, recursive)
    if len(files) <= val_count:
        raise InvdnError(f"{root}: {len(files)} image(s) found, need more than data.val_count="
                         f"{val_count} to keep some for training"
                         + ("" if recursive else " (data.recursive=true searches subfolders)"))
    held = set(holdout(len(files), val_count))
    return ([f for i, f in enumerate(files) if i not in held],
            [f for i, f in enumerate(files) if i in held])
