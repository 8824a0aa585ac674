"""Imports go downwards, and a command module only parses, calls its library function and
prints (docs/architecture.md, "Layers" and "Commands are library functions")."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from invdn.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "invdn"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) of every `import` / `from … import` in `path`, at any depth (name None
    for a plain `import module`); relative imports resolved against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found += [(module, alias.name) for alias in node.names]
    return found


def project_imports(folder: str) -> dict[str, set[str]]:
    """`invdn…` modules imported by each file under invdn/<folder>."""
    return {str(p.relative_to(ROOT)): {m for m, _ in imports(p) if m.split(".")[0] == "invdn"}
            for p in sorted((PACKAGE / folder).rglob("*.py"))}


def offenders(folder: str, allowed: tuple[str, ...]) -> dict[str, list[str]]:
    def ok(module: str) -> bool:
        return any(module == a or module.startswith(a + ".") for a in allowed)

    return {path: sorted(m for m in found if not ok(m))
            for path, found in project_imports(folder).items() if any(not ok(m) for m in found)}


def test_the_network_imports_nothing_above_it():
    # not even invdn.io (weights files, images): only the modules below everything
    assert offenders("nn", ("invdn.nn", "invdn.errors", "invdn.checks", "invdn.tensorfile")) == {}


def test_data_does_not_import_training_or_what_uses_a_trained_network():
    banned = ("invdn.training", "invdn.inference", "invdn.evaluation", "invdn.app", "invdn.cli")
    found = {path: sorted(m for m in modules if m.startswith(banned))
             for path, modules in project_imports("data").items()}
    assert {p: m for p, m in found.items() if m} == {}


def test_the_checker_finds_an_upward_import(tmp_path, monkeypatch):
    # the checks above can fail: a network module importing the inference package is caught
    fake = tmp_path / "invdn" / "nn"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from invdn.inference.pipeline import Denoiser\n"
                                 "from . import haar\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "invdn")
    assert offenders("nn", ("invdn.nn",)) == {"invdn/nn/bad.py": ["invdn.inference.pipeline"]}


CLI = PACKAGE / "cli"
SHARED = "invdn.cli.common"


def command_modules() -> dict[str, Path]:
    return {name: ROOT / (module.replace(".", "/") + ".py") for name, module in COMMANDS.items()}


def row(command: str) -> str:
    """The library column of `command`'s row in the architecture doc's table."""
    match = re.search(rf"^\| `invdn {command}` \| (.+) \|$", DOC, re.MULTILINE)
    assert match, f"docs/architecture.md has no row for `invdn {command}`"
    return match.group(1)


def test_every_command_module_is_a_cli_module_and_has_a_row():
    assert set(command_modules().values()) <= set(CLI.glob("*.py"))
    for command in COMMANDS:
        row(command)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_calls_only_its_library_function(command):
    path = command_modules()[command]
    allowed = set(re.findall(r"`(?:invdn\.)?(\w+)", row(command)))
    library = {name for module, name in imports(path)
               if module.startswith("invdn.") and not module.startswith("invdn.cli.")
               and module != "invdn.errors"}
    assert library <= allowed, (f"{path.name} imports {sorted(library - allowed)} from the "
                                f"library; its row allows {sorted(allowed)}")
    entry = re.match(r"`invdn\.(\w+)`", row(command)).group(1)
    import invdn

    assert entry in invdn._LAZY, f"invdn.{entry} is not public"
    assert entry in library, f"{path.name} does not call invdn.{entry}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_leaves_the_checks_to_the_library(command):
    # a check raises; the command module has none (argparse's choices and types aside)
    tree = ast.parse(command_modules()[command].read_text(encoding="utf-8"))
    raises = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Raise)]
    assert raises == [], f"invdn/cli/{command}.py raises at lines {raises}"


def test_cli_modules_share_only_the_common_module():
    for path in sorted(CLI.glob("*.py")):
        if path.name == "main.py":  # the entry point loads the commands by name
            continue
        for module, name in imports(path):
            if module.startswith("invdn.cli"):
                assert module == SHARED, f"{path.name} imports {module}"
                assert name is None or not name.startswith("_"), f"{path.name} imports {name}"
