"""Synthetic-noise data (the default) and the three Hydra data configs."""

from importlib.resources import files

import hydra
import lightning as L
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from invdn.data import SyntheticDataModule
from invdn.data.synthetic import (
    PRETRAIN_TRAIN,
    QUALITY_TEST,
    SKIMAGE_TRAIN,
    SKIMAGE_VAL,
    bundled_image,
    split_folder,
)
from invdn.errors import InvdnError
from invdn.io.images import write_image


def small(**kwargs) -> SyntheticDataModule:
    args = dict(patch_size=32, batch_size=4, samples_per_epoch=8, num_workers=0, val_crop=64)
    return SyntheticDataModule(**{**args, **kwargs})


def test_default_uses_bundled_photos_with_contract_batches():
    dm = small()
    dm.setup("fit")
    assert len(dm.train_set.sources) == len(SKIMAGE_TRAIN) and not set(SKIMAGE_TRAIN) & set(
        SKIMAGE_VAL)
    batches = list(dm.train_dataloader())
    assert len(batches) == 2
    for batch in batches:
        assert set(batch) == {"noisy", "clean"}
        for key in ("noisy", "clean"):
            assert batch[key].shape == (4, 3, 32, 32) and batch[key].dtype == torch.float32
            assert batch[key].min() >= 0 and batch[key].max() <= 1
        assert (batch["noisy"] - batch["clean"]).abs().mean() > 1 / 255
    val = list(dm.val_dataloader())
    assert [v["name"] for v in val] == [[name] for name in SKIMAGE_VAL]
    assert all(v["noisy"].shape == (1, 3, 64, 64) for v in val)


def test_validation_noise_is_identical_every_epoch_and_follows_the_seed():
    a, b, c = small(), small(), small(seed=1)
    for dm in (a, b, c):
        dm.setup("fit")
    loader = a.val_dataloader()
    epoch1, epoch2 = ([v["noisy"] for v in loader] for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(epoch1, epoch2, strict=True))
    assert torch.equal(a.val_set[1]["noisy"], b.val_set[1]["noisy"])
    assert not torch.equal(a.val_set[1]["noisy"], c.val_set[1]["noisy"])


def test_worker_patches_and_noise_follow_data_seed_not_global_seed():
    def first_batch(seed, global_seed):
        torch.manual_seed(global_seed)
        dm = small(seed=seed, num_workers=1)
        dm.setup("fit")
        return next(iter(dm.train_dataloader()))["noisy"]

    a = first_batch(0, global_seed=1)
    assert torch.equal(a, first_batch(0, global_seed=2))
    assert not torch.equal(a, first_batch(1, global_seed=1))


def test_poisson_gaussian_noise_from_config_values():
    dm = small(noise={"kind": "poisson_gaussian", "shot": 1e-2, "read": 1e-4}, val_crop=None)
    dm.setup("fit")
    sample = dm.val_set[0]
    residual = sample["noisy"] - sample["clean"]
    bright = sample["clean"] > 0.6
    dark = (sample["clean"] < 0.2) & (sample["clean"] > 0.05)
    assert residual[bright].std() > residual[dark].std() * 1.5


def test_folder_of_clean_images_holds_some_out(tmp_path):
    for i in range(5):
        img = np.random.default_rng(i).integers(0, 65536, (40, 36, 3), dtype=np.uint16)
        write_image(tmp_path / "clean" / f"img{i}.png", img)
    write_image(tmp_path / "clean" / "gray.png", np.full((40, 40, 1), 9, np.uint8))
    train, val = split_folder(tmp_path / "clean", val_count=2)
    assert [p.name for p in val] == ["img0.png", "img3.png"] and len(train) == 4
    dm = small(root=str(tmp_path / "clean"), val_count=2, val_crop=None)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["clean"].shape == (4, 3, 32, 32) and batch["clean"].dtype == torch.float32
    val = next(iter(dm.val_dataloader()))
    assert val["name"] == ["img0"] and val["clean"].shape == (1, 3, 40, 36)


