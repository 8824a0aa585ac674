"""Issue 15 item 7: generated noise is calibrated to the input's own noise level."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from invdn.inference.loading import default_weights_path, load_checkpoint_or_default
from invdn.inference.resample import LatentResampler, ResampleOptions, robust_noise_std


def test_robust_noise_std_of_white_noise_on_a_photo():
    from invdn.data.synthetic import bundled_image
    from invdn.io.images import image_to_tensor

    clean = image_to_tensor(np.ascontiguousarray(bundled_image("coffee")[100:228, 200:328]))
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 20 / 255
    assert float(robust_noise_std(noise)) * 255 == pytest.approx(20, rel=0.05)
    # edges of the photo itself barely move the estimate
    assert float(robust_noise_std(clean + noise)) * 255 == pytest.approx(20, rel=0.2)


def test_noise_level_from_the_noisy_image_where_the_scene_is_flat():
    from invdn.data.synthetic import bundled_image
    from invdn.io.images import image_to_tensor

    clean = image_to_tensor(np.ascontiguousarray(bundled_image("coffee")[100:356, 150:406]))
    gen = torch.Generator().manual_seed(0)
    # shot noise: std grows with brightness; its root mean square over the image is the truth
    std = (clean * 0.01 + 1e-4).sqrt()
    noise = torch.randn(clean.shape, generator=gen) * std
    truth = float(noise.square().mean().sqrt())
    # one median over all pixels underestimates signal-dependent noise by a third here …
    assert float(robust_noise_std(noise)) < 0.75 * truth
    # … per brightness bin much less (what is left: colour makes a pixel's channels differ in
    # brightness, and the bins go by their mean)
    binned = float(robust_noise_std(noise, clean))
    assert binned == pytest.approx(truth, rel=0.15)
    # on the noisy image itself, the flattest half of each bin leaves the coffee's texture out
    noisy = clean + noise
    assert float(robust_noise_std(noisy, clean, flat=0.5)) == pytest.approx(binned, rel=0.05)
    assert float(robust_noise_std(noisy, clean)) > 1.05 * binned


@pytest.mark.skipif(not default_weights_path().is_file(), reason="no default weights installed")
def test_generated_noise_matches_the_inputs_level_with_the_default_weights():
    from invdn.data.noise import GaussianNoise
    from invdn.data.synthetic import bundled_image
    from invdn.io.images import image_to_tensor

    torch.set_num_threads(1)
    img = bundled_image("motorcycle")
    clean = image_to_tensor(np.ascontiguousarray(img[150:278, 300:428]))
    noisy = (GaussianNoise(25.0)(clean, torch.Generator().manual_seed(1)) * 255).round() / 255
    gen = LatentResampler(load_checkpoint_or_default(None), ResampleOptions(count=2, tile=0), "cpu")
    est, reals = gen.resample_tensor(noisy)
    ratio = float((reals - est).std() / (noisy - clean).std())
    # before the calibration: 0.2–0.5 at every σ (the latent's size was matched, not the noise)
    assert 0.7 < ratio < 1.3, ratio
    half = LatentResampler(gen.model, ResampleOptions(count=1, tile=0, temperature=0.5), "cpu")
    _, weaker = half.resample_tensor(noisy)
    assert float((weaker - est).std()) < float((reals - est).std())


def test_interpolate_scale_hits_the_target_between_grid_points():
    from invdn.inference.resample import interpolate_scale

    scales = [0.5, 1.0, 2.0]
    levels = [5.0, 10.0, 20.0]  # level ∝ scale: the interpolation is exact in log-log
    assert interpolate_scale(scales, levels, 14.0) == pytest.approx(1.4)
    assert interpolate_scale(scales, levels, 5.0) == pytest.approx(0.5)
    # outside the measured range: the closest grid point, never an extrapolation
    assert interpolate_scale(scales, levels, 100.0) == 2.0
    assert interpolate_scale(scales, levels, 1.0) == 0.5
    # a non-monotone stretch: the first bracketing pair is used
    a = math.log(9 / 10) / math.log(8 / 10)
    assert interpolate_scale([1.0, 2.0, 4.0], [10.0, 8.0, 16.0], 9.0) == pytest.approx(2 ** a)
