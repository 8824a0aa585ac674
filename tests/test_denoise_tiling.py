"""Tiling, blending, latent slicing and the image pipeline of `invdn denoise`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio

from invdn.errors import InvdnError
from invdn.inference.device import resolve_device
from invdn.inference.latent import LatentField, image_key
from invdn.inference.pipeline import (
    DenoiseOptions,
    Denoiser,
    geometric,
    geometric_inverse,
)
from invdn.inference.tiling import axis_weights, check_tiling, run_tiled, tile_starts
from invdn.nn import InvDN


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return InvDN(blocks=(1, 1), width=8).eval()


@settings(max_examples=40, deadline=None)
@given(length=st.integers(1, 300), tile=st.integers(2, 40), frac=st.floats(0, 0.5),
       multiple=st.sampled_from([1, 4]))
def test_tiles_cover_and_weights_sum_to_one(length, tile, frac, multiple):
    length = -(-length // multiple) * multiple
    tile = -(-tile // multiple) * multiple  # check_tiling refuses other tiles
    tile, overlap = check_tiling(tile, int(tile * frac), multiple)
    starts = tile_starts(length, tile, overlap, multiple)
    size = min(tile, length)
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(s % multiple == 0 for s in starts)
    assert all(b - a <= size - overlap for a, b in zip(starts, starts[1:], strict=False))
    total = torch.zeros(length)
    for s, w in zip(starts, axis_weights(starts, size, length), strict=True):
        assert w.min() >= 0
        total[s : s + size] += w
    torch.testing.assert_close(total, torch.ones(length))


def test_tiling_is_exact_for_a_pointwise_function():
    x = torch.rand(1, 3, 70, 90)
    seen = []

    def fn(patch, y0, x0):
        seen.append((y0, x0, *patch.shape[-2:]))
        return patch * 2 + 1

    torch.testing.assert_close(run_tiled(x, fn, 32, 8, 2), x * 2 + 1)
    assert len(seen) > 1 and all(h <= 32 and w <= 32 for *_, h, w in seen)


def test_latent_field_regions_agree_with_the_whole():
    field = LatentField(5, seed=3, key=(1, 2))
    whole = field.region(0, 0, 70, 50, draw=(0, 1))
    torch.testing.assert_close(field.region(13, 40, 40, 10, draw=(0, 1)),
                               whole[..., 13:53, 40:50])
    assert not torch.equal(whole, field.region(0, 0, 70, 50, draw=(0, 2)))
    assert not torch.equal(whole, LatentField(5, seed=4, key=(1, 2)).region(0, 0, 70, 50,
                                                                           draw=(0, 1)))
    assert abs(whole.std().item() - 1) < 0.05


@pytest.mark.parametrize("t", range(8))
def test_geometric_transforms_invert(t):
    x = torch.rand(1, 2, 4, 6)
    torch.testing.assert_close(geometric_inverse(geometric(x, t), t), x)


def test_tiled_matches_untiled(model):
    from skimage import data

    img = data.astronaut()[::4, ::4]  # a real 128x128 photo
    whole = Denoiser(model, DenoiseOptions(tile=0))(img)
    # the overlap measured on the network (this random one reaches ~52 px: half the tile, 32)
    tiled = Denoiser(model, DenoiseOptions(tile=64))
    assert tiled.overlap == 32
    # same latent values; only the missing context at tile borders differs
    assert peak_signal_noise_ratio(whole, tiled(img)) > 60


def test_tiled_is_reproducible_on_its_own(model):
    img = np.random.default_rng(0).integers(0, 256, (40, 38, 3), dtype=np.uint8)
    d = Denoiser(model, DenoiseOptions(tile=24, overlap=4, samples=2, self_ensemble=True))
    np.testing.assert_array_equal(d(img), d(img))


@settings(max_examples=15, deadline=None)
@given(h=st.integers(1, 33), w=st.integers(1, 33), c=st.sampled_from([1, 3, 4]),
       dtype=st.sampled_from([np.uint8, np.uint16]))
def test_pipeline_keeps_shape_dtype_and_alpha(model, h, w, c, dtype):
    img = np.random.default_rng(h * w).integers(0, np.iinfo(dtype).max, (h, w, c), dtype=dtype)
    out = Denoiser(model, DenoiseOptions(tile=16, overlap=4))(img)
    assert out.shape == img.shape and out.dtype == img.dtype
    if c == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])


def test_gray_is_denoised_as_replicated_rgb(model):
    gray = np.random.default_rng(1).integers(0, 256, (16, 16, 1), dtype=np.uint8)
    d = Denoiser(model, DenoiseOptions())
    rgb = torch.from_numpy(np.repeat(gray, 3, 2)).permute(2, 0, 1)[None].float() / 255
    as_rgb = d.denoise_tensor(rgb, key=image_key(gray))
    expected = np.clip(as_rgb.mean(1)[0].numpy(), 0, 1) * 255 + 0.5
    np.testing.assert_array_equal(d(gray)[..., 0], expected.astype(np.uint8))


def test_device_strings(monkeypatch):
    assert resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    for bad in ("cuda", "cuda:1", "gpu0"):
        with pytest.raises(InvdnError):
            resolve_device(bad)
