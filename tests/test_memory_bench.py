"""The memory/step-time measurement core, at tiny sizes (no timing assertions)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from invdn.analysis.profiling.memory import check_targets, format_checks, run_benchmark

BENCH = Path(__file__).resolve().parents[1] / "bench" / "memory.py"

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(),
                                reason="CPU memory measurement reads /proc (Linux)")


def test_peak_rss_sees_a_known_allocation():
    # PeakRSS fixes glibc's allocator thresholds for the rest of the process: use a child.
    code = (
        "import torch\n"
        "from invdn.analysis.profiling.rss import PeakRSS\n"
        "with PeakRSS() as idle: pass\n"
        "with PeakRSS() as big:\n"
        "    x = torch.ones(10_000_000); del x\n"  # 40 MB, freed before the block ends
        "print(idle.peak, big.peak, big.method)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    idle, big, method = out.stdout.split()
    assert method in ("vmhwm", "sampled")
    assert int(idle) < 4e6
    assert 38e6 <= int(big) <= 60e6


def test_bench_script_reports_every_configuration(tmp_path):
    out = tmp_path / "sub" / "memory.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--blocks", "1", "2", "--modes", "standard", "reversible",
         "--batch", "1", "--size", "32", "--width", "16", "--repeats", "2", "--threads", "1",
         "--json-out", str(out)],
        capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr  # 1 = a target failed, which tiny sizes may
    report = json.loads(out.read_text())
    assert [p.name for p in out.parent.iterdir()] == ["memory.json"]
    assert set(report) == {"machine", "settings", "results", "checks"}
    assert report["machine"]["cpu_cores"] >= 1 and report["machine"]["torch_threads"] == 1
    results = report["results"]
    assert [(r["blocks"], r["mode"]) for r in results] == [
        (1, "standard"), (1, "reversible"), (2, "standard"), (2, "reversible")]
    for r in results:
        assert r["memory_method"].startswith("rss_")
        assert r["peak_memory_bytes"] > 0 and len(r["step_seconds"]) == 2
        for key in ("peak_memory_mib", "step_seconds_median", "step_cpu_seconds_median", "loss",
                    "memory_vs_standard", "time_vs_standard"):
            assert math.isfinite(r[key]) and r[key] > 0, key
    by = {(r["blocks"], r["mode"]): r for r in results}
    assert by[(2, "standard")]["parameters"] == 2 * by[(1, "standard")]["parameters"]
    assert by[(1, "standard")]["time_vs_standard"] == 1.0
    # same seed, same weights: the memory modes compute the same loss
    assert by[(1, "reversible")]["loss"] == pytest.approx(by[(1, "standard")]["loss"], rel=1e-4)
    assert len(report["checks"]) == 3  # depth growth, time at 1+1 and 2+2 (no 8+8 run)
    for line in ("1+1    standard", "2+2    reversible", "reversible memory at 2+2"):
        assert line in proc.stdout


def test_failed_configuration_raises():
    with pytest.raises(RuntimeError, match="size must be a positive multiple of 4"):
        run_benchmark(blocks=(1,), modes=("standard",), batch=1, size=30, width=8, repeats=1)
    with pytest.raises(ValueError, match="unknown modes"):
        run_benchmark(blocks=(1,), modes=("fast",))


def _result(blocks, mode, mib, seconds):
    return {"blocks": blocks, "mode": mode, "peak_memory_bytes": int(mib * 2**20),
            "step_seconds_median": seconds, "step_cpu_seconds_median": seconds * 0.9}


def test_targets_pass_and_fail_on_the_numbers():
    results = [_result(2, "standard", 400, 2.0), _result(2, "reversible", 100, 2.6),
               _result(8, "standard", 1600, 8.0), _result(8, "reversible", 120, 12.0),
               _result(16, "standard", 3200, 16.0), _result(16, "reversible", 140, 21.0)]
    checks = {c["name"]: c for c in check_targets(results)}
    mem = checks["reversible memory at 8+8 blocks <= 0.35 x standard"]
    assert mem["value"] == pytest.approx(120 / 1600) and mem["passed"]
    growth = checks["reversible memory at 16+16 <= 1.3 x at 2+2 blocks"]
    assert growth["value"] == pytest.approx(1.4) and not growth["passed"]
    assert checks["reversible step time (wall) at 2+2 blocks <= 1.4 x standard"]["passed"]
    assert not checks["reversible step time (wall) at 8+8 blocks <= 1.4 x standard"]["passed"]
    text = format_checks(check_targets(results, time_basis="cpu"))
    assert text.count("PASS") == 3 and text.count("FAIL") == 2
    with pytest.raises(ValueError):
        check_targets(results, time_basis="gpu")
