"""bench/denoise_memory.py runs end to end (tiny sizes; the numbers themselves are not tested)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from invdn.io.weights import save_weights
from invdn.nn import InvDN

BENCH = Path(__file__).resolve().parents[1] / "bench" / "denoise_memory.py"


def test_denoise_memory_bench_smoke(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "tiny.pt"
    save_weights(InvDN(blocks=(1, 1), width=8), weights)
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(BENCH), "--width", "96", "--height", "64", "--tiles",
                    "32", "0", "--overlap", "8", "--checkpoint", str(weights),
                    "--compare-size", "96", "--compare-tile", "48", "--json", str(out)],
                   check=True, capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    assert [r["tile"] for r in result["runs"]] == [32, 0]
    assert all(r["peak_rss_mib"] > 0 for r in result["runs"])
    cmp = result["tiled_vs_untiled"]
    assert cmp["image"] == "96x72" and 0 <= cmp["mean_abs_diff"] <= cmp["max_abs_diff"]
