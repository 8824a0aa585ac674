"""Run the whole benchmark suite and keep every report.

    python bench/run_all.py [--out bench-results] [--quick]

Runs bench/infer.py, bench/train_step.py, bench/memory.py, bench/denoise_memory.py and
bench/quality.py (with the installed default weights) one after the other (each prints its own
table), writes each JSON report into --out (quality: the folder --out/quality), and ends with a
one-line status per benchmark. `--quick` uses small sizes to check the suite works (minutes, not
the hour the full suite takes on a 2-core CPU); its numbers are not the ones to report, and
bench/memory.py's targets, set for batch 4 x 144², may fail at its toy sizes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = {
    "infer": ["--sizes", "512", "1024"],
    "train_step": [],
    "memory": [],
    "denoise_memory": ["--tiles", "512"],
    "quality": [],
}
QUICK = {
    "infer": ["--sizes", "128", "--repeats", "1"],
    "train_step": ["--blocks", "1", "--size", "64", "--steps", "1", "--scenes", "2",
                   "--photo-size", "768", "1024", "--loader-batches", "2"],
    "memory": ["--blocks", "1", "2", "--batch", "1", "--size", "64", "--repeats", "1"],
    "denoise_memory": ["--width", "1024", "--height", "768", "--tiles", "256",
                       "--compare-size", "256", "--compare-tile", "128"],
    "quality": ["--images", "chelsea", "--crop", "64", "--skip", "bm3d", "bm3d_oracle"],
}
JSON_FLAG = {"denoise_memory": "--json", "quality": "--out"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    status = []
    for name, extra in (QUICK if args.quick else FULL).items():
        report = out / (name if name == "quality" else f"{name}.json")
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra,
               JSON_FLAG.get(name, "--json-out"), str(report)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd)
        status.append((name, rc, time.perf_counter() - t0, report))
    print()
    for name, rc, dt, report in status:
        print(f"{name:<15} {'ok' if rc == 0 else f'exit {rc}':<8} {dt:7.0f} s  {report}")
    return max(rc for _, rc, _, _ in status)


if __name__ == "__main__":
    sys.exit(main())
