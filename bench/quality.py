"""Denoising quality on held-out photos: InvDN vs the DANet-sized baseline and classical denoisers.

    python bench/quality.py [--invdn PATH] [--danet PATH] [--out bench-results/quality]
                            [--images chelsea coffee motorcycle] [--crop N] [--threads N]
                            [--precision fp32|bf16|auto]

Test images are bundled photos that no training set of this project uses
(`invdn.data.synthetic.QUALITY_TEST`). For each noise setting (Gaussian σ = 15, 25, 50 in 8-bit
levels, one Poisson–Gaussian setting and camera noise), every image gets its own fixed-seed noise,
is quantized to 8 bits like a real photo, and every method denoises that same uint8 image.
Camera noise is the unprocessing pipeline of Brooks et al. 2019 (`invdn.data.camera`): each
image gets its own camera (colour matrix, white balance, gain) and a shot level drawn
log-uniformly from [1e-3, 3e-3] (noisy input about 23–29 dB), all fixed by the seed and recorded
in `quality.json` under `camera_params`. PSNR and
SSIM follow the SPEC protocol (`invdn.evaluation.protocol.block_metrics`: uint8, all channels,
Gaussian-window SSIM); time is wall-clock seconds per megapixel.

Methods: the noisy input; InvDN with 1 latent sample, the MC average of 8 samples, and the x8
flip/transpose self-ensemble; the DANet-sized U-Net baseline (`--danet`); BM3D, non-local means
and BayesShrink wavelet with σ estimated from the noisy image (blind, like the networks), and
BM3D given the true σ for the Gaussian settings (an oracle upper reference).

Writes `quality.json`, `quality.md` and `quality_grid.png` (noisy | InvDN | BM3D | clean crops of
the first image at σ = 25) under `--out`, atomically, and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from invdn.data.synthetic import QUALITY_TEST  # noqa: E402
from invdn.evaluation.classical import denoise_classical  # noqa: E402
from invdn.evaluation.protocol import block_metrics  # noqa: E402
from invdn.evaluation.testset import HEADS, SETTINGS, Setting, camera_params, test_cases  # noqa: E402
from invdn.inference.pipeline import DenoiseOptions, Denoiser  # noqa: E402
from invdn.io.atomic import write_json, write_text  # noqa: E402
from invdn.io.images import from_float, to_float, write_image  # noqa: E402
from invdn.io.weights import load_model  # noqa: E402

Method = Callable[[np.ndarray, Setting], np.ndarray]  # noisy uint8 (H, W, 3) → denoised uint8
LABELS = {
    "noisy": "noisy input", "invdn": "InvDN (1 sample)", "invdn_mc8": "InvDN (MC 8)",
    "invdn_x8": "InvDN (x8 ensemble)", "danet": "DANet-sized U-Net", "bm3d": "BM3D (σ est.)",
    "bm3d_oracle": "BM3D (true σ)", "nlm": "non-local means (σ est.)",
    "wavelet": "wavelet BayesShrink (σ est.)",
}


def network(model: torch.nn.Module, precision: str = "fp32", **options) -> Method:
    denoiser = Denoiser(model, DenoiseOptions(tile=0, precision=precision, **options),
                        device="cpu")
    return lambda img, setting: denoiser(img)


def classical(method: str, oracle: bool = False) -> Method:
    def run(img: np.ndarray, setting: Setting) -> np.ndarray:
        sigma = setting.sigma if oracle else None
        return from_float(denoise_classical(to_float(img), method, sigma), img.dtype)
    return run


def methods(args: argparse.Namespace) -> dict[str, Method]:
    from invdn.inference.loading import load_checkpoint_or_default

    invdn = load_checkpoint_or_default(args.invdn)
    p = args.precision
    table = {"noisy": lambda img, setting: img.copy(),
             "invdn": network(invdn, p), "invdn_mc8": network(invdn, p, samples=8),
             "invdn_x8": network(invdn, p, self_ensemble=True)}
    if args.danet:
        table["danet"] = network(load_model(args.danet), p)
    table.update(bm3d=classical("bm3d"), bm3d_oracle=classical("bm3d", oracle=True),
                 nlm=classical("nlm"), wavelet=classical("wavelet"))
    skip = set(args.skip)
    if not skip >= {"bm3d", "bm3d_oracle"} and importlib.util.find_spec("bm3d") is None:
        print("bm3d is not installed (pip install 'invdn[classical]'): leaving out the BM3D rows",
              flush=True)
        skip |= {"bm3d", "bm3d_oracle"}
    return {k: v for k, v in table.items() if k not in skip}


GRID = ("noisy", "invdn", "bm3d")  # the methods shown in the figure grid


def reusable(paths: list[str] | None, args: argparse.Namespace
             ) -> dict[tuple[str, str, str], dict]:
    """Records of earlier quality.json files made on the same images and crop (the noisy inputs
    are fixed by seeds, so a method's scores do not change unless the method does); later
    files win."""
    records = {}
    for path in paths or []:
        old = json.loads(Path(path).read_text())
        if old.get("images") != args.images or old.get("crop") != args.crop:
            raise SystemExit(f"--reuse-from {path}: made on other images/crop; run without it")
        records.update({(r["image"], r["setting"], r["method"]): r for r in old["records"]})
    return records


def run(args: argparse.Namespace) -> dict:
    table = methods(args)
    reuse = reusable(args.reuse_from, args)
    records, grid_rows = [], {}
    first = args.images[0]
    for name, setting, clean, noisy in test_cases(args.settings, args.images, args.crop):
        megapixels = clean.shape[0] * clean.shape[1] / 1e6
        for method, fn in table.items():
            if method == "bm3d_oracle" and setting.sigma is None:
                continue
            in_grid = name == first and setting.name == "gauss25" and method in GRID
            if (name, setting.name, method) in reuse and method in args.reuse and not in_grid:
                records.append(reuse[(name, setting.name, method)])
                continue
            t0 = time.perf_counter()
            out = fn(noisy, setting)
            seconds = time.perf_counter() - t0
            psnr, ssim = block_metrics(out, clean)
            records.append({"image": name, "setting": setting.name, "method": method,
                            "psnr": psnr, "ssim": ssim, "seconds": seconds,
                            "s_per_mp": seconds / megapixels})
            print(f"{name:>10} {setting.name:>16} {method:>12} {psnr:6.2f} dB "
                  f"{ssim:.4f} {seconds:7.2f} s", flush=True)
            if in_grid:
                grid_rows[method] = out
        if name == first and setting.name == "gauss25":
            grid_rows["clean"] = clean
    return {"records": records, "grid": grid_rows, "first_image": first}


def summarize(records: list[dict]) -> dict:
    """Mean PSNR/SSIM per (method, setting) over images, mean s/MP per method."""
    out: dict = {}
    for r in records:
        cell = out.setdefault(r["method"], {"settings": {}, "s_per_mp": []})
        s = cell["settings"].setdefault(r["setting"], {"psnr": [], "ssim": []})
        s["psnr"].append(r["psnr"])
        s["ssim"].append(r["ssim"])
        cell["s_per_mp"].append(r["s_per_mp"])
    for cell in out.values():
        for s in cell["settings"].values():
            s["psnr"], s["ssim"] = float(np.mean(s["psnr"])), float(np.mean(s["ssim"]))
        cell["s_per_mp"] = float(np.mean(cell["s_per_mp"]))
    return out


def to_markdown(summary: dict, images: list[str]) -> str:
    names = [s.name for s in SETTINGS if any(s.name in c["settings"] for c in summary.values())]
    head = "| method | " + " | ".join(HEADS[n] for n in names) + " | s/MP |"
    lines = [f"Mean PSNR (dB) / SSIM over {', '.join(images)}; time in seconds per megapixel.",
             "", head, "|" + "---|" * (len(names) + 2)]
    for method, cell in summary.items():
        cols = []
        for n in names:
            s = cell["settings"].get(n)
            cols.append(f"{s['psnr']:.2f} / {s['ssim']:.3f}" if s else "–")
        lines.append(f"| {LABELS[method]} | " + " | ".join(cols) + f" | {cell['s_per_mp']:.2f} |")
    return "\n".join(lines) + "\n"


def grid_image(rows: dict[str, np.ndarray], crop: int = 192) -> np.ndarray:
    """Side-by-side labelled crops (noisy | InvDN | BM3D | clean) around the image's most
    textured `crop`² window (highest clean-image variance, where denoisers differ most)."""
    import cv2

    clean = rows["clean"]
    h, w = clean.shape[:2]
    crop = min(crop, h, w)
    gray = clean.astype(np.float32).mean(axis=2)
    step = max(1, crop // 4)
    best = max((gray[y:y + crop, x:x + crop].std(), y, x)
                for y in range(0, h - crop + 1, step) for x in range(0, w - crop + 1, step))
    _, y, x = best
    tiles = []
    for key, label in (("noisy", "noisy (sigma 25)"), ("invdn", "InvDN"), ("bm3d", "BM3D"),
                       ("clean", "clean")):
        if key not in rows:
            continue
        tile = np.full((crop + 24, crop, 3), 255, np.uint8)
        tile[24:] = rows[key][y:y + crop, x:x + crop]
        cv2.putText(tile, label, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
        tiles.append(tile)
        tiles.append(np.full((crop + 24, 4, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invdn", metavar="PATH",
                        help="InvDN weights (default: the installed default weights)")
    parser.add_argument("--danet", metavar="PATH", help="DANet-sized baseline weights (optional)")
    parser.add_argument("--images", nargs="+", default=list(QUALITY_TEST),
                        help="bundled image names (default: %(default)s)")
    parser.add_argument("--crop", type=int, default=None,
                        help="center-crop every image to N×N (default: whole images)")
    parser.add_argument("--settings", nargs="+", default=None, choices=[s.name for s in SETTINGS],
                        help="noise settings to run (default: all)")
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(LABELS),
                        help="methods to leave out (e.g. bm3d bm3d_oracle without the package)")
    parser.add_argument("--reuse-from", nargs="+", metavar="QUALITY_JSON",
                        help="take the records of --reuse methods from earlier runs' "
                             "quality.json (same images and crop) instead of recomputing them")
    parser.add_argument("--reuse", nargs="+", default=["noisy", "bm3d", "bm3d_oracle", "nlm",
                                                         "wavelet"], choices=sorted(LABELS),
                        help="methods --reuse-from applies to (default: the classical ones)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32",
                        help="the networks' convolutions in fp32 (default, the reference) or bf16 "
                             "(invdn denoise --precision)")
    parser.add_argument("--out", default="bench-results/quality", help="output folder")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    result = run(args)
    summary = summarize(result["records"])
    markdown = to_markdown(summary, args.images)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "quality.json", {
        "machine": machine("cpu"), "images": args.images, "crop": args.crop,
        "precision": args.precision,
        "settings": {s.name: repr(s.noise) for s in SETTINGS},
        "camera_params": camera_params(args.images), "summary": summary,
        "records": result["records"]})
    write_text(out / "quality.md", markdown)
    write_image(out / "quality_grid.png", grid_image(result["grid"]))
    print()
    print(markdown)
    print(f"wrote {out / 'quality.json'}, {out / 'quality.md'}, {out / 'quality_grid.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
