"""Learning speed: how much validation PSNR a training recipe reaches per step budget.

    python bench/learning.py [--recipes NAME …] [--budgets 250 500] [--jobs 2] [--threads 1]
                             [--base experiment=pretrained …] [--out bench-results/learning]

Every recipe is `invdn train` with the same base overrides (default: `experiment=pretrained`,
whose validation set — chelsea and coffee crops with mixed noise — is the one the shipped
model's 28.05 dB was measured on), the same seed and the same data, plus its own overrides. The
run validates at every budget (the epoch is one budget step long), so the numbers are the ones
`invdn train` logs. Recipes run as separate processes, `--jobs` at a time with `--threads`
each; a recipe whose run folder already holds results for the largest budget is not run again
(delete the folder to re-run it), so an interrupted benchmark resumes. Prints JSON and a table,
and writes `learning.json`, `learning.md` and `learning.png` (PSNR against steps) under `--out`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

BF16 = ["trainer.precision=bf16-mixed"]
L1 = ["model.levels=1", "model.blocks=[8]"]
# the base experiment=pretrained sets MultiStepLR milestones, which the cosine does not take
COSINE = ["system/scheduler=warmup_cosine", "~system.scheduler.milestones"]
EMA = ["callbacks.ema.decay=0.999"]

# name → overrides on top of the base. The first is the reference (the shipped model's recipe).
RECIPES: dict[str, list[str]] = {
    "pretrained": [],
    "levels1": L1,
    "levels1+cosine+ema": L1 + COSINE + EMA,
    "levels1+cosine+ema+identity": L1 + COSINE + EMA + ["model.init=identity"],
    "levels1+cosine+ema lr2e-3": L1 + COSINE + EMA + ["system.lr=2e-3"],
    "levels1+cosine+ema lr5e-4": L1 + COSINE + EMA + ["system.lr=5e-4"],
    "levels1x12+cosine+ema": ["model.levels=1", "model.blocks=[12]"] + COSINE + EMA,
    "levels1+cosine+ema forw1": L1 + COSINE + EMA + ["loss.lambda_forw=1"],
    "levels1+cosine+ema patch96b4": L1 + COSINE + EMA + ["data.patch_size=96", "data.batch_size=4"],
    "levels1+cosine+ema noclip": L1 + COSINE + EMA + ["trainer.gradient_clip_val=null"],
    "levels1+cosine+ema eps1e-6": L1 + COSINE + EMA + ["loss.eps=1e-6"],
    "levels1+cosine+ema fp32": L1 + COSINE + EMA + ["trainer.precision=32-true"],
    "levels1 keep6+cosine+ema": L1 + COSINE + EMA + ["model.keep=6"],
    "levels2 keep12+cosine+ema": COSINE + EMA + ["model.keep=12"],
    "levels1 keep6 x12+cosine+ema": ["model.levels=1", "model.blocks=[12]", "model.keep=6"]
    + COSINE + EMA,
    "levels1 keep9+cosine+ema": L1 + COSINE + EMA + ["model.keep=9"],
    "levels1 keep11+cosine+ema": L1 + COSINE + EMA + ["model.keep=11"],
}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def read_metrics(run_dir: Path) -> list[dict]:
    """(step, val/psnr, val/ssim) rows of a run's metrics.csv, one per validation."""
    path = run_dir / "logs" / "metrics.csv"
    if not path.is_file():
        return []
    rows = []
    with path.open() as f:
        for row in csv.DictReader(f):
            if row.get("val/psnr"):
                rows.append({"step": int(row["step"]) + 1, "psnr": float(row["val/psnr"]),
                             "ssim": float(row["val/ssim"]),
                             "psnr_noisy": float(row["val/psnr_noisy"])})
    return rows


