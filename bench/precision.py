"""bf16 vs fp32 denoising on the built-in test set: the acceptance check for `--precision auto`.

    python bench/precision.py [--invdn PATH ...] [--crop N] [--settings ...] [--threads 1]
                              [--json-out F]

For each InvDN weights file (default: the installed default weights) every image × noise setting
of `invdn.evaluation.testset` (the inputs `bench/quality.py` uses) is denoised twice, with
`--precision fp32` and `--precision bf16` (1 latent sample, whole image, same seed), alternating
so both see the same machine load. Reported per model: mean PSNR/SSIM per setting for both,
the largest per-setting PSNR loss of bf16, the largest pixel difference between the two outputs
in 8-bit grey levels, and the time ratio fp32/bf16 (thread CPU time, robust to other processes).
`bf16_ok` is the acceptance rule of issue 13: bf16 loses at most `--max-loss` dB (0.02) in every
setting (and on the mean over all settings).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine  # noqa: E402

from invdn.data.synthetic import QUALITY_TEST  # noqa: E402
from invdn.evaluation.protocol import block_metrics  # noqa: E402
from invdn.evaluation.testset import SETTINGS, test_cases  # noqa: E402
from invdn.inference.loading import load_checkpoint_or_default  # noqa: E402
from invdn.inference.pipeline import DenoiseOptions, Denoiser  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def compare(weights: str | None, args: argparse.Namespace) -> dict:
    model = load_checkpoint_or_default(weights)
    run = {p: Denoiser(model, DenoiseOptions(tile=0, precision=p), "cpu") for p in PRECISIONS}
    scores: dict[str, dict[str, list]] = {p: {} for p in PRECISIONS}
    seconds = {p: 0.0 for p in PRECISIONS}
    max_levels = 0
    for name, setting, clean, noisy in test_cases(args.settings, args.images, args.crop):
        outs = {}
        for p in PRECISIONS:
            t0 = time.thread_time()
            outs[p] = run[p](noisy)
            seconds[p] += time.thread_time() - t0
            scores[p].setdefault(setting.name, []).append(block_metrics(outs[p], clean))
        diff = np.abs(outs["fp32"].astype(np.int32) - outs["bf16"].astype(np.int32)).max()
        max_levels = max(max_levels, int(diff))
        print(f"{weights or 'default':>24} {name:>10} {setting.name:>16} "
              f"fp32 {scores['fp32'][setting.name][-1][0]:.3f} dB  "
              f"bf16 {scores['bf16'][setting.name][-1][0]:.3f} dB  max |diff| {diff} levels",
              flush=True)
    table = {p: {s: {"psnr": float(np.mean([v[0] for v in vals])),
                     "ssim": float(np.mean([v[1] for v in vals]))}
                 for s, vals in scores[p].items()} for p in PRECISIONS}
    loss = {s: table["fp32"][s]["psnr"] - table["bf16"][s]["psnr"] for s in table["fp32"]}
    mean_loss = float(np.mean(list(loss.values())))
    return {"weights": weights or "default", "model": getattr(model, "config", None),
            "settings": table, "psnr_loss_db": loss, "max_psnr_loss_db": max(loss.values()),
            "mean_psnr_loss_db": mean_loss, "max_diff_levels": max_levels,
            "cpu_seconds": seconds, "speedup_bf16": seconds["fp32"] / seconds["bf16"],
            "bf16_ok": max(max(loss.values()), mean_loss) <= args.max_loss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invdn", nargs="+", default=[None], metavar="PATH",
                        help="InvDN weights to check (default: the installed default weights)")
    parser.add_argument("--images", nargs="+", default=list(QUALITY_TEST))
    parser.add_argument("--crop", type=int, default=None, help="center-crop to N×N")
    parser.add_argument("--settings", nargs="+", default=None, choices=[s.name for s in SETTINGS])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-loss", type=float, default=0.02, help="dB (default 0.02)")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [compare(w, args) for w in args.invdn]
    emit({"benchmark": "precision", "machine": machine("cpu"), "images": args.images,
          "crop": args.crop, "threads": args.threads, "max_loss_db": args.max_loss,
          "results": rows}, args.json_out)
    print()
    for r in rows:
        print(f"{r['weights']}: max PSNR loss {r['max_psnr_loss_db']:+.4f} dB (mean "
              f"{r['mean_psnr_loss_db']:+.4f}), max diff {r['max_diff_levels']} grey levels, "
              f"bf16 {r['speedup_bf16']:.2f}x faster (CPU time) -> "
              f"{'bf16 OK' if r['bf16_ok'] else 'bf16 NOT OK'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
