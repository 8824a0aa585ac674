"""Compare InvDN with the DANet-sized baseline: parameters, MACs, speed, memory, quality.

Models come from the shipped configs (`--model invdn` = the paper's, `invdn_small`, `danet`, ...;
random weights, which do not change cost), from the shipped default weights (`--model default`)
and from weight files (`--checkpoint PATH`, named by file stem). `--quality` also scores the
trained ones (default weights and checkpoints) on the built-in test set: bundled photos never
trained on, with fixed-seed synthetic noise (σ = 15, 25, 50, Poisson–Gaussian, camera).
MACs are counted at 256x256 with torch's FlopCounterMode (MACs = FLOPs / 2); time and
peak memory are measured for one denoising pass at --size on --device. PSNR/SSIM columns come
from `invdn evaluate` JSON reports (`--report invdn.json` matches the row named by the report's
"name"; `--report NAME=path.json` picks the row). Writes compare.json, compare.md and
compare.png into -o DIR and prints the Markdown table.

examples:
  invdn compare -o cmp/
  invdn compare --model invdn --model invdn_small --model danet --size 512 --device cuda -o cmp/
  invdn compare --report runs/invdn/evaluate.json --report danet=runs/danet/evaluate.json -o cmp/
  invdn compare --model default --model invdn --checkpoint danet.pt --quality -o cmp/
  invdn compare --model default --quality gauss25 camera --quality-crop 0 -o cmp/
"""

from __future__ import annotations

import argparse

from invdn.cli.common import add_device_arguments

HELP = "table of parameters, MACs, time, memory and PSNR/SSIM of InvDN vs DANet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="model config name from conf/model, or `default` for the shipped "
                             "weights (repeatable; default: default, invdn and danet unless "
                             "--checkpoint is given)")
    parser.add_argument("--checkpoint", action="append", metavar="PATH", default=[],
                        help="add a model from weights (repeatable)")
    parser.add_argument("--report", action="append", metavar="[NAME=]JSON", default=[],
                        help="`invdn evaluate` report for the PSNR/SSIM columns (repeatable)")
    parser.add_argument("--quality", nargs="*", metavar="SETTING", default=None,
                        help="score trained models on the built-in test set: all noise settings, "
                             "or the ones named (gauss15 gauss25 gauss50 poisson_gaussian camera)")
    parser.add_argument("--quality-crop", type=int, default=256, metavar="N",
                        help="centre-crop test images to N² for --quality (0: whole images; "
                             "default 256)")
    parser.add_argument("--size", type=int, default=256,
                        help="image side for time and memory (default 256)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (default 3)")
    add_device_arguments(parser, precision=False)
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder for compare.json, compare.md and compare.png")


def run(args: argparse.Namespace) -> int:
    from invdn.evaluation.compare import compare_models

    result = compare_models(args.output, models=args.model, checkpoints=args.checkpoint,
                            reports=args.report, quality=args.quality,
                            quality_crop=args.quality_crop, size=args.size,
                            repeats=args.repeats, device=args.device)
    print(result.markdown)
    print(f"wrote {result.written[0]}, compare.md, compare.png")
    return 0
