"""The field's benchmark: CBSD68, Kodak24, BSD68 and Set12 at σ = 15/25/50, real camera noise.

    python bench/standard.py [--root ../shared/testsets] [--realnoise ../shared/realnoise/polyu_canon]
                             [--invdn NAME=PATH ...] [--cdncnn GD_Color_Blind.mat]
                             [--dncnn-gray GD_Gray_Blind.mat] [--sets ...] [--sigmas ...]
                             [--protocols paper 8bit] [--limit N] [--threads N]
                             [--precision fp32|bf16|auto] [--out bench-results/standard]

Every denoiser runs on the same noisy inputs in two protocols (`invdn.evaluation.standard`):
`paper`, the published tables' (float noise, not clipped, not quantized), and `8bit`, the same
noise clipped and rounded to an 8-bit image (what a user's file and `invdn denoise` see). The
published rows (`invdn.evaluation.published`, with their papers) are printed beside the
measured ones. `--realnoise` adds the PolyU real noisy/mean pairs (`invdn.evaluation.realnoise`).

Where the sets come from: the `testsets/` folder of github.com/cszn/FFDNet (or KAIR) holds
CBSD68, Kodak24 (FFDNet's 500×500 crops), BSD68 and Set12; PolyU's pairs are in
github.com/csjunxu/PolyU-Real-World-Noisy-Images-Dataset. They are for evaluation only.

Denoisers:
- `--invdn NAME=PATH` (repeatable; PATH `default` = the installed default weights; the default
  is `invdn=default`): InvDN, one latent sample, whole images, `--precision` (fp32 default);
- `--cdncnn PATH`: CDnCNN-B run here from its authors' MatConvNet weights (github.com/cszn/DnCNN,
  `model/GD_Color_Blind.mat`) on the colour sets and the real pairs; `--dncnn-gray PATH`
  (`model/GD_Gray_Blind.mat`) the gray DnCNN-B on the gray sets. A yardstick only: the project
  never trains on, distils from or ships these weights.

Speed: each denoiser's megapixels per second over all the images it denoised in this run (its
own wall time only: noise, I/O and scoring excluded), with its cost in TMAC per megapixel, so
that quality and speed of every configuration stand in one table.

Writes `standard.json` (every image's numbers) and `standard.md` under `--out`, atomically, and
prints the Markdown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from invdn.evaluation.compare import count_macs  # noqa: E402
from invdn.evaluation.published import PUBLISHED  # noqa: E402
from invdn.evaluation.realnoise import evaluate_pairs, load_pairs  # noqa: E402
from invdn.evaluation.standard import (  # noqa: E402
    PROTOCOLS,
    SIGMAS,
    TEST_SETS,
    Timer,
    evaluate_set,
    load_set,
    test_set,
)
from invdn.inference.pipeline import DenoiseOptions, Denoiser  # noqa: E402
from invdn.io.atomic import write_json, write_text  # noqa: E402

ArrayFn = Callable[[np.ndarray], np.ndarray]


class Entry:
    """One measured denoiser: what it runs on colour and on gray images, its size and cost."""

    def __init__(self, label: str, color: ArrayFn | None, gray: ArrayFn | None,
                 params: int | None, tmac_per_mp: float | None) -> None:
        self.label, self.color, self.gray = label, color, gray
        self.params, self.tmac_per_mp = params, tmac_per_mp
        self.timer = Timer()

    def fn(self, gray: bool) -> ArrayFn | None:
        return self.gray if gray else self.color


def _tensor_fn(run: Callable[[torch.Tensor], torch.Tensor]) -> ArrayFn:
    """An `(H, W, C)` float array method from a `(1, C, H, W)` tensor one."""
    def method(noisy: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(noisy.transpose(2, 0, 1)))[None]
        with torch.no_grad():
            out = run(x)
        return out[0].float().numpy().transpose(1, 2, 0)
    return method


def _cost(model: torch.nn.Module, channels: int = 3) -> float:
    return count_macs(model, 256, channels)["denoise_macs"] / 256**2 / 1e6  # TMAC / MP


def invdn_entry(name: str, path: str, precision: str) -> Entry:
    from invdn.inference.loading import load_checkpoint_or_default

    model = load_checkpoint_or_default(None if path == "default" else path)
    denoiser = Denoiser(model, DenoiseOptions(tile=0, precision=precision), device="cpu")
    fn = _tensor_fn(denoiser.denoise_float)
    return Entry(name, fn, fn, sum(p.numel() for p in model.parameters()), _cost(model))


def dncnn_entry(color_path: str | None, gray_path: str | None) -> Entry:
    from invdn.io.matconvnet import load_dncnn

    color = load_dncnn(color_path) if color_path else None
    gray = load_dncnn(gray_path) if gray_path else None
    label = " / ".join(n for n, m in (("DnCNN-B", gray), ("CDnCNN-B", color)) if m is not None)
    main = color if color is not None else gray
    return Entry(f"{label} (authors' weights, run here)",
                 _tensor_fn(color) if color is not None else None,
                 _tensor_fn(gray) if gray is not None else None,
                 sum(p.numel() for p in main.parameters()),
                 _cost(main, main.channels))


def run(args: argparse.Namespace, entries: list[Entry]) -> dict:
    results: dict = {"sets": {}, "realnoise": None}
    log = (lambda line: print(line, flush=True)) if args.verbose else None
    for set_name in args.sets:
        spec = test_set(set_name)
        images = load_set(args.root, set_name)[: args.limit]
        for protocol in args.protocols:
            for sigma in args.sigmas:
                cell: dict = {}
                for entry in entries:
                    fn = entry.fn(spec.gray)
                    if fn is None:
                        continue
                    cell[entry.label] = evaluate_set(fn, images, sigma, protocol, entry.timer,
                                                     log)
                    noisy = cell[entry.label]["noisy_psnr"]
                    print(f"{set_name:>8} {protocol:>5} σ={sigma:<3} {entry.label:<45} "
                          f"{cell[entry.label]['psnr']:6.2f} dB (noisy {noisy:.2f})", flush=True)
                results["sets"].setdefault(set_name, {}).setdefault(protocol, {})[sigma] = cell
    if args.realnoise:
        pairs = load_pairs(args.realnoise)[: args.limit]
        results["realnoise"] = {}
        for entry in entries:
            if entry.color is None:
                continue
            cell = evaluate_pairs(entry.color, pairs, entry.timer, log)
            results["realnoise"][entry.label] = cell
            print(f"{'PolyU':>8} {entry.label:<45} {cell['psnr']:6.2f} dB (noisy "
                  f"{cell['noisy_psnr']:.2f}), {cell['below_input']} below input", flush=True)
    results["speed"] = {e.label: {"megapixels": e.timer.megapixels, "seconds": e.timer.seconds,
                                  "mp_per_s": e.timer.mp_per_s, "params": e.params,
                                  "tmac_per_mp": e.tmac_per_mp} for e in entries}
    return results


def _cells(result_sets: dict, protocol: str, sets: list[str], sigmas: list[int],
           label: str) -> list[str]:
    cols = []
    for set_name in sets:
        for sigma in sigmas:
            cell = result_sets.get(set_name, {}).get(protocol, {}).get(sigma, {}).get(label)
            cols.append(f"{cell['psnr']:.2f}" if cell else "–")
    return cols


def to_markdown(results: dict, args: argparse.Namespace) -> str:
    sets, sigmas = args.sets, args.sigmas
    head = ("| method | " + " | ".join(f"{s} σ={g}" for s in sets for g in sigmas)
            + " | params (M) | TMAC/MP | MP/s |")
    rule = "|" + "---|" * (len(sets) * len(sigmas) + 4)
    speed = results["speed"]
    lines = []
    for protocol in args.protocols:
        title = ("Paper protocol (float noise, not clipped): mean PSNR (dB)" if protocol == "paper"
                 else "8-bit files (noise clipped and rounded, what `invdn denoise` sees): "
                      "mean PSNR (dB)")
        lines += [f"### {title}", "", head, rule]
        noisy = []
        for set_name in sets:
            for sigma in sigmas:
                cell = results["sets"].get(set_name, {}).get(protocol, {}).get(sigma, {})
                first = next(iter(cell.values()), None)
                noisy.append(f"{first['noisy_psnr']:.2f}" if first else "–")
        lines.append("| noisy input | " + " | ".join(noisy) + " | | | |")
        if protocol == "paper":
            for row in PUBLISHED:
                cols = [f"{row.psnr[s][g]:.2f}" if s in row.psnr else "–"
                        for s in sets for g in sigmas]
                params = f"{row.params:.2f}" if row.params else ""
                lines.append(f"| {row.name} (published: {row.citation}) | " + " | ".join(cols)
                             + f" | {params} | | |")
        for label, sp in speed.items():
            cols = _cells(results["sets"], protocol, sets, sigmas, label)
            rate = f"{sp['mp_per_s']:.3f}" if sp["mp_per_s"] else "–"
            params = f"{sp['params'] / 1e6:.2f}" if sp["params"] else ""
            cost = f"{sp['tmac_per_mp']:.3f}" if sp["tmac_per_mp"] else ""
            lines.append(f"| **{label}** | " + " | ".join(f"**{c}**" if c != "–" else c
                                                         for c in cols)
                         + f" | {params} | {cost} | {rate} |")
        lines.append("")
    if results.get("realnoise"):
        lines += ["### Real camera noise (PolyU Canon pairs, noisy camera JPEG vs mean image)", "",
                  "| method | PSNR (dB) | SSIM | outputs below their input |", "|---|---|---|---|"]
        first = next(iter(results["realnoise"].values()))
        lines.append(f"| noisy input | {first['noisy_psnr']:.2f} | {first['noisy_ssim']:.4f} | |")
        for label, cell in results["realnoise"].items():
            lines.append(f"| **{label}** | {cell['psnr']:.2f} | {cell['ssim']:.4f} | "
                         f"{cell['below_input']} of {len(cell['images'])} |")
        lines.append("")
    lines.append(f"Speed: megapixels per second of each denoiser over this run's images "
                 f"({torch.get_num_threads()} threads, precision {args.precision}); cost in "
                 "tera multiply-accumulates per megapixel of one denoising pass.")
    return "\n".join(lines) + "\n"


def _default(path: str) -> str | None:
    return path if Path(path).exists() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=_default("../shared/testsets"),
                        help="folder holding CBSD68/, Kodak24/, BSD68/, Set12/ "
                             "(default: ../shared/testsets when present)")
    parser.add_argument("--realnoise", default=_default("../shared/realnoise/polyu_canon"),
                        help="folder of PolyU <name>_real/<name>_mean pairs (default: "
                             "../shared/realnoise/polyu_canon when present; 'none' to skip)")
    parser.add_argument("--invdn", nargs="+", default=["invdn=default"], metavar="NAME=PATH",
                        help="InvDN weights to run, each as a label=path pair (path 'default': "
                             "the installed default weights)")
    parser.add_argument("--cdncnn", metavar="PATH", help="CDnCNN-B's GD_Color_Blind.mat")
    parser.add_argument("--dncnn-gray", metavar="PATH", help="DnCNN-B's GD_Gray_Blind.mat")
    parser.add_argument("--sets", nargs="+", default=[s.name for s in TEST_SETS],
                        choices=[s.name for s in TEST_SETS])
    parser.add_argument("--sigmas", nargs="+", type=int, default=list(SIGMAS))
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N images of each set (quick runs)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32")
    parser.add_argument("--verbose", action="store_true", help="print every image's PSNR")
    parser.add_argument("--out", default="bench-results/standard", help="output folder")
    args = parser.parse_args()
    if args.root is None:
        parser.error("--root is required: the folder holding CBSD68/, Kodak24/, BSD68/, Set12/ "
                     "(e.g. FFDNet's testsets/)")
    if args.realnoise == "none":
        args.realnoise = None
    if args.threads:
        torch.set_num_threads(args.threads)
    entries = []
    for spec in args.invdn:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--invdn {spec!r}: give NAME=PATH (PATH 'default' for the default)")
        entries.append(invdn_entry(name, path, args.precision))
    if args.cdncnn or args.dncnn_gray:
        entries.append(dncnn_entry(args.cdncnn, args.dncnn_gray))

    results = run(args, entries)
    markdown = to_markdown(results, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "standard.json", {
        "machine": machine("cpu"), "threads": torch.get_num_threads(),
        "precision": args.precision, "root": str(args.root), "realnoise_root": args.realnoise,
        "sets": args.sets, "sigmas": args.sigmas, "protocols": args.protocols,
        "limit": args.limit, "invdn": args.invdn, "cdncnn": args.cdncnn,
        "dncnn_gray": args.dncnn_gray, "results": results,
        "published": [{"name": r.name, "citation": r.citation, "params": r.params,
                       "psnr": r.psnr} for r in PUBLISHED]})
    write_text(out / "standard.md", markdown)
    print()
    print(markdown)
    print(f"wrote {out / 'standard.json'}, {out / 'standard.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
