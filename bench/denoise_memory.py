"""Peak memory of `invdn denoise` on a large photo, and how close tiled output is to untiled.

1. Writes a 4000x3000 (by default) noisy photo (skimage's astronaut, upscaled, Gaussian noise
   σ=10/255), runs `invdn denoise` on it in a subprocess and reports the child's peak RSS
   (`ru_maxrss` from wait4) and wall time, for each requested --tile (0 = untiled).
2. Denoises a smaller crop (--compare-size) tiled and untiled in-process with the same seed,
   hence the same latent values, and reports max/mean absolute difference (8-bit levels), PSNR
   between the two, and the mean difference on the tile-border bands vs elsewhere (seams).

Without --checkpoint a paper-size InvDN with random weights is used: memory and run time do not
depend on the weight values, but the tiled/untiled difference of a trained model is smaller
(its latent is sized like real noise) — pass --checkpoint to measure that.

    python bench/denoise_memory.py                      # 12 MP, tile 512, CPU
    python bench/denoise_memory.py --tiles 512 0 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    from skimage import data

    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(seed).normal(0, 10, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def run_denoise(image: Path, weights: Path, tile: int, overlap: int, device: str) -> dict:
    out = image.parent / f"out_tile{tile}"
    cmd = [sys.executable, "-m", "invdn.cli.main", "denoise", str(image), "-o", str(out),
           "--checkpoint", str(weights), "--tile", str(tile), "--overlap", str(overlap),
           "--device", device, "--overwrite", "-q"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"denoise failed ({proc.returncode}): {stderr}")
    return {"tile": tile, "overlap": overlap if tile else 0, "device": device,
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "wall_s": round(wall, 1),
            "command": " ".join(cmd[1:])}


def tiled_vs_untiled(model, size: int, tile: int, overlap: int, device: str) -> dict:
    from skimage.metrics import peak_signal_noise_ratio

    from invdn.inference.pipeline import DenoiseOptions, Denoiser
    from invdn.inference.tiling import tile_starts

    img = make_photo(size, size * 3 // 4, seed=1)
    whole = Denoiser(model, DenoiseOptions(tile=0), device)(img).astype(np.int32)
    tiled = Denoiser(model, DenoiseOptions(tile=tile, overlap=overlap), device)(img)
    diff = np.abs(whole - tiled.astype(np.int32))
    # bands of the overlaps, where a seam would show
    band = np.zeros(img.shape[:2], bool)
    m = model.multiple
    for axis, length in ((0, img.shape[0]), (1, img.shape[1])):
        starts = tile_starts(length, tile, overlap, m)
        for a, b in zip(starts[1:], starts[:-1], strict=True):
            idx = slice(a, b + tile)
            if axis == 0:
                band[idx, :] = True
            else:
                band[:, idx] = True
    return {
        "image": f"{img.shape[1]}x{img.shape[0]}", "tile": tile, "overlap": overlap,
        "max_abs_diff": int(diff.max()), "mean_abs_diff": round(float(diff.mean()), 4),
        "psnr_tiled_vs_untiled_db": round(float(peak_signal_noise_ratio(
            whole.astype(np.uint8), tiled)), 2),
        "mean_abs_diff_overlap_bands": round(float(diff[band].mean()), 4) if band.any() else 0,
        "mean_abs_diff_elsewhere": round(float(diff[~band].mean()), 4) if (~band).any() else 0,
        "fraction_pixels_differing": round(float((diff > 0).mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--tiles", type=int, nargs="+", default=[512],
                        help="tile sizes to measure (0 = untiled); default 512")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", help="weights (default: random paper-size InvDN)")
    parser.add_argument("--compare-size", type=int, default=1024,
                        help="width of the tiled-vs-untiled comparison image (0 = skip)")
    parser.add_argument("--compare-tile", type=int, default=512,
                        help="tile size of the tiled-vs-untiled comparison (default 512)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    import torch

    from invdn.io.images import write_image
    from invdn.io.weights import load_model, save_weights
    from invdn.nn import InvDN

    results: dict = {"image": f"{args.width}x{args.height}", "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.checkpoint:
            weights, model = Path(args.checkpoint), load_model(args.checkpoint)
            results["weights"] = str(weights)
        else:
            torch.manual_seed(0)
            model = InvDN().eval()
            weights = tmp / "random_invdn.pt"
            save_weights(model, weights)
            results["weights"] = "random paper-size InvDN (2.64 M parameters)"
        image = tmp / "photo.png"
        write_image(image, make_photo(args.width, args.height))
        for tile in args.tiles:
            results["runs"].append(run_denoise(image, weights, tile, args.overlap, args.device))
        if args.compare_size:
            results["tiled_vs_untiled"] = tiled_vs_untiled(model, args.compare_size,
                                                           args.compare_tile, args.overlap,
                                                           args.device)
    print(json.dumps(results, indent=2))
    print(f"\n`invdn denoise` on a {results['image']} photo ({results['weights']})")
    print(f"{'tile':>6} {'overlap':>8} {'device':>8} {'peak RSS MiB':>13} {'wall s':>8}")
    for r in results["runs"]:
        print(f"{r['tile']:>6} {r['overlap']:>8} {r['device']:>8} {r['peak_rss_mib']:>13} "
              f"{r['wall_s']:>8}")
    if "tiled_vs_untiled" in results:
        c = results["tiled_vs_untiled"]
        print(f"\ntiled ({c['tile']}/{c['overlap']}) vs untiled on {c['image']}: max |diff| "
              f"{c['max_abs_diff']}, mean {c['mean_abs_diff']} (overlap bands "
              f"{c['mean_abs_diff_overlap_bands']}, elsewhere {c['mean_abs_diff_elsewhere']}), "
              f"PSNR {c['psnr_tiled_vs_untiled_db']} dB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
