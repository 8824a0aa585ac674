"""bench/infer.py --compare runs end to end at toy sizes (the numbers themselves are not
tested), its MAC counts match the networks' shapes and issue 27's targets are evaluated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import _speed  # noqa: E402


def test_compare_smoke(tmp_path):
    out = tmp_path / "speed.json"
    standard = tmp_path / "standard.json"
    standard.write_text(json.dumps({"results": {"sets": {"CBSD68": {"paper": {"25": {
        "invdn": {"psnr": 30.5}}}}}}}))  # the shape of bench/standard.py's standard.json
    subprocess.run([sys.executable, str(BENCH / "infer.py"), "--compare", "--sizes", "32",
                    "--repeats", "1", "--threads", "1", "--networks", "default", "ffdnet",
                    "dncnn17", "--no-e2e", "--psnr-json", str(standard), "--json-out", str(out)],
                   check=True, capture_output=True, timeout=600)
    result = json.loads(out.read_text())
    rows = {(r["key"], r["precision"]): r for r in result["rows"]}
    assert set(rows) == {(k, p) for k in ("default", "ffdnet", "dncnn17")
                         for p in ("fp32", "bf16")}
    assert rows[("ffdnet", "fp32")]["psnr_cbsd68_25"] == 31.21  # published, with its paper
    assert rows[("default", "fp32")]["psnr_cbsd68_25"] == 30.5  # from the standard report
    assert all(r["mp_per_s"] > 0 and 0 < r["percent_of_conv_rate"] for r in rows.values())
    assert result["auto_precision"] in ("fp32", "bf16")
    names = " ".join(t["target"] for t in result["targets"])
    assert "DnCNN-17" in names and "FFDNet" in names


def test_macs_per_megapixel_match_the_shapes():
    ffdnet = _speed.executed_macs_per_mp(_speed.prepared(_speed.config("ffdnet")), 64)
    # 12 layers at half resolution: 15→96, 10 × 96→96, 96→12, 3×3
    assert ffdnet == pytest.approx((15 * 96 + 10 * 96 * 96 + 96 * 12) * 9 / 4 / 1e6)
    dncnn = _speed.executed_macs_per_mp(_speed.prepared(_speed.config("dncnn17")), 64)
    assert dncnn == pytest.approx((3 * 64 + 15 * 64 * 64 + 64 * 3) * 9 / 1e6)


def test_end_to_end_times_denoise_files(tmp_path):
    photo = _speed.make_photo(tmp_path / "p.png", 96, 64)
    run = _speed.end_to_end(photo, tmp_path / "out", threads=1, runs=1)
    assert (tmp_path / "out" / "p.png").is_file()
    assert run["size"] == [96, 64] and run["mp_per_s_first_call"] > 0
    assert run["invdn"].endswith("__init__.py")  # the installed package, timed in its own process
