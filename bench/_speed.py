"""Speed of invdn against the networks a user would pick instead (issue 27), for
`python bench/infer.py --compare`.

Every network runs through the library's `Denoiser` (tile 0: the whole image, batch 1, one
latent draw), so InvDN's latent field, padding and format handling are inside the timing; the
plain CNNs (the DANet-sized U-Net and the peers' shapes of `invdn.nn.peers`) run with
channels_last weights, oneDNN's faster layout for them here (speed does not depend on the
weights, so all but the shipped default have random ones). Runs are interleaved: one round
over every (network, precision, size), repeated, the fastest of each kept.

Per row: megapixels per second (wall), the executed multiply-accumulates per megapixel
(`torch.utils.flop_counter` on one denoise at 256², MACs = FLOPs / 2, oneDNN's fused
convolution+activation counted as its convolution), the rate they run at, and that rate as a
fraction of the machine's measured convolution rate in the row's precision (a 64→64 3×3
convolution at half the image size, best of NCHW and channels_last, same threads, wall
time). Published CBSD68 σ = 25 PSNR (`invdn.evaluation.published`) stands beside the peers;
InvDN configurations get theirs from a `bench/standard.py` report when one is given.

End to end: `invdn.denoise_files` on one photo (decode, plan, tiles, encode, write) in a fresh
process, timed around the call (Python and torch start-up excluded), beside the library's
whole-image rate on the same decoded photo in the same process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from _common import conv_rate, counted_flops
from torch import nn

from invdn.evaluation.published import published
from invdn.inference.device import cpu_has_native_bf16
from invdn.inference.pipeline import DenoiseOptions, Denoiser
from invdn.nn import DANetDenoiser, InvDN
from invdn.nn.peers import DnCNN, FFDNet

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}
CBSD68_SIGMA = 25


@dataclass(frozen=True)
class Config:
    """One network of the table: `key`, `label`, how to `build` it, the published row whose
    CBSD68 σ = 25 PSNR stands beside it, whether it is an InvDN-family `candidate` not trained
    yet, and its `family` ('invdn', 'danet' or 'peer')."""

    key: str
    label: str
    build: Callable[[], nn.Module]
    family: str
    published: str | None = None
    candidate: bool = False


def _default() -> nn.Module:
    from invdn.inference.loading import load_checkpoint_or_default

    return load_checkpoint_or_default(None)


CONFIGS: tuple[Config, ...] = (
    Config("default", "invdn shipped default (L1, 8 blocks, keep 9)", _default, "invdn"),
    Config("paper", "invdn paper's model (L2, 8+8 blocks)", InvDN, "invdn"),
    Config("l1b4", "invdn candidate (L1, 4 blocks, keep 9)",
           lambda: InvDN(levels=1, blocks=[4], keep=9), "invdn", candidate=True),
    Config("l1b8w32", "invdn candidate (L1, 8 blocks, width 32, keep 9)",
           lambda: InvDN(levels=1, blocks=[8], width=32, keep=9), "invdn", candidate=True),
    Config("small", "invdn candidate (L2, 4+4 blocks, width 32: model=invdn_small)",
           lambda: InvDN(levels=2, blocks=[4, 4], width=32), "invdn", candidate=True),
    Config("danet", "DANet-sized U-Net (baseline_danet)", DANetDenoiser, "danet"),
    Config("dncnn17", "DnCNN-17 (full resolution, 64 ch)", lambda: DnCNN(depth=17), "peer"),
    Config("cdncnn_b", "CDnCNN-B shape (20 layers, 64 ch)", lambda: DnCNN(depth=20), "peer",
           published="DnCNN-B / CDnCNN-B"),
    Config("ffdnet", "FFDNet color (unshuffle x2, 12 x 96 ch, noise map)", FFDNet, "peer",
           published="FFDNet"),
)


def config(key: str) -> Config:
    for c in CONFIGS:
        if c.key == key:
            return c
    raise KeyError(f"unknown configuration {key!r}; known: {', '.join(c.key for c in CONFIGS)}")


def prepared(c: Config) -> nn.Module:
    """The network in eval mode; plain CNNs in channels_last."""
    torch.manual_seed(0)
    model = c.build().eval()
    if c.family != "invdn":
        model = model.to(memory_format=torch.channels_last)
    return model


def denoiser(model: nn.Module, precision: str) -> Denoiser:
    return Denoiser(model, DenoiseOptions(tile=0, precision=precision), "cpu")


def executed_macs_per_mp(model: nn.Module, size: int = 256) -> float:
    """TMAC per megapixel of one whole-image denoise through the library (float32; the
    same convolutions run in bf16)."""
    d = denoiser(model, "fp32")
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    return counted_flops(lambda: d.denoise_tensor(x)) / 2 / (size * size) / 1e6


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def whole_image_rows(keys: list[str], precisions: list[str], sizes: list[int],
                     repeats: int, log: Callable[[str], None] = print) -> list[dict]:
    """One row per (network, precision, size): whole-image MP/s (fastest of `repeats`
    interleaved rounds after a warm-up round), params, TMAC/MP, GFLOP/s and the fraction of
    the convolution rate in that precision (measured before and after, the better kept)."""
    models = {k: prepared(config(k)) for k in keys}
    macs = {k: executed_macs_per_mp(m) for k, m in models.items()}
    runs = {(k, p): denoiser(models[k], p) for k in keys for p in precisions}
    inputs = {s: torch.rand(1, 3, s, s, generator=torch.Generator().manual_seed(s)) for s in sizes}
    peaks = {(p, s): conv_rate(s // 2, s // 2, PRECISIONS[p]) for p in precisions for s in sizes}
    best: dict[tuple[str, str, int], float] = {}
    for round_ in range(repeats + 1):  # round 0 warms up
        for s in sizes:
            for k in keys:
                for p in precisions:
                    t = _timed(lambda k=k, p=p, s=s: runs[(k, p)].denoise_tensor(inputs[s]))
                    if round_:
                        best[(k, p, s)] = min(best.get((k, p, s), float("inf")), t)
                    log(f"round {round_} {k:>9} {p} {s}²: {t:.2f} s")
    for (p, s), first in peaks.items():
        again = conv_rate(s // 2, s // 2, PRECISIONS[p])
        peaks[(p, s)] = max(first, again, key=lambda r: r["gflops"])
    rows = []
    for k in keys:
        c = config(k)
        for p in precisions:
            for s in sizes:
                t = best[(k, p, s)]
                mp = s * s / 1e6
                gflops = 2 * macs[k] * 1e12 * mp / t / 1e9
                row_psnr = published(c.published).psnr["CBSD68"][CBSD68_SIGMA] \
                    if c.published else None
                rows.append({
                    "key": k, "network": c.label, "family": c.family, "candidate": c.candidate,
                    "params_m": sum(q.numel() for q in models[k].parameters()) / 1e6,
                    "tmac_per_mp": macs[k], "precision": p, "size": s, "seconds": t,
                    "mp_per_s": mp / t, "gflops": gflops,
                    "conv_rate_gflops": peaks[(p, s)]["gflops"],
                    "percent_of_conv_rate": 100 * gflops / peaks[(p, s)]["gflops"],
                    "psnr_cbsd68_25": row_psnr,
                    "psnr_source": f"published: {published(c.published).citation}"
                    if c.published else ("not yet trained" if c.candidate else None),
                })
    return rows


def add_psnr(rows: list[dict], report: dict, labels: dict[str, str]) -> None:
    """PSNR (CBSD68, σ = 25, paper protocol) of the rows whose key `labels` maps to a denoiser
    label of a `bench/standard.py` report (`standard.json`)."""
    report = report.get("results", report)  # standard.json keeps them under "results"
    cell = report.get("sets", {}).get("CBSD68", {}).get("paper", {})
    cell = cell.get(str(CBSD68_SIGMA), cell.get(CBSD68_SIGMA, {}))
    for row in rows:
        label = labels.get(row["key"])
        if label and label in cell:
            row["psnr_cbsd68_25"] = cell[label]["psnr"]
            row["psnr_source"] = f"measured: bench/standard.py ({label})"


# A fresh process times `denoise_files` on the photo and the library's whole-image rate on it.
_E2E = r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]))
import invdn
from invdn.inference.loading import load_checkpoint_or_default
from invdn.inference.pipeline import DenoiseOptions, Denoiser
from invdn.io.images import image_to_tensor, read_image
photo, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = {"invdn": invdn.__file__, "calls": []}
for i in range(runs):
    t0 = time.perf_counter()
    r = invdn.denoise_files([photo], out, overwrite=True, device="cpu", notice=lambda s: None)
    result["calls"].append(time.perf_counter() - t0)
    assert r.written == 1, r
x = image_to_tensor(read_image(photo))
whole = Denoiser(load_checkpoint_or_default(None), DenoiseOptions(tile=0), "cpu")
result["whole"] = []
for i in range(runs):
    t0 = time.perf_counter()
    whole.denoise_tensor(x)
    result["whole"].append(time.perf_counter() - t0)
result["precision"] = str(whole.dtype)
print("E2E " + json.dumps(result))
"""


