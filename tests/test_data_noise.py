"""Noise models: statistics, units, seeding, per-image parameters, config factory."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn.data.noise import GaussianNoise, MixedNoise, PoissonGaussianNoise, build_noise
from invdn.errors import InvdnError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_gaussian_std_matches_sigma_in_8bit_levels():
    x = torch.full((3, 256, 256), 0.5)
    noisy = GaussianNoise(sigma=25)(x, gen())
    assert (noisy - x).std().item() * 255 == pytest.approx(25, rel=0.02)
    assert (noisy - x).mean().abs().item() < 1e-3


def test_gaussian_range_draws_one_sigma_per_image():
    x = torch.full((64, 1, 32, 32), 0.5)
    stds = (GaussianNoise(sigma=(5, 50))(x, gen()) - x).std(dim=(1, 2, 3)) * 255
    assert stds.min() > 3 and stds.max() < 53
    assert stds.max() - stds.min() > 20  # values really vary across the batch


def test_seeded_calls_are_reproducible_and_seeds_differ():
    x = torch.rand(2, 3, 16, 16, generator=gen(1))
    for model in (GaussianNoise(sigma=(0, 50)), PoissonGaussianNoise()):
        assert torch.equal(model(x, gen(7)), model(x, gen(7)))
        assert not torch.equal(model(x, gen(7)), model(x, gen(8)))


def test_poisson_gaussian_variance_is_shot_times_x_plus_read():
    shot, read = 4e-3, 1e-4
    model = PoissonGaussianNoise(shot=shot, read=read, clip=False)
    levels = [0.1, 0.4, 0.8]
    variances = []
    for level in levels:
        x = torch.full((1, 128, 128), level)
        variances.append((model(x, gen()) - x).var().item())
    for level, var in zip(levels, variances, strict=True):
        assert var == pytest.approx(shot * level + read, rel=0.05)
    assert variances[0] < variances[1] < variances[2]


def test_output_is_clipped_to_unit_range_and_keeps_shape_dtype():
    x = torch.rand(2, 3, 8, 8, generator=gen(2))
    noisy = GaussianNoise(sigma=80)(x, gen())
    assert noisy.shape == x.shape and noisy.dtype == x.dtype
    assert noisy.min() >= 0 and noisy.max() <= 1


@settings(max_examples=10, deadline=None)
@given(batch=st.one_of(st.none(), st.integers(1, 3)), c=st.integers(1, 3),
       h=st.integers(1, 9), w=st.integers(1, 9))
def test_any_shape_is_accepted(batch, c, h, w):
    shape = (c, h, w) if batch is None else (batch, c, h, w)
    x = torch.rand(shape, generator=gen())
    for model in (GaussianNoise(sigma=(1, 10)), PoissonGaussianNoise()):
        assert model(x, gen()).shape == x.shape


def test_factory_builds_models_from_config_values():
    assert build_noise({"kind": "gaussian", "sigma": [5, 50]}) == GaussianNoise(sigma=(5.0, 50.0))
    pg = build_noise({"kind": "poisson_gaussian", "shot": 1e-3, "read": [1e-6, 1e-4]})
    assert pg.shot == (1e-3, 1e-3) and pg.read == (1e-6, 1e-4)
    both = {"sigma": 25, "shot": 1e-3, "read": 1e-5}  # kind alone switches the model
    assert build_noise({"kind": "gaussian", **both}) == GaussianNoise(sigma=25)
    assert build_noise({"kind": "poisson_gaussian", **both}) == PoissonGaussianNoise(1e-3, 1e-5)
    model = GaussianNoise(sigma=10)
    assert build_noise(model) is model


@pytest.mark.parametrize("spec, words", [
    ({"kind": "speckle"}, "unknown"),
    ({"kind": "gaussian", "sigma_max": 1}, "sigma_max unknown"),
    ({"kind": "gaussian", "sigma": [50, 5]}, "lo <= hi"),
    ({"kind": "gaussian", "sigma": "loud"}, "not a number"),
    ({"kind": "poisson_gaussian", "shot": [0, 1e-2]}, "lo > 0"),
    ("gaussian", "mapping"),
])
def test_factory_errors_name_the_problem(spec, words):
    with pytest.raises(InvdnError, match=words):
        build_noise(spec)


def test_noise_rejects_integer_images():
    with pytest.raises(InvdnError, match="float"):
        GaussianNoise()(torch.zeros(3, 4, 4, dtype=torch.uint8))


def test_mixed_noise_picks_one_model_per_image_with_p_gaussian():
    x = torch.linspace(0.02, 0.98, 64 * 64).view(1, 1, 64, 64).expand(400, 3, 64, 64)
    model = MixedNoise(sigma=20, shot=2e-2, read=1e-6, p_gaussian=0.3, clip=False)
    residual = model(x, gen()) - x
    dark = residual[..., :16, :].std(dim=(1, 2, 3))
    bright = residual[..., -16:, :].std(dim=(1, 2, 3))
    gaussian = (bright / dark) < 1.5  # Poisson–Gaussian: std grows ~4x from dark to bright
    assert 0.22 < gaussian.float().mean() < 0.38
    assert torch.allclose(dark[gaussian] * 255, torch.tensor(20.0), rtol=0.1)
    assert torch.equal(model(x[:4], gen(3)), model(x[:4], gen(3)))
    assert torch.equal(MixedNoise(sigma=20, p_gaussian=1.0, clip=False).std(x[:2], gen()),
                       torch.full_like(x[:2], 20 / 255))
    built = build_noise({"kind": "mixed", "sigma": [5, 50], "shot": 1e-3, "read": 1e-5,
                         "p_gaussian": 0.25})
    assert built == MixedNoise((5.0, 50.0), 1e-3, 1e-5, 0.25)
    with pytest.raises(InvdnError, match="p_gaussian"):
        build_noise({"kind": "gaussian", "p_gaussians": 0.5})
