"""The field's benchmark: protocol (noise draws, clipping, scoring), set loading, real pairs, the
float/gray entry point of the Denoiser, and bench/standard.py end to end on tiny generated sets."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from invdn.errors import InvdnError
from invdn.evaluation.published import PUBLISHED, published
from invdn.evaluation.realnoise import evaluate_pairs, load_pairs
from invdn.evaluation.standard import (
    Timer,
    evaluate_set,
    load_set,
    noisy_inputs,
    score,
    to_uint8,
)
from invdn.inference.pipeline import DenoiseOptions, Denoiser
from invdn.io.images import write_image

ROOT = Path(__file__).resolve().parents[1]


def make_sets(root: Path, size=(24, 20)) -> None:
    rng = np.random.default_rng(0)
    for name, channels, count in (("CBSD68", 3, 2), ("Kodak24", 3, 1), ("BSD68", 1, 2),
                                  ("Set12", 1, 1)):
        for i in range(count):
            img = (rng.random((*size, channels)) * 255).astype(np.uint8)
            write_image(root / name / f"{i:02d}.png", img)


def test_noise_is_the_papers_seeded_legacy_draws_in_sorted_order():
    clean = [(f"{i}", np.full((4, 5, 3), 100 + i, np.uint8)) for i in range(2)]
    np.random.seed(0)
    expected = [c / 255.0 + np.random.normal(0, 25 / 255.0, c.shape) for _, c in clean]
    got = list(noisy_inputs(clean, 25, "paper"))
    for (_, _, noisy), want in zip(got, expected, strict=True):
        assert np.allclose(noisy, want, atol=1e-6) and noisy.dtype == np.float32
    assert min(n.min() for _, _, n in got) < 100 / 255 - 0.2  # not clipped
    eight = [n for _, _, n in noisy_inputs(clean, 25, "8bit")]
    for e, (_, _, p) in zip(eight, got, strict=True):
        assert np.allclose(e, np.round(np.clip(p, 0, 1) * 255) / 255, atol=1e-6)
    with pytest.raises(InvdnError, match="protocol"):
        next(noisy_inputs(clean, 25, "jpeg"))


def test_score_clips_and_rounds_the_output():
    clean = np.full((8, 8, 1), 200, np.uint8)
    assert score(np.full((8, 8, 1), 200.4 / 255), clean)[0] == 100.0  # rounds to the clean
    assert np.array_equal(to_uint8(np.array([-0.5, 0.5, 2.0])), [0, 128, 255])


def test_load_set_sorts_and_converts_to_the_sets_kind(tmp_path):
    make_sets(tmp_path)
    write_image(tmp_path / "Set12" / "00.png", np.zeros((6, 6, 3), np.uint8))  # colour file
    cbsd = load_set(tmp_path, "CBSD68")
    assert [n for n, _ in cbsd] == ["00", "01"] and cbsd[0][1].shape[2] == 3
    assert load_set(tmp_path, "Set12")[0][1].shape == (6, 6, 1)
    with pytest.raises(InvdnError, match="no images"):
        load_set(tmp_path / "nowhere", "Kodak24")
    with pytest.raises(InvdnError, match="unknown"):
        load_set(tmp_path, "Urban100")


def test_evaluate_set_scores_identity_as_the_noisy_input_and_times_it(tmp_path):
    make_sets(tmp_path)
    images = load_set(tmp_path, "CBSD68")
    timer = Timer()
    cell = evaluate_set(lambda x: x, images, 25, "8bit", timer)
    assert cell["psnr"] == pytest.approx(cell["noisy_psnr"])
    assert len(cell["images"]) == 2 and timer.megapixels == pytest.approx(2 * 24 * 20 / 1e6)


def test_real_pairs_count_outputs_below_their_input(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        clean = (rng.random((16, 16, 3)) * 200 + 20).astype(np.uint8)
        noisy = np.clip(clean + rng.normal(0, 5, clean.shape), 0, 255).astype(np.uint8)
        write_image(tmp_path / f"cam_{i}_real.png", noisy)
        write_image(tmp_path / f"cam_{i}_mean.png", clean)
    write_image(tmp_path / "lonely_real.png", np.zeros((4, 4, 3), np.uint8))  # no partner
    pairs = load_pairs(tmp_path)
    assert [n for n, _, _ in pairs] == ["cam_0", "cam_1"]
    worse = evaluate_pairs(lambda x: x + 0.1, pairs)
    assert worse["below_input"] == 2 and worse["psnr"] < worse["noisy_psnr"]
    with pytest.raises(InvdnError, match="_real"):
        load_pairs(tmp_path / "empty")


def test_published_rows_carry_their_papers():
    assert published("BM3D / CBM3D").psnr["CBSD68"][25] == 30.71
    assert all(row.citation and "CBSD68" in row.psnr for row in PUBLISHED)
    with pytest.raises(KeyError):
        published("nothing")


def test_denoise_float_runs_gray_as_rgb_and_takes_out_of_range_values(tiny):
    model, _ = tiny
    denoiser = Denoiser(model, DenoiseOptions(tile=0, precision="fp32"))
    gray = torch.rand(1, 1, 16, 20) * 1.4 - 0.2
    out = denoiser.denoise_float(gray)
    rgb = denoiser.denoise_tensor(gray.expand(1, 3, -1, -1))
    assert out.shape == gray.shape
    assert torch.allclose(out, rgb.mean(dim=1, keepdim=True))
    with pytest.raises(InvdnError, match="float tensor"):
        denoiser.denoise_float(torch.zeros(1, 2, 8, 8))


def test_bench_standard_end_to_end_on_tiny_sets(tmp_path, tiny):
    _, weights = tiny
    make_sets(tmp_path / "sets")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "standard.py"), "--root", str(tmp_path / "sets"),
         "--realnoise", "none", "--invdn", f"tiny={weights}", "--sigmas", "25",
         "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "standard.json").read_text())
    cell = report["results"]["sets"]["Set12"]["paper"]["25"]["tiny"]
    assert set(cell) >= {"psnr", "ssim", "noisy_psnr", "images"}
    assert report["results"]["speed"]["tiny"]["mp_per_s"] > 0
    markdown = (out / "standard.md").read_text()
    assert "CDnCNN-B (published: Zhang et al., TIP 2017)" in markdown
    assert "8-bit files" in markdown and "| **tiny** |" in markdown
