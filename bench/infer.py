"""Denoising throughput: invdn's fast path vs a plain implementation of the same network, and
(`--compare`) invdn against the networks a user would pick instead, end to end.

    python bench/infer.py [--sizes 512 1024] [--device cpu|cuda] [--precision fp32|bf16]
                          [--levels 2] [--blocks 8 8] [--keep K] [--repeats 3] [--json-out F]
    python bench/infer.py --compare [--sizes 512 1024] [--precisions fp32 bf16] [--threads 2]
                          [--networks default paper ...] [--photo P.png] [--before DIR]
                          [--psnr-json standard.json [--psnr-label default=invdn ...]]
                          [--repeats 2] [--json-out F]

`--compare` (bench/_speed.py has the method): the shipped default, the paper's model, two
smaller InvDN candidates, the DANet-sized U-Net and the peers' shapes (DnCNN-17, CDnCNN-B,
FFDNet) through the library's `Denoiser`, whole image, batch 1, in fp32 and bf16 (which one is
native here is printed: `auto` picks it), interleaved; MP/s, TMAC per MP, the achieved rate as
a % of the measured convolution rate of the row's precision, and CBSD68 σ = 25 PSNR (published
for the peers; from a bench/standard.py report for InvDN, `--psnr-json`). Then
`invdn.denoise_files` end to end on a ~3 MP photo (`--photo`, else one made from scikit-image's
astronaut) in a fresh process beside the whole-image rate there; `--before DIR` times the
`invdn` package in DIR the same way (e.g. `git archive <commit> invdn | tar -x -C DIR`).
Issue 27's targets are printed met or missed.

The default mode:

For each size (batch 1) it times one denoise (forward to the low-resolution image, fresh latent,
inverse) on the plain path (NCHW float32, each sub-network layer one convolution, full forward
including the discarded latent) and on `InvDN.denoise` (the fast path), counts the executed
multiply-accumulates with `torch.utils.flop_counter`, and compares the achieved GFLOP/s with the
machine's measured peak: the best of NCHW and channels_last for a 64→64 3x3 convolution at the
resolution where InvDN spends most of its work (H/2 x W/2), measured in float32 and in bf16;
"% of peak" is against the peak of the precision the denoise ran in (`--precision bf16`: the
fast path's bf16 convolutions, `invdn denoise --precision bf16`; the plain path under bf16
autocast). On CPU the thread CPU time is reported too (`fast_cpu_s`): with other processes
on the machine it is the steadier figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    conv_rate,
    counted_flops,
    cpu_seconds,
    emit,
    machine,
    print_table,
    time_it,
)

from invdn import InvDN  # noqa: E402


def plain_denoise(model: InvDN, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The reference: every layer as written, forward through the whole stack, then inverse."""
    t = x
    for layer in model.layers:
        t = layer(t)
    t = torch.cat((t[:, : model.keep], z), dim=1)
    for layer in reversed(model.layers):
        t = layer.inverse(t)
    return t


