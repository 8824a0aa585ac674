"""`invdn` entry point: dispatches to one module per subcommand.

A subcommand module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`,
which calls one library function and prints; where a library keyword's flag is not its plain
spelling, the module's `FLAGS` maps it (`read_timeout_s` → `--read-timeout`), and errors
(`OptionError`, worded by keyword) are worded here with the flags. Command modules import nothing
heavy at module level (torch and the library are imported inside `run`), and only the chosen
command's `add_arguments` runs, so `invdn --help` and `invdn COMMAND --help` never import torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from invdn.errors import InvdnError, OptionError

COMMANDS = {
    "info": "invdn.cli.info",
    "demo": "invdn.cli.demo",
    "prepare": "invdn.cli.prepare",
    "denoise": "invdn.cli.denoise",
    "export": "invdn.cli.export",
    "compare": "invdn.cli.compare",
    "evaluate": "invdn.cli.evaluate",
    "generate": "invdn.cli.generate",
    "train": "invdn.cli.train",
    "explain": "invdn.cli.explain",
    "serve": "invdn.cli.serve",
}


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in `argv` (the first word that is one), if any."""
    return next((a for a in argv if a in COMMANDS), None)


class _VersionAction(argparse.Action):
    """`--version`: the installed version, looked up (importlib.metadata) only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the version and exit") -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from invdn import __version__

        print(f"invdn {__version__}")
        parser.exit()


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The `invdn` parser; the arguments of only the command named in `argv` (all of them when
    `argv` is None) are declared, which keeps the top-level help free of heavy imports."""
    parser = argparse.ArgumentParser(
        prog="invdn", description="Real-world image denoising with an invertible network (InvDN)."
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--verbose", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = None if argv is None else _chosen_command(argv)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if argv is None or name == chosen:
            module.add_arguments(p)
            p.set_defaults(_run=module.run, _flags=getattr(module, "FLAGS", {}))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    verbose = args.verbose or os.environ.get("HYDRA_FULL_ERROR") == "1"
    try:
        return int(args._run(args) or 0)
    except InvdnError as err:
        if verbose:
            raise
        # library errors name options as Python keys; here they are flags (train's are keys)
        flag = isinstance(err, OptionError) and args.command != "train"
        text = err.as_flag(args._flags) if flag else err
        print(f"invdn {args.command}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"invdn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