def run_recipe(name: str, overrides: list[str], base: list[str], budgets: list[int],
               out: Path, threads: int, train: bool = True) -> dict:
    """Train one recipe (unless done, or `train` is False) and return its curve."""
    run_dir = out / "runs" / slug(name)
    done = read_metrics(run_dir)
    seconds = None
    if train and (not done or done[-1]["step"] < max(budgets)):
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        batch = next((int(o.split("=")[1]) for o in [*base, *overrides]
                      if o.startswith("data.batch_size=")), 8)
        every = budgets[0] if len(budgets) == 1 else min(
            b - a for a, b in zip([0, *budgets], budgets, strict=False))
        cmd = [sys.executable, "-m", "invdn.cli.main", "train", *BF16, *base,
               f"trainer.max_steps={max(budgets)}", f"data.samples_per_epoch={every * batch}",
               "callbacks.checkpoint.save_last_every_n_steps=0", "trainer.max_time=null",
               "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
               "data.num_workers=0", *overrides, f"run_dir={run_dir}"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        log = out / "runs" / f"{slug(name)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with log.open("w") as f:
            code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        seconds = time.perf_counter() - t0
        if code:
            return {"name": name, "overrides": overrides, "error": f"exit {code}, see {log}"}
        done = read_metrics(run_dir)
    curve = {r["step"]: r for r in done}
    return {"name": name, "overrides": overrides, "seconds": seconds,
            "psnr": {b: curve[b]["psnr"] for b in budgets if b in curve},
            "ssim": {b: curve[b]["ssim"] for b in budgets if b in curve},
            "psnr_noisy": done[0]["psnr_noisy"] if done else None}


def markdown(results: list[dict], budgets: list[int]) -> str:
    head = "| recipe | " + " | ".join(f"{b} steps" for b in budgets) + " | overrides |"
    lines = [head, "|" + "---|" * (len(budgets) + 2)]
    for r in results:
        cells = [f"{r['psnr'][b]:.2f}" if b in r.get("psnr", {}) else "–" for b in budgets]
        over = " ".join(r["overrides"]) or "(base)"
        lines.append(f"| {r['name']} | " + " | ".join(cells) + f" | `{over}` |")
    return "\n".join(lines)


def plot(results: list[dict], path: Path, noisy: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        if r.get("psnr"):
            steps = sorted(r["psnr"])
            ax.plot(steps, [r["psnr"][s] for s in steps], marker="o", label=r["name"])
    if noisy is not None:
        ax.axhline(noisy, color="gray", ls=":", label="noisy input")
    ax.axhline(28.05, color="black", ls="--", lw=0.8, label="previous default: 28.05 dB after 2,200 steps")
    ax.set_xlabel("training steps (8 × 64² patches)")
    ax.set_ylabel("validation PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES)[:4],
                        help=f"recipe names (known: {', '.join(RECIPES)})")
    parser.add_argument("--budgets", nargs="+", type=int, default=[250, 500])
    parser.add_argument("--base", nargs="*", default=["experiment=pretrained"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="bench-results/learning")
    parser.add_argument("--no-train", action="store_true",
                        help="only tabulate what the recipes' run folders already hold")
    parser.add_argument("--include-run", nargs="*", default=[], metavar="NAME=RUN_DIR",
                        help="also tabulate and plot finished `invdn train` runs (e.g. longer "
                             "runs of a recipe) at the budgets they validated at")
    args = parser.parse_args(argv)
    unknown = [r for r in args.recipes if r not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe {unknown[0]!r}; known: {', '.join(RECIPES)}")
    budgets = sorted(set(args.budgets))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda n: run_recipe(n, RECIPES[n], args.base, budgets, out,
                                                      args.threads, not args.no_train),
                                args.recipes))
    for spec in args.include_run:
        name, _, run_dir = spec.partition("=")
        rows = read_metrics(Path(run_dir))
        if not rows:
            parser.error(f"--include-run {spec}: no validation rows in {run_dir}/logs/metrics.csv")
        results.append({"name": name, "overrides": [f"(run {run_dir})"], "seconds": None,
                        "psnr": {r["step"]: r["psnr"] for r in rows},
                        "ssim": {r["step"]: r["ssim"] for r in rows},
                        "psnr_noisy": rows[0]["psnr_noisy"]})
        budgets = sorted(set(budgets) | {r["step"] for r in rows})
    noisy = next((r["psnr_noisy"] for r in results if r.get("psnr_noisy")), None)
    report = {"machine": machine("cpu"), "base": args.base, "precision": "bf16-mixed",
              "budgets": budgets, "jobs": args.jobs, "threads": args.threads,
              "psnr_noisy": noisy, "results": results}
    from invdn.io.atomic import write_text

    write_text(out / "learning.json", json.dumps(report, indent=2) + "\n")
    table = markdown(results, budgets)
    write_text(out / "learning.md", table + "\n")
    plot(results, out / "learning.png", noisy)
    print(json.dumps(report, indent=2))
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