def run(size: int, device: str, repeats: int, autocast: bool, arch: dict) -> dict:
    torch.manual_seed(0)
    model = InvDN(**arch).to(device).eval()
    x = torch.rand(1, 3, size, size, device=device)
    m = model.multiple
    z = torch.randn(1, model.latent_channels, size // m, size // m, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    plain = lambda: plain_denoise(model, x, z)  # noqa: E731
    fast = lambda: model.denoise(x, generator=gen)  # noqa: E731
    ctx = torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if autocast else torch.no_grad()
    with torch.inference_mode(), ctx:
        flops_plain, flops_fast = counted_flops(plain), counted_flops(fast)
        t_plain = time_it(plain, device, repeats)
        t_fast = time_it(fast, device, repeats)
        fast_cpu = cpu_seconds(fast, repeats) if device == "cpu" else None
    peaks = {name: conv_rate(size // 2, size // 2, dtype, repeats, device,
                                  cpu_time=device == "cpu")
             for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    peak = peaks["bf16" if autocast else "fp32"]
    mp = size * size / 1e6
    fast_gflops = flops_fast / t_fast["min_s"] / 1e9
    # on CPU the peak is in CPU time: compare the CPU-time rate with it (wall-time % is
    # meaningful only on an otherwise idle machine)
    return {
        "precision": "bf16" if autocast else "fp32", "model": model.config,
        "fast_cpu_s": fast_cpu,
        "fast_cpu_mp_per_s": mp / fast_cpu if fast_cpu else None,
        "fast_cpu_percent_of_peak": 100 * flops_fast / fast_cpu / 1e9 / peak["gflops"]
        if fast_cpu else None,
        "peak_fp32_gflops": peaks["fp32"]["gflops"], "peak_bf16_gflops": peaks["bf16"]["gflops"],
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


def compare(args: argparse.Namespace) -> None:
    """The `--compare` mode (see the module docstring)."""
    import json
    import os
    import tempfile

    import _speed

    from invdn.inference.device import cpu_has_native_bf16

    threads = args.threads or 2
    torch.set_num_threads(threads)
    keys = args.networks or [c.key for c in _speed.CONFIGS]
    load_before = os.getloadavg()
    rows = _speed.whole_image_rows(keys, args.precisions, args.sizes, args.repeats,
                                   log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.psnr_json:
        labels = dict(item.split("=", 1) for item in args.psnr_label)
        _speed.add_psnr(rows, json.loads(Path(args.psnr_json).read_text()), labels)
    e2e = before = None
    if not args.no_e2e:
        with tempfile.TemporaryDirectory() as tmp:
            photo = Path(args.photo) if args.photo else _speed.make_photo(Path(tmp) / "photo.png")
            e2e = _speed.end_to_end(photo, Path(tmp) / "out", threads, args.e2e_runs)
            if args.before:
                before = _speed.end_to_end(photo, Path(tmp) / "out_before", threads,
                                           args.e2e_runs, Path(args.before).resolve())
    native = cpu_has_native_bf16()
    result = {"benchmark": "infer --compare", "machine": machine("cpu"), "threads": threads,
              "bf16_native": native, "auto_precision": "bf16" if native else "fp32",
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "rows": rows, "end_to_end": e2e, "end_to_end_before": before,
              "targets": _speed.targets(rows, e2e)}
    emit(result, args.json_out)
    print(f"\nthreads {threads}; bf16 native here: {'yes' if native else 'no'} (auto runs "
          f"{result['auto_precision']}); load {load_before[0]:.2f} before, "
          f"{result['load_average_after'][0]:.2f} after")
    print_table(rows, [("network", "network", "s"), ("params_m", "params M", ".2f"),
                       ("tmac_per_mp", "TMAC/MP", ".3f"), ("precision", "prec", "s"),
                       ("size", "size", "d"), ("mp_per_s", "MP/s", ".3f"),
                       ("gflops", "GFLOP/s", ".1f"),
                       ("percent_of_conv_rate", "% conv rate", ".0f"),
                       ("psnr_cbsd68_25", "CBSD68 σ25", ".2f"), ("psnr_source", "PSNR from", "s")])
    print()
    print(_speed.markdown(rows, result["auto_precision"]))
    print()
    for name, run in (("end to end", e2e), ("end to end, --before", before)):
        if run:
            print(f"{name}: {run['size'][0]}x{run['size'][1]} ({run['megapixels']:.2f} MP), "
                  f"{run['precision']}: first call {run['calls_s'][0]:.1f} s "
                  f"({run['mp_per_s_first_call']:.3f} MP/s, {run['percent_of_whole_first_call']:.0f} "
                  f"% of whole-image {run['whole_image_mp_per_s']:.3f} MP/s), warm "
                  f"{run['mp_per_s_warm']:.3f} MP/s ({run['percent_of_whole_warm']:.0f} %)")
    for t in result["targets"]:
        verdict = "-" if t["met"] is None else ("met" if t["met"] else "MISSED")
        note = f" ({t['note']})" if t["note"] else ""
        print(f"{verdict:>6}: {t['target']}: {t['value']:.2f} {t['unit']} (goal >= {t['goal']})"
              f"{note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare", action="store_true",
                        help="invdn against the peers, whole image and end to end")
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"],
                        default=["fp32", "bf16"], help="--compare: precisions to time")
    parser.add_argument("--networks", nargs="+", default=None,
                        help="--compare: configuration keys (default: all of bench/_speed.py)")
    parser.add_argument("--photo", help="--compare: the photo timed end to end (~3 MP)")
    parser.add_argument("--before", help="--compare: a folder holding another invdn package "
                                         "to time end to end the same way")
    parser.add_argument("--e2e-runs", type=int, default=2,
                        help="--compare: denoise_files calls in the end-to-end process")
    parser.add_argument("--no-e2e", action="store_true", help="--compare: whole image only")
    parser.add_argument("--psnr-json", help="--compare: a bench/standard.py standard.json")
    parser.add_argument("--psnr-label", nargs="*", default=["default=invdn"],
                        help="--compare: KEY=LABEL, the standard.json denoiser of a network")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="convolutions in bf16 (invdn denoise --precision bf16) or fp32")
    parser.add_argument("--bf16", action="store_true", help="same as --precision bf16")
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--blocks", type=int, nargs="+", default=[8, 8])
    parser.add_argument("--keep", type=int, default=None)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.compare:
        compare(args)
        return
    import os

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    bf16 = args.bf16 or args.precision == "bf16"
    arch = dict(levels=args.levels, blocks=args.blocks, keep=args.keep)
    rows = [run(s, args.device, args.repeats, bf16, arch) for s in args.sizes]
    result = {"benchmark": "infer", "machine": machine(args.device), "bf16": bf16,
              "load_average": os.getloadavg(), "results": rows}
    emit(result, args.json_out)
    print()
    print_table(rows, [("size", "size", "d"), ("plain_s", "plain s", ".2f"), ("fast_s", "fast s", ".2f"),
                       ("fast_mp_per_s", "fast MP/s", ".3f"), ("speedup", "speed-up", ".2f"),
                       ("fast_gflops", "fast GFLOP/s", ".1f"), ("peak_gflops", "conv peak", ".1f"),
                       ("fast_percent_of_peak", "% of peak", ".0f"),
                       ("fast_cpu_mp_per_s", "MP/s (CPU time)", ".3f"),
                       ("fast_cpu_percent_of_peak", "% (CPU time)", ".0f")])


if __name__ == "__main__":
    main()
