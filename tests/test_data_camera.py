"""Camera-like noise (unprocessing, Brooks et al. 2019): round trip, statistics, seeding, config."""

import pytest
import torch

from invdn.data.camera import (
    DEMOSAIC_METHODS,
    demosaic,
    draw_params,
    inverse_smoothstep,
    mosaic,
    process_rgb,
    smoothstep,
    unprocess,
)
from invdn.data.noise import CameraNoise, MixedNoise, build_noise
from invdn.data.synthetic import bundled_image
from invdn.errors import InvdnError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def photo(name: str = "astronaut", size: int = 128) -> torch.Tensor:
    img = torch.from_numpy(bundled_image(name)[:size, :size]).permute(2, 0, 1)
    return img.float().div(255)


def test_tone_curve_inverse_is_exact():
    y = torch.linspace(0, 1, 1001)
    assert torch.allclose(smoothstep(inverse_smoothstep(y)), y, atol=1e-6)


def test_zero_noise_round_trip_returns_the_input():
    x = torch.stack([photo(n) for n in ("astronaut", "rocket", "immunohistochemistry")])
    p = draw_params(3, generator=gen(1))
    raw, wb = unprocess(x, p)
    assert raw.min() >= 0 and raw.max() <= 1
    # the forward pipeline inverts unprocessing to float32 rounding (2.4e-7 measured)
    assert (process_rgb(raw, wb, p) - x).abs().max() < 1e-5
    # with no noise the noisy image is the input itself, whatever the demosaicing
    for method in DEMOSAIC_METHODS:
        assert torch.equal(CameraNoise(camera_shot=0, demosaic=method)(x, gen()), x)


@pytest.mark.parametrize("method", DEMOSAIC_METHODS)
def test_demosaic_keeps_flat_colours_at_any_size(method):
    for h, w in ((8, 10), (7, 9)):
        img = torch.tensor([0.2, 0.5, 0.8]).view(1, 3, 1, 1).expand(2, 3, h, w)
        out = demosaic(mosaic(img), method)
        assert out.shape == img.shape
        assert (out - img).abs().max() < 2e-5  # OpenCV works on 16-bit codes


def test_noise_is_signal_dependent():
    # a horizontal ramp of gray levels 0.05 … 0.95, one camera with a fixed shot level
    x = torch.linspace(0.05, 0.95, 10).repeat_interleave(16).view(1, 1, 160).expand(3, 64, 160)
    model = CameraNoise(camera_shot=2e-3, clip=False)
    residual = torch.stack([model(x, gen(s)) - x for s in range(4)])
    std = residual.unflatten(-1, (10, 16))[..., 2:-2].std(dim=(0, 1, 2, 4))
    # in sRGB the variance grows from the shadows to the mid-tones (0.030 → 0.057 measured) and
    # falls again in the highlights, where the tone curve flattens (0.026 at 0.95)
    assert std[4] > 1.5 * std[0] and std[4] > 1.5 * std[9]
    assert (std[1:5] > std[:4]).all()


def residual_of_flat(model: CameraNoise, seed: int = 0) -> torch.Tensor:
    x = torch.full((4, 3, 96, 96), 0.45)
    return (model(x, gen(seed)) - x)[..., 4:-4, 4:-4]


def test_noise_is_spatially_correlated_after_demosaicing():
    r = residual_of_flat(CameraNoise(camera_shot=2e-3, clip=False))
    r = r - r.mean(dim=(-2, -1), keepdim=True)
    corr = (r[..., :, 1:] * r[..., :, :-1]).mean() / r.var()
    assert corr > 0.2  # white noise: ~0


def test_noise_is_channel_correlated():
    r = residual_of_flat(CameraNoise(camera_shot=2e-3, clip=False)).transpose(0, 1).flatten(1)
    corr = torch.corrcoef(r)
    off_diagonal = corr[~torch.eye(3, dtype=torch.bool)]
    assert off_diagonal.abs().max() > 0.1  # the colour matrix mixes the raw channels


