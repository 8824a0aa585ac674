"""One-time crop cache for SIDD: full-resolution PNG decoding per sample is the bottleneck.

`prepare_sidd_cache(root, out)` writes, per scene, `crop`×`crop` PNG crops of every pair
(a grid, or N random crops per image) plus each image's center crop (for held-out validation):

    OUT/invdn_cache.json                      settings + scene list; "complete" once all are done
    OUT/<scene>/<noisy stem>_000.png          crop 0 of the noisy image
    OUT/<scene>/<clean stem>_000.png          the same window of its clean partner
    OUT/<scene>/<stem>_center.png             center crops
    OUT/<scene>/.invdn_done.json              marker, written after all the scene's crops

Every file is written atomically and the marker last, so an interrupted run is resumed by
running the same command again: finished scenes are skipped, the others are redone.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from invdn.data.files import read_pair
from invdn.data.sidd import Scene, find_sidd_scenes
from invdn.errors import InvdnError, OptionError
from invdn.io.atomic import write_json
from invdn.io.images import write_image
from invdn.timing import Stopwatch

MANIFEST = "invdn_cache.json"
MARKER = ".invdn_done.json"
FORMAT = "invdn-sidd-crops"


@dataclass(frozen=True)
class CropPlan:
    """How crops are placed: a grid with `stride`, or `per_image` random windows from `seed`."""

    crop: int = 512
    stride: int | None = None
    per_image: int | None = None
    seed: int = 0

    def settings(self) -> dict[str, Any]:
        return {"crop": self.crop, "stride": self.stride, "per_image": self.per_image,
                "seed": self.seed}

    def boxes(self, height: int, width: int, tag: str) -> list[tuple[int, int]]:
        """Top-left corners of the crops for an image of `height`×`width` named `tag`."""
        if self.per_image is not None:
            rng = np.random.default_rng([self.seed, zlib.crc32(tag.encode())])
            tops = rng.integers(0, height - self.crop + 1, self.per_image)
            lefts = rng.integers(0, width - self.crop + 1, self.per_image)
            return [(int(t), int(left)) for t, left in zip(tops, lefts, strict=True)]
        stride = self.stride or self.crop
        return [(t, left) for t in _grid(height, self.crop, stride)
                for left in _grid(width, self.crop, stride)]


def _grid(length: int, crop: int, stride: int) -> list[int]:
    """Window starts every `stride`, plus one flush with the far edge so the image is covered."""
    starts = list(range(0, length - crop + 1, stride))
    if starts[-1] != length - crop:
        starts.append(length - crop)
    return starts


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _center_box(height: int, width: int, crop: int) -> tuple[int, int]:
    return (height - crop) // 2, (width - crop) // 2


def prepare_scene(scene: Scene, out: Path, plan: CropPlan) -> int:
    """Write all crops of `scene` under `out/<scene>/`, then its marker; returns the crop count."""
    scene_dir = out / scene.name
    scene_dir.mkdir(parents=True, exist_ok=True)
    train, center = [], []
    for noisy_path, clean_path in scene.pairs:
        noisy, clean = read_pair(noisy_path, clean_path)
        h, w = noisy.shape[:2]
        if min(h, w) < plan.crop:
            raise OptionError("crop", plan.crop, f"is larger than {noisy_path} ({w}x{h}); "
                              "lower it")
        windows = [(f"{k:03d}", box) for k, box in
                   enumerate(plan.boxes(h, w, f"{scene.name}/{clean_path.name}"))]
        windows.append(("center", _center_box(h, w, plan.crop)))
        for suffix, (top, left) in windows:
            names = (f"{noisy_path.stem}_{suffix}.png", f"{clean_path.stem}_{suffix}.png")
            for name, img in zip(names, (noisy, clean), strict=True):
                write_image(scene_dir / name, img[top:top + plan.crop, left:left + plan.crop])
            (center if suffix == "center" else train).append(list(names))
    write_json(scene_dir / MARKER, {**plan.settings(), "pairs": train, "center": center})
    return len(train)


def _scene_done(scene_dir: Path, plan: CropPlan) -> bool:
    marker = _read_json(scene_dir / MARKER)
    return isinstance(marker, dict) and all(marker.get(k) == v for k, v in plan.settings().items())


def prepare_sidd_cache(root: str | Path, out: str | Path, plan: CropPlan | None = None,
                       workers: int = 1, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Crop every SIDD scene under `root` into `out` (resumable); returns a summary dict."""
    plan = plan or CropPlan()
    root, out = Path(root), Path(out)
    scenes = find_sidd_scenes(root)
    sources = {root.resolve(), *(p.parent.resolve() for s in scenes for p in s.pairs[0])}
    if out.resolve() in sources:
        raise InvdnError(f"{out}: is the SIDD data folder itself; pick a separate output folder")
    out.mkdir(parents=True, exist_ok=True)
    names = [s.name for s in scenes]
    existing = _read_json(out / MANIFEST)
    if isinstance(existing, dict):
        if existing.get("format") != FORMAT or existing.get("settings") != plan.settings():
            raise InvdnError(f"{out}: holds a cache made with {existing.get('settings')}; use "
                             "the same options to resume it or another output folder")
        if existing.get("scenes") != names:
            raise InvdnError(f"{out}: holds a cache of other scenes ({existing.get('source')}); "
                             "use another output folder")
    manifest = {"format": FORMAT, "source": str(root), "settings": plan.settings(),
                "scenes": names}
    write_json(out / MANIFEST, {**manifest, "complete": False})

    todo = [s for s in scenes if not _scene_done(out / s.name, plan)]
    skipped = len(scenes) - len(todo)
    if skipped:
        log(f"{skipped} of {len(scenes)} scenes already cropped; skipping them")
    crops, watch = 0, Stopwatch()

    def report(i: int, scene: Scene, n: int) -> None:
        elapsed = watch.seconds
        eta = elapsed / i * (len(todo) - i)
        log(f"[{i:>{len(str(len(todo)))}}/{len(todo)}] {scene.name}: {n} crops "
            f"({elapsed:.0f}s elapsed, ~{eta:.0f}s left)")

    if workers <= 1:
        for i, scene in enumerate(todo, 1):
            n = prepare_scene(scene, out, plan)
            crops += n
            report(i, scene, n)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = {pool.submit(prepare_scene, s, out, plan): s for s in todo}
            try:
                for i, future in enumerate(as_completed(futures), 1):
                    n = future.result()
                    crops += n
                    report(i, futures[future], n)
            except BaseException:
                pool.shutdown(cancel_futures=True)  # stop at the first bad scene
                raise
    write_json(out / MANIFEST, {**manifest, "complete": True})
    return {"scenes": len(scenes), "skipped": skipped, "new_crops": crops, "out": str(out)}


