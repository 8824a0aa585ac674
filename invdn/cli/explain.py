"""Reproduce, as one figure plus a table, the two facts InvDN's design rests on.

  invdn explain relu-collapse   a 2-D spiral through n ReLU features and back (MobileNetV2
                                Fig. 1): information is lost for small n, unless a linear path
                                (as in coupling and residual blocks) carries it
  invdn explain memory          peak training memory and step time vs depth for the standard,
                                checkpointed and memory-efficient (reversible) modes

Each writes one PNG (-o) and prints a table, or JSON with --json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from invdn.errors import InvdnError

HELP = "figures and numbers behind InvDN's design (ReLU collapse, reversible memory)"

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)

    relu = sub.add_parser("relu-collapse", help="ReLU collapse of a spiral embedded in n dimensions",
                          description=_doc("invdn.analysis.explain.relu_collapse"),
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    relu.add_argument("--dims", type=int, nargs="+", default=[2, 3, 5, 15, 30],
                      help="embedding dimensions n (default: 2 3 5 15 30)")
    relu.add_argument("--trials", type=int, default=10, help="random T per n to average over")
    relu.add_argument("--points", type=int, default=1000, help="points on the spiral")
    relu.add_argument("--seed", type=int, default=0)
    _common(relu, "relu_collapse.png")

    mem = sub.add_parser("memory", help="training memory and step time vs depth per memory mode",
                         description=_doc("invdn.analysis.explain.memory_figure"),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    mem.add_argument("--blocks", type=int, nargs="+", default=[1, 2, 4, 8],
                     help="coupling blocks per level (default: 1 2 4 8)")
    mem.add_argument("--batch", type=int, default=1)
    mem.add_argument("--size", type=int, default=64, help="square patch side, a multiple of 4")
    mem.add_argument("--width", type=int, default=64, help="sub-network width")
    mem.add_argument("--repeats", type=int, default=3, help="timed steps per configuration")
    mem.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    mem.add_argument("--threads", type=int, default=1,
                     help="torch CPU threads (default 1: these small steps gain little from more, "
                          "and one thread keeps timings steady on a busy machine)")
    mem.add_argument("--seed", type=int, default=0)
    _common(mem, "memory.png")


def _doc(module: str) -> str:
    """The docstring of `module`, read from its source: importing the module would import
    torch, and `invdn explain --help` must stay fast."""
    import ast
    import importlib.util

    origin = importlib.util.find_spec(module).origin
    tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    return ast.get_docstring(tree, clean=False) or ""


def _common(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("-o", "--output", type=Path, default=Path(default),
                        help=f"figure to write, .png/.pdf/.svg (default: {default})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _check_output(path: Path) -> None:
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise InvdnError(f"cannot write a figure to {path}: name it with one of "
                         f"{', '.join(FIGURE_SUFFIXES)}")
    if path.is_dir():
        raise InvdnError(f"{path} is a folder; give a file name such as {path / 'figure.png'}")


def _positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise InvdnError(f"--{name} must be at least 1, got {value}")


def _relu_collapse(args: argparse.Namespace) -> int:
    from invdn.analysis.explain import relu_collapse
    from invdn.analysis.explain.figure import save_figure

    _positive(trials=args.trials)
    if any(n < 2 for n in args.dims):
        raise InvdnError(f"--dims must all be >= 2 (the spiral is 2-D), got {args.dims}")
    if args.points < 3:
        raise InvdnError(f"--points must be at least 3, got {args.points}")
    result = relu_collapse.run(args.dims, args.trials, args.seed, args.points)
    out = save_figure(relu_collapse.draw(result), args.output)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "examples"} | {"figure": str(out)}))
    else:
        print(f"spiral of {result['points']} points, {result['trials']} random T per n, "
              f"seed {result['seed']}; error = fraction of the spiral's variance lost")
        print(relu_collapse.format_table(result))
        print(f"figure: {out}")
    return 0


def _memory(args: argparse.Namespace) -> int:
    import sys

    from invdn.analysis.explain import memory_figure
    from invdn.analysis.explain.figure import save_figure
    from invdn.analysis.profiling.memory import format_table, machine_info, overheads, run_benchmark

    _positive(batch=args.batch, repeats=args.repeats, width=args.width, threads=args.threads)
    if args.size < 4 or args.size % 4:
        raise InvdnError(f"--size must be a positive multiple of 4, got {args.size}")
    if any(b < 0 for b in args.blocks):
        raise InvdnError(f"--blocks must be >= 0, got {args.blocks}")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvdnError("--device cuda but torch sees no CUDA device; use --device cpu")

    def progress(r: dict) -> None:
        print(f"  {r['blocks']}+{r['blocks']} blocks, {r['mode']}: {r['peak_memory_mib']:.1f} MiB, "
              f"{r['step_seconds_median']:.3f} s", file=sys.stderr, flush=True)

    machine = machine_info(args.device, args.threads)
    try:
        results = run_benchmark(sorted(set(args.blocks)), progress=progress, batch=args.batch,
                                size=args.size, repeats=args.repeats, width=args.width,
                                device=args.device, seed=args.seed, threads=args.threads)
    except RuntimeError as err:
        raise InvdnError(f"{err}; rerun with smaller --size/--batch/--blocks") from err
    out = save_figure(memory_figure.draw(results, machine), args.output)
    if args.json:
        print(json.dumps({"machine": machine, "results": overheads(results), "figure": str(out)}))
    else:
        print(f"{machine['cpu']}, {machine['cpu_cores']} cores, torch {machine['torch']}, "
              f"torch threads {machine['torch_threads']}, device {machine['device']}")
        print(format_table(results))
        print(f"figure: {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    _check_output(args.output)
    return {"relu-collapse": _relu_collapse, "memory": _memory}[args.experiment](args)
