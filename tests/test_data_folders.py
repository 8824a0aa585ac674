"""Paired noisy/clean folders: matching by name, recursion, errors, FoldersDataModule."""

import numpy as np
import pytest
import torch

from invdn.data import FoldersDataModule
from invdn.data.folders import find_folder_pairs
from invdn.errors import InvdnError
from invdn.io.images import write_image


def image(seed: int, h: int = 16, w: int = 20, dtype=np.uint8, channels: int = 3) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, (h, w, channels), dtype=dtype)


def make_pairs(tmp_path, names, clean_suffix=".png", **kwargs):
    for i, name in enumerate(names):
        write_image(tmp_path / "noisy" / f"{name}.png", image(i, **kwargs))
        write_image(tmp_path / "clean" / f"{name}{clean_suffix}", image(100 + i, **kwargs))


def test_pairs_match_by_stem_across_suffixes(tmp_path):
    make_pairs(tmp_path, ["b", "a", "c"], clean_suffix=".tif")
    (tmp_path / "noisy" / "notes.txt").write_text("ignored")
    pairs = find_folder_pairs(tmp_path / "noisy", tmp_path / "clean")
    assert [(n.name, c.name) for n, c in pairs] == [("a.png", "a.tif"), ("b.png", "b.tif"),
                                                    ("c.png", "c.tif")]


def test_recursive_matching_uses_relative_paths(tmp_path):
    make_pairs(tmp_path, ["x/a", "y/a"])
    with pytest.raises(InvdnError, match="no image pairs found"):
        find_folder_pairs(tmp_path / "noisy", tmp_path / "clean")
    pairs = find_folder_pairs(tmp_path / "noisy", tmp_path / "clean", recursive=True)
    assert [n.relative_to(tmp_path / "noisy").as_posix() for n, _ in pairs] == ["x/a.png",
                                                                                 "y/a.png"]
    assert all(n.parent.name == c.parent.name for n, c in pairs)


def test_unmatched_and_missing_files_are_named(tmp_path):
    make_pairs(tmp_path, ["a", "b", "c", "d", "e"])
    for name in ("b", "c", "d", "e"):
        (tmp_path / "clean" / f"{name}.png").unlink()
    write_image(tmp_path / "clean" / "z.png", image(0))
    with pytest.raises(InvdnError, match="unmatched pairs: 4 noisy file\\(s\\) without a clean "
                                         "partner .*b.png, c.png, d.png \\(\\+1 more\\); 1 clean "
                                         "file\\(s\\) without a noisy partner .*z.png"):
        find_folder_pairs(tmp_path / "noisy", tmp_path / "clean")
    with pytest.raises(InvdnError, match="data.clean: folder .* does not exist"):
        find_folder_pairs(tmp_path / "noisy", tmp_path / "nope")
    (tmp_path / "empty1").mkdir()
    (tmp_path / "empty2").mkdir()
    with pytest.raises(InvdnError, match="no image pairs found"):
        find_folder_pairs(tmp_path / "empty1", tmp_path / "empty2")
    write_image(tmp_path / "noisy" / "a.jpg", image(0))
    with pytest.raises(InvdnError, match="a.jpg and a.png both match 'a'|a.png and a.jpg both"):
        find_folder_pairs(tmp_path / "noisy", tmp_path / "clean")


def dm_for(tmp_path, **kwargs) -> FoldersDataModule:
    args = dict(noisy=str(tmp_path / "noisy"), clean=str(tmp_path / "clean"), patch_size=8,
                batch_size=2, num_workers=0, val_count=1)
    return FoldersDataModule(**{**args, **kwargs})


def test_datamodule_batches_from_16_bit_and_gray_images(tmp_path):
    make_pairs(tmp_path, ["a", "b", "c"], dtype=np.uint16)
    write_image(tmp_path / "noisy" / "d.png", image(7, channels=1))
    write_image(tmp_path / "clean" / "d.png", image(8, channels=1))
    dm = dm_for(tmp_path, samples_per_epoch=6)
    dm.setup("fit")
    assert len(dm.train_set) == 6 and [p[0].stem for p in dm.val_set.pairs] == ["c"]
    batches = list(dm.train_dataloader())
    assert len(batches) == 3
    for batch in batches:
        assert batch["noisy"].shape == batch["clean"].shape == (2, 3, 8, 8)
        assert batch["clean"].dtype == torch.float32
        assert batch["clean"].min() >= 0 and batch["clean"].max() <= 1
    val = next(iter(dm.val_dataloader()))
    assert val["noisy"].shape == (1, 3, 16, 20) and val["name"] == ["c"]


def test_separate_validation_folders_and_val_crop(tmp_path):
    make_pairs(tmp_path, ["a", "b"])
    make_pairs(tmp_path / "v", ["q"])
    dm = dm_for(tmp_path, val_noisy=str(tmp_path / "v" / "noisy"),
                val_clean=str(tmp_path / "v" / "clean"), val_crop=12)
    dm.setup("validate")
    assert len(dm.train_set) == 2
    val = next(iter(dm.val_dataloader()))
    assert val["noisy"].shape == (1, 3, 12, 12)


@pytest.mark.parametrize("kwargs, words", [
    ({"noisy": None}, "data.noisy is not set; pass data.noisy="),
    ({"val_noisy": "somewhere"}, "data.val_clean is not set"),
    ({"patch_size": 10}, "patch_size=10 must be a positive multiple of 4"),
    ({"patch_size": 20}, "a.png: image is 20x16, smaller than data.patch_size=20"),
    ({"val_count": 2}, "val_count=2 leaves no training pairs"),
    ({"samples_per_epoch": 0}, "samples_per_epoch=0 must be an integer >= 1"),
])
def test_datamodule_errors(tmp_path, kwargs, words):
    make_pairs(tmp_path, ["a", "b"])
    with pytest.raises(InvdnError, match=words):
        dm_for(tmp_path, **kwargs).setup("fit")


def test_size_mismatch_and_unreadable_images(tmp_path):
    make_pairs(tmp_path, ["a", "b", "c"])
    write_image(tmp_path / "clean" / "b.png", image(0, h=12))
    with pytest.raises(InvdnError, match="b.png is 20x16 but its clean partner .*b.png is 20x12"):
        dm_for(tmp_path).setup("fit")
    write_image(tmp_path / "clean" / "b.png", image(0))
    (tmp_path / "noisy" / "a.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(InvdnError, match="a.png: not a readable image"):
        dm_for(tmp_path).setup("fit")