def end_to_end(photo: Path, out: Path, threads: int, runs: int = 2,
               src: Path | None = None) -> dict:
    """`denoise_files([photo])` with the default options in a fresh process (`src`: the
    folder holding another `invdn` package to time instead, e.g. an earlier commit's), each
    call timed (the first like one `invdn denoise`, later ones warm), and the library's
    whole-image rate (tile 0) on the same photo there."""
    from invdn.io.images import image_size

    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.run([sys.executable, "-c", _E2E, str(photo), str(out), str(runs),
                           str(threads)], env=env, capture_output=True, text=True,
                          cwd=str(src) if src is not None else None, check=False)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("E2E ")), None)
    if line is None:
        raise RuntimeError(f"end-to-end run failed: {proc.stderr.strip()[-2000:]}")
    data = json.loads(line[4:])
    h, w = image_size(photo)
    mp = h * w / 1e6
    cold, warm, whole = data["calls"][0], min(data["calls"]), min(data["whole"])
    return {"photo": str(photo), "size": [w, h], "megapixels": mp, "invdn": data["invdn"],
            "precision": data["precision"], "calls_s": data["calls"], "whole_s": data["whole"],
            "mp_per_s_first_call": mp / cold, "mp_per_s_warm": mp / warm,
            "whole_image_mp_per_s": mp / whole,
            "percent_of_whole_first_call": 100 * whole / cold,
            "percent_of_whole_warm": 100 * whole / warm}


