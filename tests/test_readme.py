"""README.md stays true: short, its links resolve, and every command and code block in it runs
(the `invdn` commands for real in a scratch folder, `pip install` lines against pyproject.toml
and .ci/run, which performs them)."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from invdn.cli.main import main
from invdn.io.images import write_image

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)


def commands() -> list[list[str]]:
    """Every command line of the README's bash blocks, as argv (comments dropped)."""
    return [shlex.split(line, comments=True) for block in code_blocks("bash")
            for line in block.splitlines() if shlex.split(line, comments=True)]


INVDN = [c for c in commands() if c[0] == "invdn" and c[1] != "serve"]
SERVE = [c for c in commands() if c[:2] == ["invdn", "serve"]]
PIP = [c for c in commands() if c[:2] == ["pip", "install"]]


def test_short_with_the_main_job_on_the_first_screen():
    lines = TEXT.splitlines()
    assert len(lines) <= 200
    first = "\n".join(lines[:45])
    for needed in ("![", "pip install", "invdn denoise photo.jpg", "invdn serve", "| BM3D",
                   "CBSD68"):
        assert needed in first, needed


def test_every_command_is_checked_below():
    checked = INVDN + SERVE + PIP + [["python", "-m", "pytest", "-q"]]
    assert sorted(map(tuple, commands())) == sorted(set(map(tuple, checked)))
    assert INVDN and SERVE and PIP


def test_links_resolve():
    for target in re.findall(r"\]\(([^)\s]+)\)", TEXT):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        page = ROOT / path if path else ROOT / "README.md"
        assert page.exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
                     for h in headings}
            assert anchor in slugs, f"{target}: no heading for #{anchor}"


def test_pip_commands_are_what_ci_installs():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for argv in PIP:
        for spec in argv[2:]:
            if spec == "-e":
                continue
            if spec.startswith("."):  # this checkout, with extras
                names = re.fullmatch(r"\.(?:\[([\w,]+)\])?", spec).group(1) or ""
                assert set(filter(None, names.split(","))) <= set(extras), spec
            else:  # a pinned requirement CI installs the same way
                assert f"pip install -q {spec}" in CI, spec


def test_the_test_command_is_the_one_ci_runs():
    assert "\npython -m pytest -q\n" in CI
    assert ["python", "-m", "pytest", "-q"] in commands()


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A working folder with the files the README's commands name."""
    rng = np.random.default_rng(0)

    def photo(h: int, w: int) -> np.ndarray:
        ramp = np.linspace(40, 200, w)[None, :, None] * np.ones((h, w, 3))
        return np.clip(ramp + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)

    write_image(tmp_path / "photo.jpg", photo(48, 64))
    write_image(tmp_path / "shots" / "a.png", photo(40, 40))
    write_image(tmp_path / "shots" / "b.jpg", photo(36, 52))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


def files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("argv", INVDN, ids=[" ".join(c) for c in INVDN])
def test_invdn_commands_run(scratch, argv, capsys):
    before = files(scratch)
    assert main(argv[1:]) == 0, capsys.readouterr().err
    new = files(scratch) - before
    assert any(p.suffix in (".png", ".jpg") for p in new), f"{' '.join(argv)} wrote {new}"
    if argv[1] == "denoise":  # one output per input, named like it, in -o (or denoised/)
        out = argv[argv.index("-o") + 1] if "-o" in argv else "denoised"
        inputs = [Path(a) for a in argv[2:] if (scratch / a).exists() and a not in (out,)]
        names = {p.name for i in inputs for p in ([i] if i.is_file() else i.iterdir())}
        assert {p.name for p in new} == names and all(p.parts[0] == out.strip("/") for p in new)


def test_serve_command_serves(scratch):
    pytest.importorskip("fastapi")
    from test_serve_process import running_server

    for argv in SERVE:
        # the README's command as it is; the helper adds only --port 0 (a free port)
        with running_server(argv[2:], scratch / "srv") as (url, _proc, _log):
            assert url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(url + "health", timeout=10) as r:
                assert r.status == 200


@pytest.mark.parametrize("block", code_blocks("python"))
def test_python_blocks_run(scratch, block, capsys):
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    assert (scratch / "denoised" / "photo.jpg").is_file()
    assert "1 written, 0 failed" in capsys.readouterr().out
    assert os.getcwd() == str(scratch)
