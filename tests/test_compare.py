"""`invdn compare`: parameter, MAC, time/memory and quality columns."""

from __future__ import annotations

import json

import pytest
import torch

from invdn.cli.main import main
from invdn.evaluation.compare import available_models, count_macs, model_config_by_name
from invdn.io.weights import save_weights
from invdn.nn import InvDN


def test_invdn_macs_match_the_paper():
    macs = count_macs(InvDN().eval())
    assert macs["forward_macs"] == pytest.approx(23.8e9, rel=0.005)  # 363k MAC/pixel at 256²
    assert macs["denoise_macs"] == pytest.approx(2 * macs["forward_macs"])


def test_model_configs_resolve_defaults():
    assert {"invdn", "invdn_small", "danet"} <= set(available_models())
    small = model_config_by_name("invdn_small")
    assert small["_target_"] == "invdn.nn.InvDN" and small["blocks"] == [4, 4]
    assert small["levels"] == 2  # inherited from invdn.yaml through Hydra defaults


def test_compare_cli(tmp_path, capsys):
    torch.manual_seed(0)
    tiny = tmp_path / "tiny.pt"
    save_weights(InvDN(blocks=(1, 1), width=8), tiny)
    reports = {"tiny": 31.5, "bm3d": 25.1}
    for name, psnr in reports.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"name": name, "method": name, "mean_psnr": psnr, "mean_ssim": 0.9, "count": 4}))
    out = tmp_path / "cmp"
    assert main(["compare", "--model", "danet", "--checkpoint", str(tiny), "--size", "32",
                 "--repeats", "1", "--device", "cpu", "--report", str(tmp_path / "tiny.json"),
                 "--report", f"classical={tmp_path / 'bm3d.json'}", "-o", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())
    rows = {r["name"]: r for r in result["rows"]}
    assert list(rows) == ["danet", "tiny", "classical"]
    ref = result["reference_parameters"]
    assert (ref["invdn"], ref["danet_denoiser"], ref["danet_total"]) == (
        2_640_960, 9_153_571, 63_011_175)
    assert ref["invdn_over_danet_percent"] == 4.19
    assert rows["danet"]["parameters"] == 9_153_571
    assert rows["danet"]["denoise_gmacs"] == rows["danet"]["forward_gmacs"]
    assert rows["tiny"]["denoise_gmacs"] == pytest.approx(2 * rows["tiny"]["forward_gmacs"])
    assert rows["tiny"]["psnr"] == 31.5 and rows["classical"]["psnr"] == 25.1
    assert "parameters" not in rows["classical"]
    for row in (rows["danet"], rows["tiny"]):
        assert row["time_ms"] > 0 and row["peak_memory_mib"] is not None
    md = (out / "compare.md").read_text()
    assert "4.19 %" in md and "| danet | 9,153,571 |" in md
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| tiny |" in capsys.readouterr().out


def test_compare_errors(tmp_path, capsys):
    assert main(["compare", "--model", "nonexistent", "-o", str(tmp_path)]) == 2
    assert "available:" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{}")
    assert main(["compare", "--model", "danet", "--report", str(tmp_path / "bad.json"),
                 "-o", str(tmp_path)]) == 2


def test_compare_quality_scores_trained_models_on_the_test_set(tmp_path):
    torch.manual_seed(0)
    tiny = tmp_path / "tiny.pt"
    save_weights(InvDN(blocks=(1, 1), width=8), tiny)
    out = tmp_path / "cmp"
    assert main(["compare", "--model", "danet", "--checkpoint", str(tiny), "--size", "32",
                 "--repeats", "1", "--device", "cpu", "--quality", "gauss25", "camera",
                 "--quality-crop", "48", "-o", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())
    rows = {r["name"]: r for r in result["rows"]}
    assert "psnr" not in rows["danet"]  # random weights: cost only, never scored
    scored = rows["tiny"]["quality_settings"]
    assert list(scored) == ["gauss25", "camera"]
    assert rows["tiny"]["psnr"] == pytest.approx((scored["gauss25"]["psnr"]
                                                  + scored["camera"]["psnr"]) / 2)
    # the same inputs as bench/quality.py: scoring the identity gives the noisy PSNR
    from invdn.evaluation.testset import score
    noisy = score(lambda img: img, ["gauss25"], crop=48)["settings"]["gauss25"]["psnr"]
    assert 19.5 < noisy < 21.5
    md = (out / "compare.md").read_text()
    assert "built-in test set (centre 48² crops" in md and "| tiny |" in md and "σ=25" in md


def test_compare_quality_rejects_unknown_settings(tmp_path, capsys):
    assert main(["compare", "--model", "danet", "--quality", "gauss99", "--size", "32",
                 "--repeats", "1", "--device", "cpu", "-o", str(tmp_path)]) == 2
    assert "unknown noise setting 'gauss99'" in capsys.readouterr().err
