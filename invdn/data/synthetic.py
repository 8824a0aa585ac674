"""Clean images for synthetic-noise training: a folder of yours, or photos bundled with installed
packages (no download).

Bundled images by name (`bundled_images`): every `skimage.data` image stored inside the wheel
(`astronaut`, `camera`, `brick`, …), `motorcycle` (the left view of `skimage.data.stereo_motorcycle`)
and `grace_hopper` (matplotlib's sample photo). Gray images are repeated to 3 channels.

The sets used by the project:
- `SKIMAGE_TRAIN`: the demo's training photos (colour only, small and quick);
- `PRETRAIN_TRAIN`: the shipped model's training set (`conf/experiment/pretrained.yaml`), the
  colour photos plus matplotlib's portrait and four gray photos/textures for variety of structure;
- `SKIMAGE_VAL`: validation (held out from both training sets);
- `QUALITY_TEST`: `bench/quality.py`'s test images, never used in any training set;
- `RESERVED`: names no training set may hold (validation, tests, independent checks).

More photographs: `invdn prepare photos OUT` (`invdn.data.photos`) writes clean PNGs from Debian
packages; train on them with `data.root=OUT`, and add bundled ones with `data.train_images`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from invdn.data.files import holdout, list_images
from invdn.data.transforms import to_rgb
from invdn.errors import InvdnError

SKIMAGE_TRAIN = ("astronaut", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
PRETRAIN_TRAIN = SKIMAGE_TRAIN + ("grace_hopper", "camera", "brick", "grass", "gravel")
SKIMAGE_VAL = ("chelsea", "coffee")
QUALITY_TEST = ("chelsea", "coffee", "motorcycle")
# never trained on: validation, the quality test set and photos kept for independent checks
# scikit-learn's sample photos (china, flower) are reserved too: they are not bundled here, but
# no prepared photo folder may carry them (`invdn.data.photos`).
RESERVED = (*SKIMAGE_VAL, "motorcycle", "stereo_motorcycle", "coins", "moon", "china", "flower")


def _special(name: str) -> np.ndarray | None:
    if name == "motorcycle":
        import skimage.data

        return skimage.data.stereo_motorcycle()[0]
    if name == "grace_hopper":
        from matplotlib import cbook
        from PIL import Image

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    return None


def bundled_image(name: str) -> np.ndarray:
    """The bundled image `name` as an `(H, W, 3)` uint8 array (see the module docstring)."""
    import skimage.data

    img = _special(name)
    if img is None:
        loader = getattr(skimage.data, name, None)
        if not callable(loader) or name.startswith("_"):
            raise InvdnError(f"bundled image {name!r} unknown; use a skimage.data image name "
                             "(e.g. astronaut), motorcycle or grace_hopper")
        try:
            img = loader()
        except Exception as exc:  # images outside the wheel need a download (pooch)
            raise InvdnError(f"bundled image {name!r} cannot be loaded offline ({exc}); pick "
                             "another name or give data.root a folder of clean images") from None
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise InvdnError(f"bundled image {name!r} is not an 8-bit picture "
                         f"({img.dtype}, shape {img.shape}); pick another name")
    return np.ascontiguousarray(to_rgb(img))


def bundled_images(names: tuple[str, ...] | list[str]) -> list[np.ndarray]:
    """`bundled_image` for each of `names`."""
    return [bundled_image(name) for name in names]


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
