"""SIDD sRGB on disk: the official scene layout, the flattened GT/Noisy layout, the `.mat` blocks.

Accepted layouts for a root folder (tree diagrams in data/README.md):
- official SIDD-Medium/Small sRGB: `<root>/Data/<scene>/0001_GT_SRGB_010.PNG` with
  `0001_NOISY_SRGB_010.PNG` (SIDD-Small: `GT_SRGB_010.PNG` / `NOISY_SRGB_010.PNG`); `root` may
  also be the `Data/` folder itself;
- flattened: `<root>/GT/*` and `<root>/Noisy/*`, partners by file name (a `NOISY` in a noisy
  file's name may read `GT` in its clean partner's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invdn.data.files import Pair, index_by_key, list_images, match_pairs
from invdn.errors import InvdnError

GT_TOKEN, NOISY_TOKEN = "GT_SRGB", "NOISY_SRGB"
LAYOUTS = ("<root>/Data/<scene>/*_GT_SRGB_*.PNG + *_NOISY_SRGB_*.PNG (official SIDD sRGB), "
           "<root>/<scene>/... (root = the Data folder), or <root>/GT/ + <root>/Noisy/ "
           "(same file names)")
_CLEAN_DIRS, _NOISY_DIRS = ("gt", "clean"), ("noisy",)


@dataclass(frozen=True)
class Scene:
    """One SIDD scene: its `(noisy, clean)` pairs; `center` holds cached center crops, if any."""

    name: str
    pairs: tuple[Pair, ...]
    center: tuple[Pair, ...] = ()


def find_sidd_scenes(root: str | Path) -> list[Scene]:
    """Scenes (sorted by name) of a SIDD sRGB tree in any accepted layout; InvdnError otherwise.

    In the flattened layout every pair is its own scene (named after the clean file's stem)."""
    root = Path(root)
    if not root.is_dir():
        raise InvdnError(f"SIDD folder {root} does not exist; give the path of "
                         "SIDD_Medium_Srgb (the folder holding Data/)")
    subdirs = sorted(d for d in root.iterdir() if d.is_dir())
    by_name = {d.name.lower(): d for d in subdirs}
    if "data" in by_name:
        return _official_scenes(by_name["data"])
    clean_dir = next((by_name[n] for n in _CLEAN_DIRS if n in by_name), None)
    noisy_dir = next((by_name[n] for n in _NOISY_DIRS if n in by_name), None)
    if clean_dir is not None and noisy_dir is not None:
        return _flat_scenes(noisy_dir, clean_dir)
    if any(GT_TOKEN in p.name for d in subdirs for p in list_images(d)):
        return _official_scenes(root)
    raise InvdnError(f"{root}: SIDD layout not recognised; accepted layouts: {LAYOUTS}")


def _official_scenes(data: Path) -> list[Scene]:
    scenes = []
    for scene_dir in sorted(d for d in data.iterdir() if d.is_dir()):
        files = [p for p in list_images(scene_dir) if GT_TOKEN in p.name or NOISY_TOKEN in p.name]
        if not files:
            continue
        clean = index_by_key([p for p in files if GT_TOKEN in p.name], lambda p: p.name, scene_dir)
        noisy = index_by_key([p for p in files if NOISY_TOKEN in p.name],
                             lambda p: p.name.replace(NOISY_TOKEN, GT_TOKEN), scene_dir)
        scenes.append(Scene(scene_dir.name, tuple(match_pairs(noisy, clean, scene_dir,
                                                              scene_dir))))
    if not scenes:
        raise InvdnError(f"{data}: no *_GT_SRGB_* / *_NOISY_SRGB_* image pairs in its scene "
                         "folders; use the sRGB download of SIDD (the raw one is not supported)")
    return scenes


def _flat_scenes(noisy_dir: Path, clean_dir: Path) -> list[Scene]:
    clean = index_by_key(list_images(clean_dir), lambda p: p.stem, clean_dir)
    noisy = index_by_key(list_images(noisy_dir), lambda p: p.stem.replace("NOISY", "GT"),
                         noisy_dir)
    return [Scene(pair[1].stem, (pair,)) for pair in match_pairs(noisy, clean, noisy_dir,
                                                                 clean_dir)]


def load_mat_blocks(path: str | Path, key: str | None = None) -> np.ndarray:
    """SIDD blocks from a `.mat` file (MATLAB v5 or v7.3/HDF5) as uint8 RGB, shape kept as stored
    in MATLAB: `(40, 32, 256, 256, 3)` for the SIDD files (any `(..., H, W, 3)` is accepted).

    `key` defaults to the variable named like the file (`ValidationNoisyBlocksSrgb`), else the
    file's only variable. Flatten with `blocks.reshape(-1, *blocks.shape[-3:])`."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InvdnError(f"{path}: no such .mat file; download it from the SIDD website or fix "
                         "the path")
    if h5py.is_hdf5(path):
        blocks = _read_hdf5(path, key)
    else:
        blocks = _read_v5(path, key)
    if blocks.ndim < 3 or blocks.shape[-1] != 3 or blocks.dtype != np.uint8:
        raise InvdnError(f"{path}: expected uint8 RGB blocks (..., H, W, 3), found "
                         f"{blocks.dtype} {blocks.shape}; is this a SIDD sRGB blocks file?")
    return blocks


def _pick_key(path: Path, names: list[str], key: str | None) -> str:
    if key is None:
        if path.stem in names:
            return path.stem
        if len(names) == 1:
            return names[0]
        raise InvdnError(f"{path}: holds {', '.join(names) or 'no variables'}; pass the "
                         "variable's name as key")
    if key not in names:
        raise InvdnError(f"{path}: no variable {key!r} (found {', '.join(names) or 'none'})")
    return key


def _read_v5(path: Path, key: str | None) -> np.ndarray:
    import scipy.io

    try:
        data = scipy.io.loadmat(path)
    except Exception as err:  # noqa: BLE001 - scipy raises many types for foreign files
        raise InvdnError(f"{path}: not a readable MATLAB .mat file ({err}); re-download it") \
            from err
    names = [n for n in data if not n.startswith("__")]
    return np.asarray(data[_pick_key(path, names, key)])


def _read_hdf5(path: Path, key: str | None) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as f:
        names = [n for n, v in f.items() if isinstance(v, h5py.Dataset)]
        data = np.asarray(f[_pick_key(path, names, key)])
    # MATLAB is column-major: v7.3 files hold every array with its axes reversed.
    return np.ascontiguousarray(data.transpose())
