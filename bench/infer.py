"""Denoising throughput: invdn's fast path vs a plain implementation of the same network.

    python bench/infer.py [--sizes 512 1024] [--device cpu|cuda] [--repeats 3] [--json-out F]

For each size (batch 1) it times one denoise (forward to the low-resolution image, fresh latent,
inverse) on the plain path (NCHW float32, each sub-network layer one convolution, full forward
including the discarded latent) and on `InvDN.denoise` (the fast path), counts the executed
multiply-accumulates with `torch.utils.flop_counter`, and compares the achieved GFLOP/s with the
machine's measured peak: the best of NCHW and channels_last for a 64→64 3x3 convolution at the
resolution where InvDN spends most of its work (H/2 x W/2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine, print_table, time_it  # noqa: E402

import invdn.nn.fast as fast_path  # noqa: E402
from invdn import InvDN  # noqa: E402


def plain_denoise(model: InvDN, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The reference: every layer as written, forward through the whole stack, then inverse."""
    t = x
    for layer in model.layers:
        t = layer(t)
    t = torch.cat((t[:, :3], z), dim=1)
    for layer in reversed(model.layers):
        t = layer.inverse(t)
    return t


def counted_flops(fn) -> int:
    # FlopCounterMode knows aten.convolution but not oneDNN's fused conv+activation call, so
    # count with the fusion off: the convolutions executed are the same either way.
    fused, fast_path._FUSED = fast_path._FUSED, False
    try:
        with FlopCounterMode(display=False) as counter:
            fn()
    finally:
        fast_path._FUSED = fused
    return counter.get_total_flops()


def conv_peak(h: int, w: int, device: str, repeats: int) -> dict:
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(device).eval()
    best = None
    for fmt in (torch.contiguous_format, torch.channels_last):
        x = torch.rand(1, 64, h, w, device=device).contiguous(memory_format=fmt)
        c = conv.to(memory_format=fmt)
        with torch.inference_mode():
            t = time_it(lambda c=c, x=x: c(x), device, repeats)
        gflops = 2 * 64 * 64 * 9 * h * w / t["min_s"] / 1e9
        if best is None or gflops > best["gflops"]:
            best = {"gflops": gflops, "format": "channels_last" if fmt is torch.channels_last else "NCHW",
                    "size": [h, w]}
    return best


def run(size: int, device: str, repeats: int, autocast: bool) -> dict:
    torch.manual_seed(0)
    model = InvDN().to(device).eval()
    x = torch.rand(1, 3, size, size, device=device)
    z = torch.randn(1, model.latent_channels, size // 4, size // 4, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    plain = lambda: plain_denoise(model, x, z)  # noqa: E731
    fast = lambda: model.denoise(x, generator=gen)  # noqa: E731
    ctx = torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if autocast else torch.no_grad()
    with torch.inference_mode(), ctx:
        flops_plain, flops_fast = counted_flops(plain), counted_flops(fast)
        t_plain = time_it(plain, device, repeats)
        t_fast = time_it(fast, device, repeats)
    peak = conv_peak(size // 2, size // 2, device, repeats)
    mp = size * size / 1e6
    fast_gflops = flops_fast / t_fast["min_s"] / 1e9
    return {
        "size": size, "megapixels": mp,
        "plain_s": t_plain["min_s"], "fast_s": t_fast["min_s"],
        "plain_mp_per_s": mp / t_plain["min_s"], "fast_mp_per_s": mp / t_fast["min_s"],
        "speedup": t_plain["min_s"] / t_fast["min_s"],
        "plain_gmac": flops_plain / 2e9, "fast_gmac": flops_fast / 2e9,
        "plain_gflops": flops_plain / t_plain["min_s"] / 1e9, "fast_gflops": fast_gflops,
        "peak_gflops": peak["gflops"], "peak_format": peak["format"],
        "fast_percent_of_peak": 100 * fast_gflops / peak["gflops"],
        "timing": {"plain": t_plain, "fast": t_fast},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    import os

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    rows = [run(s, args.device, args.repeats, args.bf16) for s in args.sizes]
    result = {"benchmark": "infer", "machine": machine(args.device), "bf16": args.bf16, "results": rows}
    emit(result, args.json_out)
    print()
    print_table(rows, [("size", "size", "d"), ("plain_s", "plain s", ".2f"), ("fast_s", "fast s", ".2f"),
                       ("fast_mp_per_s", "fast MP/s", ".3f"), ("speedup", "speed-up", ".2f"),
                       ("fast_gflops", "fast GFLOP/s", ".1f"), ("peak_gflops", "conv peak", ".1f"),
                       ("fast_percent_of_peak", "% of peak", ".0f")])


if __name__ == "__main__":
    main()
