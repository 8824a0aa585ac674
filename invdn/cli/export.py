"""Export InvDN's denoising pass to ONNX or TorchScript and verify it against PyTorch, or
write a compact invdn weights file (`--format weights`, `--half` for float16).

The exported graph takes the latent as an explicit input (seed-free, deterministic):
  noisy  (B, 3, H, W)      float32 in [0, 1], H and W multiples of 4 (pad before, crop after)
  latent (B, 45, H/4, W/4) float32 drawn from N(0, I)
  → denoised (B, 3, H, W)  float32 in [0, 1]
Batch, height and width are dynamic. Average the outputs of several latent draws for InvDN's
MC self-ensemble. The export is checked on another batch size and shape than the traced example
(max |diff| <= 1e-4), TorchScript with torch and ONNX with onnxruntime when installed
(pip install 'invdn[onnx]'); a failed check leaves no file behind.

`--format weights` turns any checkpoint (e.g. a Lightning last.ckpt with optimizer state) into
the weights file `--checkpoint` and the installed default use; `--half` stores float16 (half the
size) and reports the PSNR between the float32 and float16 models' outputs.

examples:
  invdn export --checkpoint invdn.pt --format onnx -o invdn.onnx
  invdn export --checkpoint run/last.ckpt --format torchscript -o invdn.ts
  invdn export --checkpoint run/last.ckpt --format weights --half -o invdn_fp16.pt
"""

from __future__ import annotations

import argparse
import json

HELP = "export to ONNX or TorchScript (verified against PyTorch) or a compact weights file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="weights in any format (default: the installed default weights)")
    parser.add_argument("--format", choices=("onnx", "torchscript", "weights"), required=True)
    parser.add_argument("--half", action="store_true",
                        help="weights format only: store float16 (half the size)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="file to write (.onnx / .pt)")
    parser.add_argument("--example-size", type=int, nargs=2, default=(64, 64),
                        metavar=("H", "W"), help="size of the traced example (default 64 64)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from invdn.inference.export import export_checkpoint

    report = export_checkpoint(args.output, format=args.format, checkpoint=args.checkpoint,
                               half=args.half, example_size=tuple(args.example_size),
                               opset=args.opset, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if args.format == "weights":
        print(f"wrote {report['path']} ({report['dtype']} weights, {report['bytes'] / 1e6:.1f} MB)")
        value = report["psnr_vs_float32"]
        print(f"  reloaded vs original on {tuple(report['verified_shape'])}: max |diff| "
              f"{report['max_abs_diff']:.2e}, PSNR "
              + ("inf (identical)" if value is None else f"{value:.1f} dB"))
        return 0
    print(f"wrote {report['path']} ({args.format}, {report['bytes'] / 1e6:.1f} MB)")
    print(f"  inputs: noisy {report['inputs']['noisy']}; latent {report['inputs']['latent']}")
    print(f"  output: {report['output']}")
    if report["verified"]:
        print(f"  verified against PyTorch on {tuple(report['verified_shape'])}: "
              f"max |diff| {report['max_abs_diff']:.2e} <= {report['tolerance']:g}")
    else:
        print(f"  {report['note']}")
    return 0
