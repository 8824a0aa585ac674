"""Correctness on a GPU of what the CPU tests check on CPU (run by bench/gpu_check.sh).

    python bench/gpu_check.py [--device cuda] [--json-out F] [--no-compile]

Checks, each recorded with its measured error and pass/fail (no check stops the others):
- fast path (fp32, G and H stacked as on GPU) equals the plain modules: forward, inverse;
- bf16 fast path: output within 1 % of fp32, and the round trip within 1e-3;
- the CPU layout (G and H separate) equals the stacked one on the GPU;
- `system.compile`'s CompiledModel (inductor) equals the plain model: forward, inverse, gradients.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from invdn import InvDN  # noqa: E402
from invdn.nn import fast  # noqa: E402


def model_on(device: str, **cfg) -> InvDN:
    torch.manual_seed(0)
    model = InvDN(**cfg).to(device).eval()
    with torch.no_grad():  # small last convs: blocks near the identity, like trained ones
        for layer in model.layers:
            for net in (getattr(layer, n, None) for n in "FGH"):
                if net is not None:
                    net.last_conv.weight.mul_(0.1)
    return model


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max())


def check_fast(device: str, cfg: dict) -> dict:
    model = model_on(device, **cfg)
    x = torch.rand(2, 3, 64, 64, device=device)
    with torch.no_grad():
        lr, z = model(x)
        back = model.inverse(lr, z)
        with torch.autocast(device, dtype=torch.bfloat16):
            lr16, z16 = model(x)
            back16 = model.inverse(lr16, z16)
        model.fast_inference = False
        lr_p, z_p = model(x)
        zs = torch.randn_like(z_p)
        out_p = model.inverse(lr_p, zs)
        model.fast_inference = True
        out_f = model.inverse(lr_p, zs)
    res = {"lr_vs_plain": rel(lr, lr_p), "z_vs_plain": rel(z, z_p),
           "inverse_vs_plain": rel(out_f, out_p), "round_trip": float((back - x).abs().max()),
           "bf16_lr_vs_fp32": rel(lr16, lr), "bf16_round_trip": float((back16 - x).abs().max())}
    res["ok"] = (max(res["lr_vs_plain"], res["z_vs_plain"], res["inverse_vs_plain"]) <= 1e-4
                 and res["round_trip"] <= 1e-4 and res["bf16_lr_vs_fp32"] <= 1e-2
                 and res["bf16_round_trip"] <= 1e-3)
    return res


def check_layouts(device: str) -> dict:
    """G and H stacked (GPU default) vs separate (the CPU layout), on this device."""
    model = model_on(device, levels=1, blocks=[4])
    x = torch.rand(1, 3, 64, 64, device=device)
    outs = {}
    with torch.no_grad():
        for stacked in (True, False):
            fast._CACHE.clear()
            levels = []
            for layer in model.layers:
                if isinstance(layer, fast.HaarDownsampling):
                    levels.append([])
                else:
                    levels[-1].append(fast._Block.build(layer, torch.float32, stacked))
            fast._CACHE[model] = (fast._signature(model), torch.float32, levels,
                                  [p.detach() for p in model.parameters()])
            outs[stacked] = fast.fast_forward(model, x)[0]
    fast._CACHE.clear()
    err = rel(outs[False], outs[True])
    return {"separate_vs_stacked": err, "ok": err <= 1e-4}


def check_compile(device: str) -> dict:
    from invdn.training.compile import CompiledModel

    model = model_on(device, levels=1, blocks=[2], width=16).train()
    x = torch.rand(2, 3, 32, 32, device=device)
    z = torch.randn(2, model.latent_channels, 16, 16, device=device)

    def run(net):
        model.zero_grad(set_to_none=True)
        lr, latent = net(x)
        out = net.inverse(lr, z)
        (lr.square().sum() + (out - x).abs().sum() + latent.square().mean()).backward()
        return [lr.detach(), out.detach()], [p.grad.clone() for p in model.parameters()]

    t0 = time.perf_counter()
    plain_out, plain_grads = run(model)
    comp_out, comp_grads = run(CompiledModel(model))
    res = {"outputs": max(rel(a, b) for a, b in zip(comp_out, plain_out, strict=True)),
           "grads": max(rel(a, b) for a, b in zip(comp_grads, plain_grads, strict=True)),
           "compile_s": time.perf_counter() - t0}
    res["ok"] = res["outputs"] <= 1e-4 and res["grads"] <= 1e-3
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json-out")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    checks = {
        "fast_2level": lambda: check_fast(args.device, dict(levels=2, blocks=[2, 2])),
        "fast_1level": lambda: check_fast(args.device, dict(levels=1, blocks=[8])),
        "fast_1level_keep6": lambda: check_fast(args.device, dict(levels=1, blocks=[4], keep=6)),
        "gh_layouts": lambda: check_layouts(args.device),
    }
    if not args.no_compile:
        checks["compile_inductor"] = lambda: check_compile(args.device)
    results = {}
    for name, fn in checks.items():
        try:
            results[name] = fn()
        except Exception as err:  # record and go on: one failure must not hide the others
            results[name] = {"ok": False, "error": f"{type(err).__name__}: {err}",
                             "traceback": traceback.format_exc()[-2000:]}
        print(name, json.dumps(results[name])[:400], flush=True)
    summary = {"device": torch.cuda.get_device_name() if args.device.startswith("cuda")
               else args.device, "torch": torch.__version__, "checks": results,
               "all_ok": all(r["ok"] for r in results.values())}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n")
    print("all ok" if summary["all_ok"] else "FAILED: " +
          ", ".join(k for k, r in results.items() if not r["ok"]))
    return 0 if summary["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
