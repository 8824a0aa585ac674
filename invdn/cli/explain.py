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
from pathlib import Path

from invdn.cli.common import info

HELP = "figures and numbers behind InvDN's design (ReLU collapse, reversible memory)"


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


def run(args: argparse.Namespace) -> int:
    from invdn.analysis.explain import explain_memory, explain_relu_collapse

    if args.experiment == "relu-collapse":
        result = explain_relu_collapse(args.output, args.dims, args.trials, args.points,
                                       args.seed)
    else:
        result = explain_memory(args.output, args.blocks, args.batch, args.size, args.width,
                                args.repeats, args.device, args.threads, args.seed,
                                progress=info)
    print(result.json() if args.json else result.text)
    return 0
