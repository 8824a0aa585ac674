"""`invdn generate`: latent resampling, outputs, noise report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from invdn.cli.main import main
from invdn.inference.resample import (
    LatentResampler,
    ResampleOptions,
    finest_scale_channels,
    noise_statistics,
)
from invdn.io.images import read_image, write_image


def photo(shape=(24, 28, 3), dtype=np.uint8):
    rng = np.random.default_rng(0)
    top = np.iinfo(dtype).max
    base = np.linspace(0.1, 0.9, shape[1])[None, :, None] * np.ones(shape)
    return np.clip((base + rng.normal(0, 0.04, shape)) * top, 0, top).astype(dtype)


def test_finest_scale_channels_of_invdn():
    high = finest_scale_channels(3, 2)
    assert len(high) == 36 and len(set(high)) == 36 and min(high) >= 0 and max(high) < 45
    # level-2 details of the level-1 low-pass image (3 channels x 3 bands) are the coarse ones
    coarse = sorted(set(range(45)) - set(high))
    assert coarse == [12 * k + j - 3 for k in (1, 2, 3) for j in (0, 1, 2)]
    assert finest_scale_channels(3, 1) == list(range(9))
    # a model keeping 6 channels at one level: the latent is the last 6, all first-level detail
    assert finest_scale_channels(3, 1, keep=6) == list(range(6))
    assert len(finest_scale_channels(3, 2, keep=12)) == 36 - 9


def test_realizations_keep_what_they_should(tiny):
    model, _ = tiny
    x = torch.from_numpy(photo()).permute(2, 0, 1)[None].float() / 255
    gen = LatentResampler(model, ResampleOptions(count=3, tile=0), "cpu")
    clean, reals = gen.resample_tensor(x, key=(1,))
    assert clean.shape == (1, 3, 24, 28) and reals.shape == (3, 3, 24, 28)
    assert not torch.equal(reals[0], reals[1])
    # temperature 0 on every channel: the noise is gone, the clean latent remains
    calm = LatentResampler(model, ResampleOptions(count=2, temperature=0, tile=0), "cpu")
    _, still = calm.resample_tensor(x, key=(1,))
    torch.testing.assert_close(still[0], still[1])
    # mode high keeps the coarse noise: closer to the input than mode all
    high = LatentResampler(model, ResampleOptions(count=3, mode="high", tile=0), "cpu")
    _, reals_high = high.resample_tensor(x, key=(1,))
    assert (reals_high - x).abs().mean() < (reals - x).abs().mean()


def test_tiled_generation_is_close_to_untiled(tiny):
    from skimage import data

    x = torch.from_numpy(data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255
    whole = LatentResampler(tiny[0], ResampleOptions(count=1, tile=0), "cpu")
    tiled = LatentResampler(tiny[0], ResampleOptions(count=1, tile=64, overlap=16), "cpu")
    _, a = whole.resample_tensor(x)
    _, b = tiled.resample_tensor(x)
    assert (a - b).abs().mean() < 0.02


def test_noise_statistics_on_known_noise():
    rng = np.random.default_rng(0)
    clean = np.full((64, 64, 3), 100, np.uint8)
    noisy = np.clip(clean + rng.normal(0, 5, clean.shape), 0, 255).astype(np.uint8)
    twice = [np.clip(clean + rng.normal(0, 10, clean.shape), 0, 255).astype(np.uint8)
             for _ in range(2)]
    stats = noise_statistics(noisy, clean, twice)
    assert stats["std_original"] == pytest.approx([5] * 3, rel=0.1)
    assert stats["std_generated"] == pytest.approx([10] * 3, rel=0.1)
    assert abs(stats["correlation_with_original"][0]) < 0.1
    populated = [v for v in stats["std_vs_intensity_original"][0] if v is not None]
    assert len(populated) == 1 and populated[0] == pytest.approx(5, rel=0.1)


def test_generate_cli(tmp_path, tiny, capsys):
    write_image(tmp_path / "in" / "a.png", photo())
    write_image(tmp_path / "in" / "g16.tif", photo((20, 20, 1), np.uint16))
    args = ["generate", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--checkpoint",
            str(tiny[1]), "--count", "2", "--seed", "3", "-q"]
    assert main(args) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a_clean.png", "a_gen00.png", "a_gen01.png", "a_noise.json",
                     "a_noise.png", "g16_clean.tif", "g16_gen00.tif", "g16_gen01.tif",
                     "g16_noise.json", "g16_noise.png"]
    g16 = read_image(tmp_path / "out" / "g16_gen01.tif")
    assert g16.shape == (20, 20, 1) and g16.dtype == np.uint16
    report = json.loads((tmp_path / "out" / "a_noise.json").read_text())
    assert report["mode"] == "all" and len(report["std_generated"]) == 3
    assert len(report["correlation_with_original"]) == 2
    first = read_image(tmp_path / "out" / "a_gen00.png")
    assert main([*args, "--overwrite"]) == 0  # same seed, same realizations
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "a_gen00.png"), first)
    assert main(args) == 0
    assert "0 images done" in capsys.readouterr().out.splitlines()[-1]
    assert main([*args, "--window", "4"]) == 2
