"""SIDD: official/Small/flattened layouts, .mat blocks (v5 and v7.3), the SIDD datamodule."""

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from invdn.data import SIDDDataModule, find_sidd_scenes, load_mat_blocks
from invdn.errors import InvdnError
from invdn.io.images import write_image

H, W = 24, 32


def pair_images(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    noisy = np.clip(clean.astype(int) + rng.integers(-20, 21, clean.shape), 0, 255)
    return noisy.astype(np.uint8), clean


def official_tree(data: Path, scenes: int = 3, small: bool = False) -> list[str]:
    """`data/<scene>/[0001_]{GT,NOISY}_SRGB_01{0,1}.PNG`; returns the scene names."""
    names = []
    for i in range(scenes):
        name = f"{i + 1:04d}_001_S6_00100_00060_3200_L"
        prefix = "" if small else f"{i + 1:04d}_"
        for k in (10, 11):
            noisy, clean = pair_images(100 * i + k)
            write_image(data / name / f"{prefix}NOISY_SRGB_{k:03d}.PNG", noisy)
            write_image(data / name / f"{prefix}GT_SRGB_{k:03d}.PNG", clean)
        names.append(name)
    return names


def test_official_layout_pairs_by_swapping_noisy_and_gt(tmp_path):
    names = official_tree(tmp_path / "Data")
    (tmp_path / "ReadMe.txt").write_text("SIDD")
    scenes = find_sidd_scenes(tmp_path)
    assert [s.name for s in scenes] == names
    for scene in scenes:
        assert len(scene.pairs) == 2
        for noisy, clean in scene.pairs:
            assert noisy.name.replace("NOISY", "GT") == clean.name
            assert noisy.parent == clean.parent == tmp_path / "Data" / scene.name


def test_root_may_be_the_data_folder_and_small_naming_works(tmp_path):
    official_tree(tmp_path / "Data", small=True)
    for root in (tmp_path, tmp_path / "Data"):
        scenes = find_sidd_scenes(root)
        assert len(scenes) == 3
        assert [p[0].name for p in scenes[0].pairs] == ["NOISY_SRGB_010.PNG", "NOISY_SRGB_011.PNG"]


@pytest.mark.parametrize("noisy_dir, clean_dir, noisy_names", [
    ("Noisy", "GT", ["a.png", "b.png"]),
    ("noisy", "clean", ["a.png", "b.png"]),
    ("Noisy", "GT", ["0001_NOISY_SRGB_010.PNG", "0002_NOISY_SRGB_010.PNG"]),
])
def test_flattened_layout_matches_by_file_name(tmp_path, noisy_dir, clean_dir, noisy_names):
    for i, name in enumerate(noisy_names):
        noisy, clean = pair_images(i)
        write_image(tmp_path / noisy_dir / name, noisy)
        write_image(tmp_path / clean_dir / name.replace("NOISY", "GT"), clean)
    scenes = find_sidd_scenes(tmp_path)
    assert len(scenes) == 2 and all(len(s.pairs) == 1 for s in scenes)
    assert [s.pairs[0][0].name for s in scenes] == noisy_names


def test_missing_root_and_unknown_layout_are_explained(tmp_path):
    with pytest.raises(InvdnError, match="SIDD folder .*nowhere does not exist"):
        find_sidd_scenes(tmp_path / "nowhere")
    (tmp_path / "photos").mkdir()
    write_image(tmp_path / "photos" / "cat.png", pair_images(0)[0])
    with pytest.raises(InvdnError, match="layout not recognised.*GT/ \\+ <root>/Noisy/"):
        find_sidd_scenes(tmp_path)


def test_unmatched_pairs_are_listed(tmp_path):
    official_tree(tmp_path / "Data", scenes=1)
    scene = next((tmp_path / "Data").iterdir())
    (scene / "0001_NOISY_SRGB_011.PNG").unlink()
    with pytest.raises(InvdnError, match="unmatched pairs.*0001_GT_SRGB_011.PNG"):
        find_sidd_scenes(tmp_path)


def test_raw_only_tree_has_no_pairs(tmp_path):
    (tmp_path / "Data" / "0001_001_S6_00100_00060_3200_L").mkdir(parents=True)
    with pytest.raises(InvdnError, match="no \\*_GT_SRGB_\\*"):
        find_sidd_scenes(tmp_path)


def blocks(seed: int, shape=(2, 3, 8, 8, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def save_v73(path: Path, key: str, array: np.ndarray) -> None:
    """A MATLAB v7.3 file: HDF5 behind a 512-byte header, arrays stored column-major."""
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset(key, data=array.transpose())
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by invdn tests HDF5 schema 1.00 ."
    with open(path, "r+b") as f:  # text, subsystem offset, version 0x0200, endian "IM"
        f.write(text.ljust(116) + bytes(8) + b"\x00\x02IM")


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_load_mat_blocks_reads_both_matlab_versions(tmp_path, version):
    data = blocks(0)
    path = tmp_path / "ValidationNoisyBlocksSrgb.mat"
    if version == "v5":
        scipy.io.savemat(path, {"ValidationNoisyBlocksSrgb": data, "other": np.zeros(2)})
    else:
        save_v73(path, "ValidationNoisyBlocksSrgb", data)
        with pytest.raises(NotImplementedError):  # proves the file really is v7.3
            scipy.io.loadmat(path)
    out = load_mat_blocks(path)
    assert out.dtype == np.uint8 and out.shape == data.shape
    np.testing.assert_array_equal(out, data)


def test_load_mat_blocks_key_selection_and_errors(tmp_path):
    path = tmp_path / "Bench.mat"
    scipy.io.savemat(path, {"a": blocks(1), "b": blocks(2)})
    np.testing.assert_array_equal(load_mat_blocks(path, key="b"), blocks(2))
    with pytest.raises(InvdnError, match="holds a, b; pass the variable"):
        load_mat_blocks(path)
    with pytest.raises(InvdnError, match="no variable 'c'"):
        load_mat_blocks(path, key="c")
    scipy.io.savemat(tmp_path / "f.mat", {"f": blocks(1).astype(np.float32)})
    with pytest.raises(InvdnError, match="expected uint8 RGB"):
        load_mat_blocks(tmp_path / "f.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(InvdnError, match="not a readable MATLAB"):
        load_mat_blocks(tmp_path / "junk.mat")
    with pytest.raises(InvdnError, match="no such .mat file"):
        load_mat_blocks(tmp_path / "missing.mat")


def make_dm(**kwargs) -> SIDDDataModule:
    args = dict(patch_size=16, batch_size=2, num_workers=0, val_crop=16, val_scenes=1)
    return SIDDDataModule(**{**args, **kwargs})


def test_datamodule_holds_out_scenes_and_yields_contract_batches(tmp_path):
    official_tree(tmp_path / "Data", scenes=4)
    with pytest.warns(UserWarning, match="invdn prepare sidd"):
        dm = make_dm(root=str(tmp_path))
        dm.setup("fit")
    assert len(dm.train_set) == 6 and len(dm.val_set) == 2
    train_dirs = {p[0].parent.name for p in dm.train_set.pairs}
    val_dirs = {p[0].parent.name for p in dm.val_set.pairs}
    assert not train_dirs & val_dirs
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"noisy", "clean"}
    assert batch["noisy"].shape == (2, 3, 16, 16) and batch["noisy"].dtype == torch.float32
    assert 0 <= batch["clean"].min() and batch["clean"].max() <= 1
    val = list(dm.val_dataloader())
    assert len(val) == 2 and val[0]["noisy"].shape == (1, 3, 16, 16)
    assert val[0]["name"] == ["0003_NOISY_SRGB_010"]
    again = make_dm(root=str(tmp_path))
    with pytest.warns(UserWarning):
        again.setup("fit")
    assert again.val_set.pairs == dm.val_set.pairs


def test_datamodule_validates_on_mat_blocks_and_trains_on_all_scenes(tmp_path):
    official_tree(tmp_path / "Data", scenes=2)
    scipy.io.savemat(tmp_path / "ValidationNoisyBlocksSrgb.mat",
                     {"ValidationNoisyBlocksSrgb": blocks(3)})
    save_v73(tmp_path / "ValidationGtBlocksSrgb.mat", "ValidationGtBlocksSrgb", blocks(4))
    dm = make_dm(root=str(tmp_path), val_noisy_mat=str(tmp_path / "ValidationNoisyBlocksSrgb.mat"),
                 val_gt_mat=str(tmp_path / "ValidationGtBlocksSrgb.mat"), samples_per_epoch=8)
    with pytest.warns(UserWarning):
        dm.setup("fit")
    assert len(dm.train_set) == 8 and len(dm.train_set.pairs) == 4
    val = list(dm.val_dataloader())
    assert len(val) == 6 and val[4]["name"] == ["block_01_01"]
    expected = torch.from_numpy(blocks(4)[1, 1].transpose(2, 0, 1) / 255.0).float()
    torch.testing.assert_close(val[4]["clean"][0], expected)


@pytest.mark.parametrize("kwargs, words", [
    ({}, "data.root is not set; pass data.root=/path/to/SIDD_Medium_Srgb"),
    ({"root": "ROOT", "patch_size": 18}, "patch_size=18 must be a positive multiple of 4"),
    ({"root": "ROOT", "patch_size": 32}, "smaller than data.patch_size=32"),
    ({"root": "ROOT", "val_noisy_mat": "x.mat"}, "set both data.val_noisy_mat and data.val_gt_mat"),
    ({"root": "ROOT", "val_scenes": 2}, "val_scenes=2 leaves no training scenes"),
    ({"root": "ROOT", "batch_size": 5}, "fewer than data.batch_size=5"),
])
def test_datamodule_errors_name_the_key(tmp_path, kwargs, words):
    official_tree(tmp_path / "Data", scenes=2)
    if kwargs.get("root") == "ROOT":
        kwargs["root"] = str(tmp_path)
    warnings.simplefilter("ignore")  # the slow-path warning is tested above
    with pytest.raises(InvdnError, match=words):
        make_dm(**kwargs).setup("fit")
