"""Generated noise vs real noise: `invdn generate` on held-out photos with known synthetic noise.

    python bench/generate.py [--checkpoint PATH] [--crop 256] [--count 2] [--threads 1]
                             [--out bench-results/generate] [--figure docs/figures/generate_noise.png]

For each held-out photo (chelsea, coffee, motorcycle; none was trained on) and each noise setting
(Gaussian σ = 15, 25, 50 and Poisson–Gaussian, the same seeds and 8-bit quantisation as
bench/quality.py), the noisy image goes through `invdn.inference.resample.LatentResampler` with
default options (the shipped default weights unless --checkpoint). Reported per setting (means
over images and realizations; grey levels on the 0–255 scale):

- `std_ratio`: std(realization − the generator's clean estimate) / std(noisy − clean), the
  noise the generator adds against the real noise (target 0.9–1.1);
- `std_ratio_vs_clean`: std(realization − clean) / std(noisy − clean), the deviation from the
  true clean image (includes the clean estimate's own error);
- `spectrum_similarity`: cosine similarity of the two noises' radially averaged power spectra
  (16 bands; 1 = the same spectral shape; real noise here is white);
- `spectrum_db`: RMS over the bands of 10·log10 of the ratio of the two spectra, each
  normalised to unit total power (0 dB = the same shape).

Writes `generate.json` and `generate.md` under --out and the figure (noisy | realization |
clean estimate crops of chelsea at σ = 25, and the radial spectra) to --figure; prints the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from invdn.data.synthetic import QUALITY_TEST, bundled_image  # noqa: E402
from invdn.evaluation.testset import SETTINGS, center, noise_seed, noisy_copy  # noqa: E402
from invdn.inference.loading import load_checkpoint_or_default  # noqa: E402
from invdn.inference.resample import LatentResampler, ResampleOptions  # noqa: E402
from invdn.io.atomic import write_atomic, write_json, write_text  # noqa: E402

NAMES = ("gauss15", "gauss25", "gauss50", "poisson_gaussian")
HEADS = {"gauss15": "σ=15", "gauss25": "σ=25", "gauss50": "σ=50",
         "poisson_gaussian": "Poisson–Gaussian"}
BANDS = 16


def radial_spectrum(noise: np.ndarray) -> np.ndarray:
    """`(H, W, C)` noise → its power averaged over channels and over BANDS rings of radial
    frequency in (0, 0.5] cycles/pixel."""
    n = noise - noise.mean(axis=(0, 1))
    power = (np.abs(np.fft.fft2(n, axes=(0, 1))) ** 2).mean(axis=2)
    fy = np.fft.fftfreq(n.shape[0])[:, None]
    fx = np.fft.fftfreq(n.shape[1])[None, :]
    ring = np.digitize(np.sqrt(fy ** 2 + fx ** 2), np.linspace(0, 0.5, BANDS + 1))
    return np.array([power[ring == i].mean() for i in range(1, BANDS + 1)])


def compare(real: np.ndarray, generated: np.ndarray) -> dict:
    a, b = radial_spectrum(real), radial_spectrum(generated)
    cosine = float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
    db = 10 * np.log10((b / b.sum()) / (a / a.sum()))
    return {"spectrum_similarity": cosine, "spectrum_db": float(np.sqrt((db ** 2).mean())),
            "spectrum_real": a.tolist(), "spectrum_generated": b.tolist()}


def run(args: argparse.Namespace) -> dict:
    model = load_checkpoint_or_default(args.checkpoint)
    settings = [s for s in SETTINGS if s.name in NAMES]
    gen = LatentResampler(model, ResampleOptions(count=args.count, tile=0, seed=0), "cpu")
    records, example = [], None
    for i, name in enumerate(args.images):
        clean = center(bundled_image(name), args.crop)
        for setting in settings:
            j = [s.name for s in SETTINGS].index(setting.name)
            noisy = noisy_copy(clean, setting, seed=noise_seed(i, j))
            t0 = time.perf_counter()
            est, reals = gen(noisy)
            seconds = time.perf_counter() - t0
            c, e, nz = (a.astype(np.float64) for a in (clean, est, noisy))
            real = nz - c
            rows = []
            for r in reals:
                g = r.astype(np.float64)
                rows.append({"std_ratio": (g - e).std() / real.std(),
                             "std_ratio_vs_clean": (g - c).std() / real.std(),
                             **compare(real, g - e)})
            rec = {"image": name, "setting": setting.name, "real_std": float(real.std()),
                   "generated_std": float(np.mean([(r.astype(np.float64) - e).std()
                                                    for r in reals])),
                   "latent_scale": gen.scale, "seconds": seconds}
            for key in ("std_ratio", "std_ratio_vs_clean", "spectrum_similarity", "spectrum_db"):
                rec[key] = float(np.mean([row[key] for row in rows]))
            rec["spectrum_real"] = rows[0]["spectrum_real"]
            rec["spectrum_generated"] = rows[0]["spectrum_generated"]
            records.append(rec)
            print(f"{name:>10} {setting.name:>16} real {rec['real_std']:6.2f} generated "
                  f"{rec['generated_std']:6.2f} ratio {rec['std_ratio']:.3f} (vs clean "
                  f"{rec['std_ratio_vs_clean']:.3f}) spectrum {rec['spectrum_similarity']:.3f} "
                  f"/ {rec['spectrum_db']:.2f} dB  scale {gen.scale:.3f}  {seconds:.1f} s",
                  flush=True)
            if i == 0 and setting.name == "gauss25":
                example = (noisy, reals[0], est)
    return {"records": records, "example": example}


def summarize(records: list[dict]) -> dict:
    out = {}
    for name in NAMES:
        rs = [r for r in records if r["setting"] == name]
        out[name] = {k: float(np.mean([r[k] for r in rs])) for k in
                     ("real_std", "generated_std", "std_ratio", "std_ratio_vs_clean",
                      "spectrum_similarity", "spectrum_db")}
        out[name]["std_ratio_range"] = [float(min(r["std_ratio"] for r in rs)),
                                        float(max(r["std_ratio"] for r in rs))]
    return out


def to_markdown(summary: dict, images: list[str], count: int) -> str:
    lines = [f"Generated vs real noise, mean over {', '.join(images)} ({count} realizations "
             "each); target std ratio 0.9–1.1.", "",
             "| noise | real std | generated std | std ratio (min–max) | vs clean | "
             "spectrum similarity | spectrum shape error |", "|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        lo, hi = s["std_ratio_range"]
        lines.append(f"| {HEADS[name]} | {s['real_std']:.2f} | {s['generated_std']:.2f} | "
                     f"{s['std_ratio']:.2f} ({lo:.2f}–{hi:.2f}) | {s['std_ratio_vs_clean']:.2f} | "
                     f"{s['spectrum_similarity']:.3f} | {s['spectrum_db']:.2f} dB |")
    return "\n".join(lines) + "\n"


def figure(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    noisy, real, est = result["example"]
    fig = plt.figure(figsize=(11, 6.4))
    for k, (img, title) in enumerate(((noisy, "noisy input (σ = 25)"),
                                      (real, "generated realization"),
                                      (est, "generator's clean estimate"))):
        ax = fig.add_subplot(2, 3, k + 1)
        ax.imshow(img[:128, :128])
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    freqs = (np.arange(BANDS) + 0.5) * 0.5 / BANDS
    for k, name in enumerate(NAMES[:2] + NAMES[3:]):
        ax = fig.add_subplot(2, 3, k + 4)
        for rec in (r for r in result["records"] if r["setting"] == name):
            line, = ax.semilogy(freqs, rec["spectrum_real"], "-", label=f"{rec['image']} real")
            ax.semilogy(freqs, rec["spectrum_generated"], "--", color=line.get_color(),
                        label=f"{rec['image']} generated")
        ax.set_title(f"radial power spectrum, {HEADS[name]}", fontsize=9)
        ax.set_xlabel("cycles / pixel", fontsize=8)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=6)
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, dpi=100, format="png"))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="weights (default: the shipped default weights)")
    parser.add_argument("--images", nargs="+", default=list(QUALITY_TEST))
    parser.add_argument("--crop", type=int, default=256, help="central crop side (0: whole)")
    parser.add_argument("--count", type=int, default=2, help="realizations per image")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="bench-results/generate")
    parser.add_argument("--figure", default="docs/figures/generate_noise.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    result = run(args)
    summary = summarize(result["records"])
    table = to_markdown(summary, args.images, args.count)
    out = Path(args.out)
    write_json(out / "generate.json", {
        "machine": machine("cpu"), "threads": args.threads, "crop": args.crop,
        "count": args.count, "checkpoint": args.checkpoint or "default weights",
        "seconds": time.perf_counter() - t0, "summary": summary, "records": result["records"]})
    write_text(out / "generate.md", table)
    figure(result, Path(args.figure))
    print(table)
    print(f"{time.perf_counter() - t0:.0f} s; wrote {out / 'generate.json'}, "
          f"{out / 'generate.md'}, {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
