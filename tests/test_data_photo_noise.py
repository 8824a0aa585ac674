"""Photograph noise (`kind: photo`): storage as float / 8-bit / JPEG with chroma subsampling,
spatially correlated noise, gray photos with noise of their own, seeding, config errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn.data.datasets import SyntheticImages, SyntheticPatches
from invdn.data.noise import PhotoNoise, build_noise, correlate, takes_gray
from invdn.data.storage import SavedAsJpeg, jpeg_roundtrip, quantize
from invdn.data.transforms import luma
from invdn.errors import InvdnError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def smooth_image(channels: int = 3, size: int = 64) -> torch.Tensor:
    """A smooth colour ramp, so JPEG keeps it almost exactly and only the noise is at stake."""
    y, x = torch.meshgrid(torch.linspace(0.2, 0.8, size), torch.linspace(0.2, 0.8, size),
                          indexing="ij")
    return torch.stack([x, y, 1 - x][:channels])


def chroma_noise(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Per-pixel chroma (Cb, Cr of BT.601) of the noise of an RGB image."""
    d = noisy - clean
    r, g, b = d
    return torch.stack([-0.1687 * r - 0.3313 * g + 0.5 * b, 0.5 * r - 0.4187 * g - 0.0813 * b])


def test_quantize_gives_8bit_levels_in_range():
    x = torch.tensor([[-0.2, 0.5002, 1.3]])
    assert torch.equal(quantize(x) * 255, torch.tensor([[0.0, 128.0, 255.0]]))


def test_jpeg_420_smooths_chroma_noise_and_444_keeps_it():
    clean = smooth_image()
    noisy = quantize(clean + 0.08 * torch.randn(clean.shape, generator=gen()))
    sub = jpeg_roundtrip(noisy, 95, "420")
    full = jpeg_roundtrip(noisy, 95, "444")
    assert sub.shape == full.shape == noisy.shape and sub.dtype == noisy.dtype
    # 4:2:0 keeps one chroma sample per 2×2: the chroma noise loses most of its energy
    c_noisy, c_sub, c_full = (chroma_noise(v, clean).std() for v in (noisy, sub, full))
    assert c_sub < 0.6 * c_noisy
    assert c_full > 0.85 * c_noisy
    # and neighbouring pixels' chroma noise becomes correlated
    c = chroma_noise(sub, clean)
    corr = np.corrcoef(c[:, :, 0::2].flatten(), c[:, :, 1::2].flatten())[0, 1]
    assert corr > 0.5


def test_jpeg_roundtrip_of_gray_and_bad_arguments():
    gray = smooth_image(1)
    out = jpeg_roundtrip(gray, 90)
    assert out.shape == gray.shape and (out - gray).abs().max() < 4 / 255
    with pytest.raises(InvdnError, match="subsampling"):
        jpeg_roundtrip(gray, 90, "411x")
    with pytest.raises(InvdnError, match="quality"):
        jpeg_roundtrip(gray, 0)
    with pytest.raises(InvdnError, match="1 or 3"):
        jpeg_roundtrip(torch.zeros(2, 8, 8), 90)


def test_saved_as_jpeg_wraps_a_noise_model_and_batches():
    model = SavedAsJpeg(build_noise({"kind": "gaussian", "sigma": 20}), 95, "420")
    x = smooth_image()
    one, batch = model(x, gen(1)), model(x[None].repeat(2, 1, 1, 1), gen(1))
    assert one.shape == x.shape and batch.shape == (2, *x.shape)
    assert torch.equal(torch.round(one * 255), one * 255)  # 8-bit levels
    assert "quality=95" in repr(model)


@pytest.mark.parametrize("blur", [0.5, 1.5])
def test_correlated_noise_keeps_its_variance_and_correlates_neighbours(blur):
    white = torch.randn(3, 128, 128, generator=gen())
    noise = correlate(white, blur)
    assert noise.shape == white.shape
    assert noise.std().item() == pytest.approx(1.0, rel=0.1)
    corr = np.corrcoef(noise[:, :, :-1].flatten(), noise[:, :, 1:].flatten())[0, 1]
    assert corr > (0.2 if blur == 0.5 else 0.7)


def only(**chosen) -> PhotoNoise:
    """A PhotoNoise that always takes the named branches."""
    base = dict(p_camera=0.0, p_gaussian=1.0, p_correlated=0.0, p_float=0.0, p_jpeg=0.0,
                p_subsample=1.0, sigma=25.0)
    return PhotoNoise(**{**base, **chosen})


