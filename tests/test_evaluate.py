"""`invdn evaluate` on tiny generated SIDD-style .mat files and paired folders."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest
import scipy.io
import torch
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

from invdn.cli.main import main
from invdn.evaluation.compare import read_report
from invdn.io.images import read_image, write_image
from invdn.io.weights import save_weights
from invdn.nn import DANetDenoiser, InvDN


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    """Smooth photo blocks (2, 2, 32, 32, 3) with Gaussian noise σ=15, as SIDD .mat files."""
    folder = tmp_path_factory.mktemp("sidd")
    photo = data.astronaut()
    clean = np.stack([np.stack([cv2.resize(photo[i * 200:i * 200 + 200, j * 200:j * 200 + 200],
                                           (32, 32), interpolation=cv2.INTER_AREA)
                                for j in range(2)]) for i in range(2)])
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 15, clean.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    for name, arr in (("ValidationGtBlocksSrgb", clean), ("ValidationNoisyBlocksSrgb", noisy),
                      ("BenchmarkNoisyBlocksSrgb", noisy)):
        scipy.io.savemat(folder / f"{name}.mat", {name: arr})
    return folder, noisy, clean


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.pt"
    save_weights(InvDN(blocks=(1, 1), width=8), path)
    return path


def evaluate(*args) -> int:
    return main(["evaluate", *map(str, args), "-q"])


def mat_args(folder):
    return ["--noisy", folder / "ValidationNoisyBlocksSrgb.mat",
            "--gt", folder / "ValidationGtBlocksSrgb.mat"]


def test_noisy_baseline_follows_the_protocol(tmp_path, blocks):
    folder, noisy, clean = blocks
    assert evaluate(*mat_args(folder), "--method", "noisy", "-o", tmp_path) == 0
    report = json.loads((tmp_path / "evaluate.json").read_text())
    expected = [peak_signal_noise_ratio(c, n, data_range=255)
                for c, n in zip(clean.reshape(-1, 32, 32, 3), noisy.reshape(-1, 32, 32, 3),
                                strict=True)]
    assert report["count"] == 4 and report["name"] == "noisy"
    assert [r["name"] for r in report["per_image"]] == ["00_00", "00_01", "01_00", "01_01"]
    assert report["mean_psnr"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert 0 < report["mean_ssim"] < 1 and report["seconds_per_megapixel"] > 0
    md = (tmp_path / "evaluate.md").read_text()
    assert f"{report['mean_psnr']:.2f} dB" in md and "| 01_01 |" in md
    png = read_image(tmp_path / "best_worst.png")
    assert png.shape[1] >= 3 * 32 and png.shape[0] >= 2 * 32


@pytest.mark.parametrize("method", ["nlm", "wavelet"])
def test_classical_methods_beat_the_noisy_input(tmp_path, blocks, method):
    folder = blocks[0]
    assert evaluate(*mat_args(folder), "--method", "noisy", "-o", tmp_path / "n") == 0
    assert evaluate(*mat_args(folder), "--method", method, "-o", tmp_path / "m") == 0
    assert evaluate(*mat_args(folder), "--method", method, "--sigma", 15,
                    "-o", tmp_path / "s") == 0
    psnr = {k: json.loads((tmp_path / k / "evaluate.json").read_text())["mean_psnr"]
            for k in "nms"}
    assert psnr["m"] > psnr["n"] + 2 and psnr["s"] > psnr["n"] + 2


def test_bm3d_missing_package_is_a_clear_error(tmp_path, blocks, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "bm3d", None)
    assert evaluate(*mat_args(blocks[0]), "--method", "bm3d", "-o", tmp_path) == 2
    assert "invdn[classical]" in capsys.readouterr().err


def test_invdn_with_limit_and_report_for_compare(tmp_path, blocks, tiny):
    assert evaluate(*mat_args(blocks[0]), "--checkpoint", tiny, "--limit", 3, "--samples", 2,
                    "-o", tmp_path) == 0
    report = json.loads((tmp_path / "evaluate.json").read_text())
    assert report["count"] == 3 and report["method"] == "invdn" and report["samples"] == 2
    assert report["checkpoint"] == str(tiny) and report["device"] == "cpu"
    assert read_report(str(tmp_path / "evaluate.json"))[0] == "invdn"
    # the same seed reproduces the numbers
    assert evaluate(*mat_args(blocks[0]), "--checkpoint", tiny, "--limit", 3, "--samples", 2,
                    "-o", tmp_path / "again") == 0
    again = json.loads((tmp_path / "again" / "evaluate.json").read_text())
    assert again["mean_psnr"] == report["mean_psnr"]


def test_submission_file_layout(tmp_path, blocks, tiny):
    folder, noisy, _ = blocks
    assert evaluate("--noisy", folder / "BenchmarkNoisyBlocksSrgb.mat", "--submit",
                    "--checkpoint", tiny, "-o", tmp_path) == 0
    sub = scipy.io.loadmat(tmp_path / "SubmitSrgb.mat")
    assert sub["DenoisedBlocksSrgb"].shape == noisy.shape
    assert sub["DenoisedBlocksSrgb"].dtype == np.uint8
    assert sub["TimeMPSrgb"].item() > 0
    assert json.loads((tmp_path / "evaluate.json").read_text())["count"] == 0
    assert evaluate("--noisy", folder / "BenchmarkNoisyBlocksSrgb.mat", "--submit", "--limit", 2,
                    "--checkpoint", tiny, "-o", tmp_path / "x") == 2


def test_paired_folders(tmp_path, blocks, tiny, capsys):
    _, noisy, clean = blocks
    for i, (n, c) in enumerate(zip(noisy[0], clean[0], strict=True)):
        write_image(tmp_path / "noisy" / f"img{i}.png", n)
        write_image(tmp_path / "clean" / f"img{i}.png", c)
    args = ["--noisy-dir", tmp_path / "noisy", "--clean-dir", tmp_path / "clean"]
    assert evaluate(*args, "--method", "noisy", "-o", tmp_path / "out") == 0
    report = json.loads((tmp_path / "out" / "evaluate.json").read_text())
    assert [r["name"] for r in report["per_image"]] == ["img0", "img1"]
    assert report["per_image"][0]["psnr"] == pytest.approx(
        peak_signal_noise_ratio(clean[0, 0], noisy[0, 0], data_range=255), abs=1e-5)
    assert evaluate(*args, "--checkpoint", tiny, "-o", tmp_path / "inv") == 0
    write_image(tmp_path / "noisy" / "extra.png", noisy[1, 0])
    assert evaluate(*args, "--method", "noisy", "-o", tmp_path / "o2") == 2
    assert "without a clean partner" in capsys.readouterr().err


def test_argument_errors(tmp_path, blocks, tiny, capsys):
    folder = blocks[0]
    danet = tmp_path / "danet.pt"
    save_weights(DANetDenoiser(wf=4, depth=3), danet)
    bad = [
        ["--noisy", folder / "ValidationNoisyBlocksSrgb.mat"],  # nothing to score
        [*mat_args(folder), "--noisy-dir", folder],  # two sources
        [*mat_args(folder), "--method", "danet"],  # no DANet weights
        [*mat_args(folder), "--checkpoint", danet],  # DANet weights for --method invdn
        ["--noisy", folder / "missing.mat", "--gt", folder / "missing.mat", "--method", "noisy"],
    ]
    for args in bad:
        assert evaluate(*args, "-o", tmp_path / "out") == 2, args
    assert evaluate(*mat_args(folder), "--method", "danet", "--checkpoint", danet,
                    "-o", tmp_path / "d") == 0
