"""`invdn prepare sidd`: crop cache contents, resumability, and its use by SIDDDataModule."""

import json
import warnings

import numpy as np
import pytest
import torch

from invdn.cli.main import main
from invdn.data import SIDDDataModule
from invdn.data.cache import MANIFEST, MARKER, CropPlan, cache_state, prepare_sidd_cache
from invdn.errors import InvdnError
from invdn.io.images import read_image, write_image

H, W = 20, 28


def sidd_tree(data, scenes=3):
    for i in range(scenes):
        scene = data / f"{i + 1:04d}_001_GP_00100_00100_3200_N"
        for k in (10, 11):
            rng = np.random.default_rng(10 * i + k)
            clean = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            write_image(scene / f"{i + 1:04d}_GT_SRGB_{k:03d}.PNG", clean)
            write_image(scene / f"{i + 1:04d}_NOISY_SRGB_{k:03d}.PNG", 255 - clean)
    return sorted(p.name for p in data.iterdir())


def test_grid_crops_cover_the_image_and_keep_pairs_aligned(tmp_path):
    names = sidd_tree(tmp_path / "sidd" / "Data")
    summary = prepare_sidd_cache(tmp_path / "sidd", tmp_path / "cache", CropPlan(crop=8),
                                 log=lambda _: None)
    # 20x28 with 8-pixel tiles: rows at 0, 8, 12 and columns at 0, 8, 16, 20 → 12 per image
    assert summary == {"scenes": 3, "skipped": 0, "new_crops": 72, "out": str(tmp_path / "cache")}
    marker = json.loads((tmp_path / "cache" / names[0] / MARKER).read_text())
    assert len(marker["pairs"]) == 24 and len(marker["center"]) == 2
    noisy_name, clean_name = marker["pairs"][5]
    assert noisy_name == "0001_NOISY_SRGB_010_005.png" and clean_name == "0001_GT_SRGB_010_005.png"
    scene = tmp_path / "cache" / names[0]
    noisy, clean = read_image(scene / noisy_name), read_image(scene / clean_name)
    original = read_image(tmp_path / "sidd" / "Data" / names[0] / "0001_GT_SRGB_010.PNG")
    np.testing.assert_array_equal(clean, original[8:16, 8:16])  # crop 5 = row 1, column 1
    np.testing.assert_array_equal(noisy, 255 - clean)
    center = read_image(scene / "0001_GT_SRGB_010_center.png")
    np.testing.assert_array_equal(center, original[6:14, 10:18])
    assert cache_state(tmp_path / "cache").complete


def test_random_crops_are_reproducible(tmp_path):
    sidd_tree(tmp_path / "sidd" / "Data", scenes=1)
    plan = CropPlan(crop=8, per_image=5, seed=3)
    for out in ("a", "b"):
        prepare_sidd_cache(tmp_path / "sidd", tmp_path / out, plan, log=lambda _: None)
    files = sorted(p.name for p in (tmp_path / "a").rglob("*.png"))
    assert len(files) == 2 * 2 * (5 + 1)
    for name in files:
        a, b = (next((tmp_path / o).rglob(name)) for o in ("a", "b"))
        np.testing.assert_array_equal(read_image(a), read_image(b))


def test_prepare_resumes_and_redoes_a_scene_without_marker(tmp_path, capsys):
    names = sidd_tree(tmp_path / "sidd" / "Data")
    argv = ["prepare", "sidd", str(tmp_path / "sidd"), str(tmp_path / "cache"), "--crop", "8"]
    assert main(argv) == 0
    assert "72 new crops, 0 scenes skipped" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 new crops, 3 scenes skipped" in capsys.readouterr().out

    # An interrupted scene: a crop half-done and no marker; the manifest is not complete.
    interrupted = tmp_path / "cache" / names[1]
    (interrupted / MARKER).unlink()
    (interrupted / "0002_GT_SRGB_011_003.png").unlink()
    manifest = json.loads((tmp_path / "cache" / MANIFEST).read_text())
    (tmp_path / "cache" / MANIFEST).write_text(json.dumps({**manifest, "complete": False}))
    assert not cache_state(tmp_path / "cache").complete
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "24 new crops, 2 scenes skipped" in captured.out and names[1] in captured.err
    assert (interrupted / MARKER).is_file() and (interrupted / "0002_GT_SRGB_011_003.png").is_file()
    assert cache_state(tmp_path / "cache").complete


