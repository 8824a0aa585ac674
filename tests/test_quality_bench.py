"""bench/quality.py runs end to end on tiny crops (the numbers themselves are not tested)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from invdn.io.images import read_image
from invdn.io.weights import save_weights
from invdn.nn import DANetDenoiser, InvDN

BENCH = Path(__file__).resolve().parents[1] / "bench" / "quality.py"


def test_quality_bench_smoke(tmp_path):
    torch.manual_seed(0)
    save_weights(InvDN(blocks=(1, 1), width=8), tmp_path / "invdn.pt")
    save_weights(DANetDenoiser(wf=4, depth=2), tmp_path / "danet.pt")
    out = tmp_path / "out"
    # bm3d is an optional extra; the rest runs everywhere
    subprocess.run([sys.executable, str(BENCH), "--invdn", str(tmp_path / "invdn.pt"),
                    "--danet", str(tmp_path / "danet.pt"), "--images", "chelsea", "--crop", "48",
                    "--skip", "bm3d", "bm3d_oracle", "--threads", "1", "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    result = json.loads((out / "quality.json").read_text())
    methods = {"noisy", "invdn", "invdn_mc8", "invdn_x8", "danet", "nlm", "wavelet"}
    assert set(result["summary"]) == methods
    settings = {"gauss15", "gauss25", "gauss50", "poisson_gaussian", "camera", "jpeg"}
    assert len(result["records"]) == len(methods) * len(settings)
    noisy = result["summary"]["noisy"]["settings"]
    # the noise really has the advertised strength: PSNR of noisy falls as sigma grows
    assert noisy["gauss15"]["psnr"] > noisy["gauss25"]["psnr"] > noisy["gauss50"]["psnr"]
    assert 19.5 < noisy["gauss25"]["psnr"] < 21.5  # 20.2 dB for sigma 25, a bit more when clipped
    assert result["summary"]["nlm"]["settings"]["gauss25"]["psnr"] > noisy["gauss25"]["psnr"]
    assert 20 < noisy["camera"]["psnr"] < 35  # shot variance 1e-3 … 3e-3: about 23–29 dB
    camera = result["camera_params"]["chelsea"]
    assert 1e-3 <= camera["shot"][0] <= 3e-3 and len(camera["rgb2cam"][0]) == 3
    table = (out / "quality.md").read_text()
    assert "| InvDN (MC 8) |" in table and "σ=25" in table and "Poisson–Gaussian" in table
    assert "| camera | σ=20 JPEG q95 4:2:0 | s/MP |" in table
    # the JPEG setting: σ = 20 noise on 8-bit levels, then a quality-95 4:2:0 JPEG
    assert 23 < noisy["jpeg"]["psnr"] < 27
    grid = read_image(out / "quality_grid.png")
    assert grid.shape[0] == 48 + 24 and grid.shape[2] == 3 and grid.dtype == np.uint8
    assert not list(out.glob(".*tmp"))


def test_quality_bench_reuses_earlier_records(tmp_path):
    torch.manual_seed(0)
    save_weights(InvDN(blocks=(1, 1), width=8), tmp_path / "invdn.pt")
    common = [sys.executable, str(BENCH), "--invdn", str(tmp_path / "invdn.pt"), "--images",
              "chelsea", "--crop", "48", "--settings", "gauss25", "--threads", "1"]
    first = tmp_path / "first"
    subprocess.run([*common, "--skip", "bm3d", "bm3d_oracle", "invdn_mc8", "invdn_x8",
                    "--out", str(first)], check=True, capture_output=True, timeout=300)
    old = json.loads((first / "quality.json").read_text())
    # doctor the stored NLM score: a reused record must come back unchanged, not recomputed
    for r in old["records"]:
        if r["method"] == "nlm":
            r["psnr"] = 99.0
    (first / "quality.json").write_text(json.dumps(old))
    second = tmp_path / "second"
    subprocess.run([*common, "--skip", "bm3d", "bm3d_oracle", "invdn_mc8", "invdn_x8",
                    "--reuse-from", str(first / "quality.json"), str(first / "quality.json"),
                    "--out", str(second)],
                   check=True, capture_output=True, timeout=300)
    new = json.loads((second / "quality.json").read_text())
    assert new["summary"]["nlm"]["settings"]["gauss25"]["psnr"] == 99.0
    assert set(new["summary"]) == {"noisy", "invdn", "nlm", "wavelet"}
