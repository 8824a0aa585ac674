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
import json

from invdn.cli.denoise import add_device_arguments

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
    from pathlib import Path

    from invdn.errors import InvdnError
    from invdn.evaluation.compare import (
        DEFAULT,
        build_named_model,
        compare,
        plot,
        read_report,
        to_markdown,
    )
    from invdn.inference.device import resolve_device
    from invdn.inference.loading import load_checkpoint_or_default
    from invdn.io.atomic import write_text
    from invdn.io.weights import load_model

    if args.size < 4 or args.size % 4 or args.repeats < 1:
        raise InvdnError(f"--size must be a multiple of 4 (got {args.size}) and --repeats >= 1")
    if args.quality_crop < 0:
        raise InvdnError(f"--quality-crop must be >= 0 (0: whole images), got {args.quality_crop}")
    names = args.model or ([] if args.checkpoint else ["default", "invdn", "danet"])
    models = {name: load_checkpoint_or_default(None) if name == DEFAULT else build_named_model(name)
              for name in names}
    trained = {DEFAULT} & set(names)
    for path in args.checkpoint:
        name = Path(path).stem
        if name in models:
            raise InvdnError(f"two models named {name!r}; rename one of the checkpoint files")
        models[name] = load_model(path)
        trained.add(name)
    reports = dict(read_report(spec) for spec in args.report)
    result = compare(models, reports, args.size, resolve_device(args.device), args.repeats,
                     quality=args.quality, quality_crop=args.quality_crop or None, trained=trained)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InvdnError(f"-o {out} is a file; give a folder")
    markdown = to_markdown(result)
    write_text(out / "compare.json", json.dumps(result, indent=2))
    write_text(out / "compare.md", markdown)
    plot(result, out / "compare.png")
    print(markdown)
    print(f"wrote {out / 'compare.json'}, compare.md, compare.png")
    return 0