@dataclass(frozen=True)
class CacheState:
    """What a cache folder holds: `complete`, scenes `done` of `total`, and the crop size."""

    complete: bool
    done: int
    total: int
    crop: int | None


def cache_state(out: str | Path) -> CacheState:
    """Inspect `out` without reading any image."""
    out = Path(out)
    manifest = _read_json(out / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return CacheState(False, 0, 0, None)
    names = manifest.get("scenes", [])
    done = sum((out / n / MARKER).is_file() for n in names)
    return CacheState(bool(manifest.get("complete")) and done == len(names), done, len(names),
                      manifest["settings"]["crop"])


def load_cache(out: str | Path) -> list[Scene]:
    """Scenes of a complete cache: crop pairs in `pairs`, center crops in `center`."""
    out = Path(out)
    manifest = _read_json(out / MANIFEST)
    scenes = []
    for name in manifest["scenes"]:
        marker = _read_json(out / name / MARKER)
        if not isinstance(marker, dict):
            raise InvdnError(f"{out / name / MARKER}: unreadable marker; delete it and rerun "
                             "invdn prepare to redo the scene")
        scene_dir = out / name
        pairs, center = (tuple((scene_dir / noisy, scene_dir / clean) for noisy, clean in
                               marker[key]) for key in ("pairs", "center"))
        scenes.append(Scene(name, pairs, center))
    return scenes
