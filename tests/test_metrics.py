"""invdn.metrics against scikit-image's SIDD protocol (uint8, data_range=255), and the
evaluation and the loss that use it."""

import kornia
import numpy as np
import pytest
import skimage.data
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from invdn.evaluation.protocol import PSNR_CAP, block_metrics
from invdn.io.images import from_float
from invdn.metrics import psnr, ssim, to_uint8_levels
from invdn.training.losses import ssim_loss


def _sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, channel_axis=-1, data_range=255)


def _tensor(*images: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 arrays → (B, 3, H, W) float holding 0…255."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()


def _noisy(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).round().astype(np.uint8)


@settings(max_examples=15, deadline=None)
@given(h=st.integers(11, 40), w=st.integers(11, 40), sigma=st.floats(1, 80),
       seed=st.integers(0, 2**16))
def test_random_images_match_skimage(h, w, sigma, seed):
    clean = np.random.default_rng(seed + 1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    noisy = _noisy(clean, sigma, seed)
    assert psnr(_tensor(noisy), _tensor(clean)).item() == pytest.approx(
        peak_signal_noise_ratio(clean, noisy, data_range=255), abs=1e-6)
    assert ssim(_tensor(noisy), _tensor(clean)).item() == pytest.approx(
        _sk_ssim(clean, noisy), abs=1e-7)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_real_images_batch_match_skimage(name):
    clean = getattr(skimage.data, name)()[:256, :256]
    noisy = [_noisy(clean, s, i) for i, s in enumerate((5, 15, 25, 50))]
    batch_noisy, batch_clean = _tensor(*noisy), _tensor(*[clean] * len(noisy))
    got_psnr, got_ssim = psnr(batch_noisy, batch_clean), ssim(batch_noisy, batch_clean)
    assert got_psnr.shape == got_ssim.shape == (4,)
    for i, n in enumerate(noisy):
        assert got_psnr[i].item() == pytest.approx(
            peak_signal_noise_ratio(clean, n, data_range=255), abs=1e-6)
        assert got_ssim[i].item() == pytest.approx(_sk_ssim(clean, n), abs=1e-6)
    # More noise, lower scores.
    assert torch.all(got_psnr[1:] < got_psnr[:-1]) and torch.all(got_ssim[1:] < got_ssim[:-1])


def test_identical_images():
    img = _tensor(skimage.data.coffee()[:64, :64])
    assert torch.isinf(psnr(img, img)).all()
    assert ssim(img, img).item() == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=1, max_size=64))
def test_uint8_levels_round_like_the_image_writer(values):
    x = np.array(values, dtype=np.float32)
    expected = from_float(x).astype(np.float32)
    assert np.array_equal(to_uint8_levels(torch.from_numpy(x)).numpy(), expected)


def test_bad_shapes_raise():
    a = torch.zeros(1, 3, 10, 30)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a, a)
    with pytest.raises(ValueError, match="one shape"):
        psnr(a, torch.zeros(1, 3, 10, 31))


@pytest.mark.parametrize("name", ["chelsea", "astronaut"])
def test_block_metrics_follow_skimage_8_and_16_bit_color_and_gray(name):
    clean8 = getattr(skimage.data, name)()[:120, :160]
    rng = np.random.default_rng(3)
    clean16 = clean8.astype(np.uint16) * 257
    noisy16 = np.clip(clean16 + rng.normal(0, 3000, clean16.shape), 0, 65535).astype(np.uint16)
    cases = [(clean8, _noisy(clean8, 25, 0), 255), (clean8[:, :, :1], _noisy(clean8, 9, 1)[:, :, :1],
             255), (clean16, noisy16, 65535)]
    for clean, noisy, top in cases:
        got_psnr, got_ssim = block_metrics(noisy, clean)
        assert got_psnr == pytest.approx(peak_signal_noise_ratio(clean, noisy, data_range=top),
                                         abs=1e-6)
        assert got_ssim == pytest.approx(structural_similarity(
            clean, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            channel_axis=-1, data_range=top), abs=1e-6)
    assert block_metrics(clean8, clean8) == (PSNR_CAP, 1.0)


def test_ssim_loss_is_the_same_padded_kornia_map_as_before():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 3, 24, 20, generator=g), torch.rand(2, 3, 24, 20, generator=g)
    expected = (1 - kornia.metrics.ssim(pred, target, 11, max_val=1.0)).flatten(1).sum(1).mean()
    assert torch.equal(ssim_loss(pred, target), expected)
