"""Pair transforms: identical augmentation for noisy and clean, crops, tensor conversion."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn.data.transforms import (
    augment_pair,
    center_crop,
    color_jitter,
    random_crop_box,
    random_scaled_patch,
    to_rgb,
    to_tensor,
)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_augmentation_keeps_pairs_aligned(seed):
    clean = torch.arange(2 * 6 * 6, dtype=torch.float32).view(2, 6, 6)
    noisy = clean * 2 + 1  # a pixelwise function of clean: stays so iff both move alike
    a, b = augment_pair(noisy, clean, torch.Generator().manual_seed(seed))
    assert torch.equal(a, b * 2 + 1)
    assert sorted(b.flatten().tolist()) == sorted(clean.flatten().tolist())


def test_augmentation_reaches_all_eight_dihedral_variants():
    clean = torch.arange(9, dtype=torch.float32).view(1, 3, 3)
    generator = torch.Generator().manual_seed(0)
    seen = {tuple(augment_pair(clean, clean, generator)[1].flatten().tolist())
            for _ in range(200)}
    assert len(seen) == 8


def test_random_crop_box_stays_inside_and_covers_the_range():
    generator = torch.Generator().manual_seed(0)
    boxes = [random_crop_box(10, 7, 4, generator) for _ in range(300)]
    tops, lefts = zip(*boxes, strict=True)
    assert set(tops) == set(range(7)) and set(lefts) == set(range(4))


def test_center_crop_caps_at_image_size():
    img = np.arange(5 * 8).reshape(5, 8, 1)
    assert center_crop(img, 4)[:, :, 0].tolist() == img[0:4, 2:6, 0].tolist()
    assert center_crop(img, 6).shape == (5, 6, 1)
    assert center_crop(img, None) is img


def test_to_tensor_scales_8_and_16_bit_to_unit_range():
    img8 = np.array([[[0, 128, 255]]], dtype=np.uint8)
    img16 = np.array([[[0, 32768, 65535]]], dtype=np.uint16)
    for img in (img8, img16):
        t = to_tensor(img)
        assert t.shape == (3, 1, 1) and t.dtype == torch.float32
        assert t.flatten().tolist()[0] == 0 and t.flatten().tolist()[2] == 1
        assert abs(t.flatten().tolist()[1] - 0.5) < 0.002


def test_to_rgb_repeats_gray_and_drops_alpha():
    gray = np.full((2, 2, 1), 7, np.uint8)
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert to_rgb(gray).shape == (2, 2, 3) and (to_rgb(gray) == 7).all()
    assert to_rgb(rgba).shape == (2, 2, 3)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), lo=st.floats(0.1, 1.0), h=st.integers(16, 90),
       w=st.integers(16, 90))
def test_scaled_patch_has_the_patch_size_and_the_image_values(seed, lo, h, w):
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    patch = random_scaled_patch(img, 16, (lo, 1.0), torch.Generator().manual_seed(seed))
    assert patch.shape == (16, 16, 3) and patch.dtype == np.uint8
    assert patch.min() >= img.min() and patch.max() <= img.max()


def test_scaled_patch_at_scale_one_is_a_plain_crop_and_zooming_out_averages():
    ramp = np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (256, 1, 3))
    crop = random_scaled_patch(ramp, 32, (1.0, 1.0), torch.Generator().manual_seed(0))
    assert np.array_equal(np.diff(crop[0, :, 0].astype(int)), np.ones(31))
    zoomed = random_scaled_patch(ramp, 32, (0.25, 0.25), torch.Generator().manual_seed(0))
    assert np.allclose(np.diff(zoomed[0, :, 0].astype(int)), 4, atol=1)  # 4 px per output px


def test_color_jitter_permutes_channels_and_keeps_unit_range():
    x = torch.stack([torch.full((4, 4), v) for v in (0.1, 0.5, 0.9)])
    seen = set()
    for seed in range(30):
        y = color_jitter(x, generator=torch.Generator().manual_seed(seed))
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
        seen.add(tuple(int(v) for v in y[:, 0, 0].argsort()))
        assert torch.equal(y, color_jitter(x, generator=torch.Generator().manual_seed(seed)))
    assert len(seen) == 6  # every channel order