def test_seeded_calls_are_reproducible_and_in_range():
    x = photo(size=64)
    model = CameraNoise()
    a, b = model(x, gen(7)), model(x, gen(7))
    assert torch.equal(a, b) and not torch.equal(a, model(x, gen(8)))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0 and a.max() <= 1
    assert not torch.equal(a, x)


def test_drawn_levels_follow_the_papers_sensor_relation():
    p = draw_params(4000, generator=gen())
    log_shot, log_read = p.shot.log(), p.read.log()
    assert p.shot.min() >= 1e-4 and p.shot.max() <= 1.2e-2
    assert (log_read - 2.18 * log_shot - 1.20).std() == pytest.approx(0.26, rel=0.1)
    assert torch.allclose(p.rgb2cam.sum(-1), torch.ones(4000, 3), atol=1e-5)
    assert 1.9 <= p.red_gain.min() and p.red_gain.max() <= 2.4


def test_config_builds_camera_and_mixed_models():
    model = build_noise({"kind": "camera", "camera_shot": [1e-3, 3e-3], "demosaic": "opencv",
                         "sigma": 25})
    assert model == CameraNoise((1e-3, 3e-3), "opencv")
    for spec, words in (({"kind": "camera", "demosaic": "fancy"}, "demosaic='fancy' unknown"),
                        ({"kind": "camera", "camera_shot": [0, 1e-2]}, "lo > 0"),
                        ({"kind": "mixed", "p_camera": 2}, "p_camera=2 must be a probability")):
        with pytest.raises(InvdnError, match=words):
            build_noise(spec)
    with pytest.raises(InvdnError, match="RGB"):
        CameraNoise()(torch.rand(1, 8, 8))


def test_mixed_noise_includes_camera_noise_with_p_camera():
    x = torch.full((60, 3, 32, 32), 0.5)
    only_camera = MixedNoise(p_camera=1.0, camera_shot=2e-3)
    assert torch.equal(only_camera(x, gen(3)), CameraNoise(camera_shot=2e-3)(x, _after_pick(3, 60)))
    mixed = MixedNoise(sigma=20, p_gaussian=1.0, p_camera=0.5, camera_shot=2e-3, clip=False)
    r = mixed(x, gen()) - x
    # camera residuals are spatially correlated, Gaussian ones are not
    lag = (r[..., 1:] * r[..., :-1]).mean(dim=(1, 2, 3)) / r.var(dim=(1, 2, 3))
    camera = lag > 0.15
    assert 0.3 < camera.float().mean() < 0.7
    assert torch.equal(mixed(x[0], gen(5)), mixed(x[0], gen(5)))  # (C, H, W) works too
    # p_camera=0 keeps the old model's draws exactly
    old = MixedNoise(sigma=20, shot=1e-3, read=1e-5)
    assert torch.equal(old(x[:4], gen(2)), MixedNoise(sigma=20, shot=1e-3, read=1e-5,
                                                      p_camera=0.0)(x[:4], gen(2)))


def _after_pick(seed: int, n: int) -> torch.Generator:
    """A generator in the state MixedNoise leaves it after drawing its per-image picks."""
    g = gen(seed)
    torch.rand(n, generator=g)
    return g


def test_synthetic_datamodule_trains_on_camera_noise_from_config_values():
    from invdn.data import SyntheticDataModule

    dm = SyntheticDataModule(patch_size=32, batch_size=4, samples_per_epoch=8, num_workers=0,
                             val_crop=64, noise={"kind": "mixed", "p_camera": 1.0,
                                                 "camera_shot": [1e-3, 3e-3]})
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["noisy"].shape == batch["clean"].shape == (4, 3, 32, 32)
    assert batch["noisy"].min() >= 0 and batch["noisy"].max() <= 1
    assert (batch["noisy"] - batch["clean"]).abs().mean() > 1 / 255