@pytest.mark.parametrize("kwargs, words", [
    ({"patch_size": 30}, "patch_size=30 must be a positive multiple of 4"),
    ({"patch_size": 512}, "bundled image rocket: image is 640x427, smaller than data.patch_size"),
    ({"root": "/nonexistent/clean"}, "clean image folder /nonexistent/clean does not exist"),
    ({"noise": {"kind": "gaussian", "sigma": -1}}, "0 <= lo <= hi"),
    ({"batch_size": 9}, "8 training sample\\(s\\) per epoch is fewer than data.batch_size=9"),
    ({"train_images": ["astronaut", "coffee"]}, "must not hold the validation or test images"),
    ({"train_images": ["astronaut", "moon"]}, "must not hold the validation or test images"),
    ({"train_images": []}, "must be non-empty"),
    ({"train_images": ["no_such_photo"]}, "bundled image 'no_such_photo' unknown"),
    ({"train_images": ["coins"], "root": "/tmp"}, "must not hold the validation or test images"),
    ({"scale": [0.0, 1.0]}, "0 < lo <= hi <= 1"),
    ({"scale": [0.5, 2.0]}, "0 < lo <= hi <= 1"),
    ({"scale": "big"}, "must be a \\[lo, hi\\] pair"),
    ({"noise": {"kind": "mixed", "p_gaussian": 1.5}}, "p_gaussian=1.5 must be a probability"),
])
def test_errors(kwargs, words):
    with pytest.raises(InvdnError, match=words):
        small(**kwargs).setup("fit")


def test_too_few_images_in_folder(tmp_path):
    write_image(tmp_path / "only.png", np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(InvdnError, match="1 image\\(s\\) found, need more than data.val_count=2"):
        small(root=str(tmp_path)).setup("fit")


@pytest.mark.parametrize("name, target, patch", [("synthetic", "SyntheticDataModule", 64),
                                                 ("sidd", "SIDDDataModule", 144),
                                                 ("folders", "FoldersDataModule", 144)])
def test_configs_instantiate_datamodules(name, target, patch):
    cfg = OmegaConf.load(str(files("invdn.conf") / "data" / f"{name}.yaml"))
    dm = hydra.utils.instantiate(cfg)
    assert isinstance(dm, L.LightningDataModule) and type(dm).__name__ == target
    # the synthetic default is the CPU demo; real data keeps the paper's patch size
    assert dm.patch_size == patch and dm.val_batch_size == 1


def test_default_config_trains_on_bundled_photos_as_is():
    cfg = OmegaConf.load(str(files("invdn.conf") / "data" / "synthetic.yaml"))
    cfg.num_workers, cfg.samples_per_epoch = 0, 8
    dm = hydra.utils.instantiate(cfg)
    dm.setup("fit")
    assert next(iter(dm.train_dataloader()))["noisy"].shape == (8, 3, 64, 64)


def test_bundled_sets_keep_test_and_validation_images_out_of_training():
    for train in (SKIMAGE_TRAIN, PRETRAIN_TRAIN):
        assert not set(train) & (set(SKIMAGE_VAL) | set(QUALITY_TEST))
    # motorcycle is a stereo pair: neither view may be trained on while one is a test image
    assert not any("motorcycle" in name for name in PRETRAIN_TRAIN)


@pytest.mark.parametrize("name", ["grace_hopper", "motorcycle", "camera", "astronaut"])
def test_bundled_images_load_offline_as_rgb_uint8(name):
    img = bundled_image(name)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and min(img.shape[:2]) >= 256


def test_pretrained_recipe_batches_mix_noise_kinds_with_augmented_crops():
    cfg = OmegaConf.load(str(files("invdn.conf") / "experiment" / "pretrained.yaml"))
    data = OmegaConf.to_container(cfg.data)
    dm = small(**{**data, "samples_per_epoch": 64, "batch_size": 64, "num_workers": 0})
    dm.setup("fit")
    assert len(dm.train_set.sources) == len(PRETRAIN_TRAIN)
    batch = next(iter(dm.train_dataloader()))
    assert batch["clean"].shape == (64, 3, 64, 64)
    clean, residual = batch["clean"], batch["noisy"] - batch["clean"]
    # Poisson–Gaussian patches have noise that grows with brightness, Gaussian ones do not
    ratios = []
    for c, r in zip(clean, residual, strict=True):
        bright, dark = (c > 0.6) & (c < 0.95), (c > 0.05) & (c < 0.25)
        if bright.sum() > 200 and dark.sum() > 200:
            ratios.append(float(r[bright].std() / r[dark].std()))
    assert min(ratios) < 1.3 and max(ratios) > 1.6
    again = small(**{**data, "samples_per_epoch": 64, "batch_size": 64, "num_workers": 0})
    again.setup("fit")
    assert torch.equal(next(iter(again.train_dataloader()))["noisy"], batch["noisy"])