def test_float_storage_is_unclipped_like_the_benchmark_protocol():
    x = torch.full((3, 32, 32), 0.02)
    out = only(p_float=1.0)(x, gen())
    assert out.min() < 0  # values below 0 stay
    assert not torch.equal(torch.round(out * 255), out * 255)
    stored = only()(x, gen())
    assert stored.min() >= 0 and torch.equal(torch.round(stored * 255), stored * 255)


def test_jpeg_storage_happens_and_gray_images_stay_gray():
    x = smooth_image()
    jpeg = only(p_jpeg=1.0, jpeg_quality=80)(x, gen(3))
    plain = only()(x, gen(3))
    assert not torch.equal(jpeg, plain)
    gray = only(p_jpeg=1.0)(smooth_image(1), gen())
    assert gray.shape == (1, 64, 64)


def test_camera_noise_on_a_gray_image_is_gray_noise():
    x = smooth_image(1)
    out = only(p_camera=1.0, p_float=1.0, camera_shot=4e-3)(x, gen())
    assert out.shape == x.shape
    assert 0.005 < (out - x).std() < 0.3


def test_batches_draw_per_image_and_seeds_reproduce():
    model = build_noise({"kind": "photo"})
    x = smooth_image()[None].repeat(4, 1, 1, 1)
    a, b = model(x, gen(5)), model(x, gen(5))
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), channels=st.sampled_from([1, 3]))
def test_photo_noise_keeps_shape_and_dtype(seed, channels):
    x = torch.rand(channels, 24, 24, generator=gen(seed))
    out = build_noise({"kind": "photo"})(x, gen(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("bad, match", [
    ({"p_jpeg": 1.5}, "p_jpeg"), ({"correlation": 0}, "correlation"),
    ({"jpeg_quality": [50, 120]}, "jpeg_quality"), ({"sigma": [-1, 5]}, "sigma"),
])
def test_photo_noise_config_errors_name_the_key(bad, match):
    with pytest.raises(InvdnError, match=match):
        build_noise({"kind": "photo", **bad})


def test_which_models_take_gray():
    assert takes_gray(build_noise({"kind": "photo"}))
    assert takes_gray(build_noise({"kind": "gaussian"}))
    assert not takes_gray(build_noise({"kind": "camera"}))
    assert not takes_gray(build_noise({"kind": "mixed", "p_camera": 0.3}))


def test_gray_patches_have_equal_channels_with_noise_of_their_own():
    img = (np.random.default_rng(0).random((80, 80, 3)) * 255).astype(np.uint8)
    noise = build_noise({"kind": "gaussian", "sigma": 25})
    ds = SyntheticPatches([img], noise, patch_size=32, length=64, gray=0.5)
    grays = colours = 0
    for i in range(len(ds)):
        s = ds[i]
        equal = torch.equal(s["clean"][0], s["clean"][1]) and torch.equal(s["clean"][1],
                                                                           s["clean"][2])
        if equal:
            grays += 1
            assert torch.equal(s["noisy"][0], s["noisy"][2])  # the same noise in each channel
            assert (s["noisy"][0] - s["clean"][0]).std() > 0.05
        else:
            colours += 1
            assert not torch.equal(s["noisy"][0] - s["clean"][0], s["noisy"][1] - s["clean"][1])
    assert grays > 15 and colours > 15


def test_gray_validation_copies_follow_the_colour_images():
    img = (np.random.default_rng(1).random((40, 40, 3)) * 255).astype(np.uint8)
    ds = SyntheticImages([img], ["a"], build_noise({"kind": "gaussian", "sigma": 10}), gray=True)
    assert len(ds) == 2 and ds[1]["name"] == "a_gray"
    assert torch.allclose(ds[1]["clean"][0], luma(ds[0]["clean"])[0])
    assert torch.equal(ds[1]["noisy"][0], ds[1]["noisy"][1])


def test_datamodule_refuses_gray_patches_with_rgb_only_camera_noise(tmp_path):
    from invdn.data.datamodules import SyntheticDataModule

    dm = SyntheticDataModule(noise={"kind": "camera"}, gray=0.2, patch_size=32,
                             samples_per_epoch=8, num_workers=0)
    with pytest.raises(InvdnError, match="kind=photo"):
        dm.setup()
    with pytest.raises(InvdnError, match="data.gray"):
        SyntheticDataModule(gray=1.5, patch_size=32, num_workers=0).setup()