def test_prepare_refuses_other_settings_and_bad_options(tmp_path, capsys):
    sidd_tree(tmp_path / "sidd" / "Data", scenes=1)
    out = str(tmp_path / "cache")
    assert main(["prepare", "sidd", str(tmp_path / "sidd"), out, "--crop", "8"]) == 0
    capsys.readouterr()
    assert main(["prepare", "sidd", str(tmp_path / "sidd"), out, "--crop", "12"]) == 2
    assert "use the same options to resume it" in capsys.readouterr().err
    assert main(["prepare", "sidd", str(tmp_path / "sidd"), out, "--crop", "6"]) == 2
    assert "multiple of 4" in capsys.readouterr().err
    assert main(["prepare", "sidd", str(tmp_path / "sidd"), str(tmp_path / "c2"), "--crop",
                 "24", "--workers", "2"]) == 2  # the error crosses the process boundary
    assert "--crop 24 is larger than" in capsys.readouterr().err
    with pytest.raises(InvdnError, match="SIDD data folder itself"):
        prepare_sidd_cache(tmp_path / "sidd" / "Data", tmp_path / "sidd" / "Data",
                           CropPlan(crop=8))


def test_datamodule_uses_a_complete_cache_without_the_originals(tmp_path):
    names = sidd_tree(tmp_path / "sidd" / "Data", scenes=4)
    prepare_sidd_cache(tmp_path / "sidd", tmp_path / "cache", CropPlan(crop=8),
                       log=lambda _: None)
    dm = SIDDDataModule(cache=str(tmp_path / "cache"), val_scenes=1, val_crop=4, patch_size=8,
                        batch_size=4, num_workers=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "slow path" warning when the cache is used
        dm.setup("fit")
    assert len(dm.train_set) == 3 * 24
    assert all(p[0].is_relative_to(tmp_path / "cache") for p in dm.train_set.pairs)
    batch = next(iter(dm.train_dataloader()))
    assert batch["noisy"].shape == (4, 3, 8, 8)
    torch.testing.assert_close(batch["noisy"], 1 - batch["clean"])  # pairs stay aligned
    val = list(dm.val_dataloader())
    assert len(val) == 2 and val[0]["noisy"].shape == (1, 3, 4, 4)
    assert val[0]["name"] == ["0003_NOISY_SRGB_010_center"]
    assert {p[0].parent.name for p in dm.val_set.pairs} == {names[2]}

    # The same center crops as reading the held-out originals.
    direct = SIDDDataModule(root=str(tmp_path / "sidd"), val_scenes=1, val_crop=4,
                            patch_size=8, batch_size=4, num_workers=0)
    with pytest.warns(UserWarning):
        direct.setup("fit")
    for a, b in zip(val, direct.val_dataloader(), strict=True):
        torch.testing.assert_close(a["clean"], b["clean"])


def test_incomplete_cache_falls_back_to_root_or_fails_clearly(tmp_path):
    sidd_tree(tmp_path / "sidd" / "Data", scenes=2)
    prepare_sidd_cache(tmp_path / "sidd", tmp_path / "cache", CropPlan(crop=8),
                       log=lambda _: None)
    (tmp_path / "cache" / "0001_001_GP_00100_00100_3200_N" / MARKER).unlink()
    kwargs = dict(cache=str(tmp_path / "cache"), val_scenes=1, patch_size=8, batch_size=1,
                  num_workers=0)
    with pytest.raises(InvdnError, match="unfinished crop cache \\(1 of 2 scenes\\).*invdn "
                                         "prepare sidd ROOT"):
        SIDDDataModule(**kwargs).setup("fit")
    with pytest.raises(InvdnError, match="holds no invdn crop cache"):
        SIDDDataModule(**{**kwargs, "cache": str(tmp_path / "none")}).setup("fit")
    dm = SIDDDataModule(root=str(tmp_path / "sidd"), **kwargs)
    with pytest.warns(UserWarning, match="unfinished crop cache"):
        dm.setup("fit")
    assert all(p[0].is_relative_to(tmp_path / "sidd") for p in dm.train_set.pairs)


def test_parallel_workers_write_the_same_cache(tmp_path):
    sidd_tree(tmp_path / "sidd" / "Data", scenes=2)
    for out, workers in (("one", 1), ("two", 2)):
        prepare_sidd_cache(tmp_path / "sidd", tmp_path / out, CropPlan(crop=8, stride=6),
                           workers=workers, log=lambda _: None)
    markers = [sorted((tmp_path / out).rglob(MARKER)) for out in ("one", "two")]
    assert len(markers[0]) == 2
    for a, b in zip(*markers, strict=True):
        assert a.read_text() == b.read_text()