def make_photo(path: Path, width: int = 2048, height: int = 1536, sigma: float = 15.0) -> Path:
    """A ~3 MP noisy PNG from scikit-image's astronaut (resized), for when no photo is given."""
    import cv2
    import numpy as np
    from skimage import data

    from invdn.io.images import write_image

    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    noisy = img + np.random.default_rng(0).normal(0, sigma, img.shape)
    write_image(path, np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
    return path


def targets(rows: list[dict], e2e: dict | None) -> list[dict]:
    """Issue 27's CPU targets, each met or missed on these numbers (None: not measurable)."""
    by = {(r["key"], r["precision"], r["size"]): r for r in rows}
    sizes = sorted({r["size"] for r in rows})
    out = []

    def add(name: str, value: float | None, goal: float, unit: str, note: str = "") -> None:
        out.append({"target": name, "value": value, "goal": goal, "unit": unit,
                    "met": None if value is None else value >= goal, "note": note})

    native = cpu_has_native_bf16()
    auto = "bf16" if native else "fp32"
    if e2e:
        add("denoise end to end / library whole-image rate on the same photo (first call, "
            f"{auto})", e2e["percent_of_whole_first_call"], 80, "%")
        for s in sizes:
            d = by.get(("default", auto, s))
            if d:
                add(f"denoise end to end / library whole-image rate at {s}² (first call, "
                    f"{auto})", 100 * e2e["mp_per_s_first_call"] / d["mp_per_s"], 80, "%")
    for p in ("bf16", "fp32"):
        note = "" if p == auto else ("not native here: emulated" if p == "bf16" else
                                     "not what auto picks here")
        for s in sizes:
            d, ref = by.get(("default", p, s)), by.get(("dncnn17", p, s))
            if d and ref:
                add(f"default / DnCNN-17 MP/s, {p}, {s}²", d["mp_per_s"] / ref["mp_per_s"], 1.5,
                    "x", note)
            if d:
                add(f"default: % of the {p} conv rate, {s}²", d["percent_of_conv_rate"], 85, "%",
                    note)
            ff = by.get(("ffdnet", p, s))
            family = [r for r in rows if r["family"] == "invdn" and r["precision"] == p
                      and r["size"] == s]
            if ff and family:
                top = max(family, key=lambda r: r["mp_per_s"])
                add(f"fastest InvDN ({top['key']}) / FFDNet MP/s, {p}, {s}²",
                    top["mp_per_s"] / ff["mp_per_s"], 0.9, "x",
                    (note + "; " if note else "") + ("PSNR not yet trained" if top["candidate"]
                                                     else ""))
    return out


def markdown(rows: list[dict], auto: str) -> str:
    """One line per network: params, TMAC/MP, MP/s per (precision, size), % of the conv rate
    in the `auto` precision per size, CBSD68 σ = 25 PSNR and where it comes from."""
    keys = list(dict.fromkeys(r["key"] for r in rows))
    cols = sorted({(r["precision"], r["size"]) for r in rows}, key=lambda c: (c[0] != auto, c))
    sizes = sorted({r["size"] for r in rows})
    by = {(r["key"], r["precision"], r["size"]): r for r in rows}
    head = (["network", "params (M)", "TMAC/MP"]
            + [f"{p} {s}² MP/s" + (" (auto)" if p == auto else "") for p, s in cols]
            + [f"% of {auto} conv rate, {s}²" for s in sizes]
            + [f"CBSD68 σ={CBSD68_SIGMA} PSNR"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in keys:
        first = next(r for r in rows if r["key"] == k)
        psnr = first["psnr_cbsd68_25"]
        psnr_text = (f"{psnr:.2f} ({first['psnr_source']})" if psnr is not None
                     else (first["psnr_source"] or ""))
        cells = [first["network"], f"{first['params_m']:.2f}", f"{first['tmac_per_mp']:.3f}"]
        cells += [f"{by[(k, p, s)]['mp_per_s']:.3f}" if (k, p, s) in by else "" for p, s in cols]
        cells += [f"{by[(k, auto, s)]['percent_of_conv_rate']:.0f} %" if (k, auto, s) in by
                  else "" for s in sizes]
        lines.append("| " + " | ".join(cells + [psnr_text]) + " |")
    return "\n".join(lines)
