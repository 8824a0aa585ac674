"""The Python entry points behave like their commands: `invdn.denoise_files` like
`invdn denoise`, `invdn.resample_files` like `invdn generate`, `invdn.train` like `invdn train`;
option errors are worded by keyword in Python and by flag on the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train_cli import tiny as tiny_overrides

import invdn
from invdn.cli.main import main
from invdn.io.images import write_image

COUNTS = re.compile(r"(\d+) (?:written|images done).*?(\d+) skipped.*?(\d+) failed")


def photo(shape: tuple[int, int, int], dtype=np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    ramp = np.linspace(0.2, 0.8, shape[1])[None, :, None] * np.ones(shape)
    return np.clip((ramp + rng.normal(0, 0.05, shape)) * top, 0, top).astype(dtype)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of two images (8-bit RGB PNG, 16-bit gray TIFF) and one unreadable file."""
    folder = tmp_path / "in"
    write_image(folder / "a.png", photo((20, 28, 3)))
    write_image(folder / "b.tif", photo((24, 16, 1), np.uint16, seed=1))
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def printed_counts(out: str) -> tuple[int, int, int]:
    """(written, skipped, failed) from the line that ends a batch command."""
    match = COUNTS.search(out)
    assert match, out
    return tuple(map(int, match.groups()))


def counts(result) -> tuple[int, int, int]:
    return result.written, result.skipped, result.failed


def test_denoise_files_is_invdn_denoise(tmp_path, inputs, tiny, capsys):
    _, weights = tiny
    options = invdn.DenoiseOptions(samples=2, seed=3, tile=16, overlap=4)
    flags = ["--checkpoint", str(weights), "--samples", "2", "--seed", "3", "--tile", "16",
             "--overlap", "4", "--device", "cpu", "-q"]
    reports: list[str] = []
    for attempt in ("first", "again"):  # the second run skips what the first wrote
        result = invdn.denoise_files([inputs], tmp_path / "lib", checkpoint=weights,
                                     options=options, device="cpu", report=reports.append)
        capsys.readouterr()
        assert main(["denoise", str(inputs), "-o", str(tmp_path / "cli"), *flags]) == 1
        assert counts(result) == printed_counts(capsys.readouterr().out), attempt
    assert counts(result) == (0, 2, 1) and not result.ok
    assert any("broken.png" in line for line in reports)
    lib, cli = files(tmp_path / "lib"), files(tmp_path / "cli")
    assert sorted(lib) == ["a.png", "b.tif"]
    assert lib == cli  # byte for byte


def test_resample_files_is_invdn_generate(tmp_path, inputs, tiny, capsys):
    _, weights = tiny
    options = invdn.ResampleOptions(count=2, samples=1, seed=5, tile=0)
    flags = ["--checkpoint", str(weights), "--count", "2", "--samples", "1", "--seed", "5",
             "--tile", "0", "--device", "cpu", "-q"]
    for attempt in ("first", "again"):
        result = invdn.resample_files([inputs], tmp_path / "lib", checkpoint=weights,
                                      options=options, device="cpu", report=lambda line: None)
        capsys.readouterr()
        assert main(["generate", str(inputs), "-o", str(tmp_path / "cli"), *flags]) == 1
        assert counts(result) == printed_counts(capsys.readouterr().out), attempt
    assert counts(result) == (0, 2, 1)
    lib, cli = files(tmp_path / "lib"), files(tmp_path / "cli")
    assert {"a_clean.png", "a_gen00.png", "a_gen01.png", "a_noise.json", "a_noise.png",
            "b_gen01.tif"} <= set(lib)
    assert lib == cli


def test_train_is_invdn_train(tmp_path, capsys):
    result = invdn.train(invdn.compose_config(tiny_overrides(tmp_path / "lib")))
    assert result.steps == 4 and result.run_dir == tmp_path / "lib"
    assert result.last_psnr is not None and Path(result.best_checkpoint).is_file()
    assert main(["train", *tiny_overrides(tmp_path / "cli")]) == 0
    assert f"trained 4 steps; run folder: {tmp_path / 'cli'}" in capsys.readouterr().out
    # same seed, same weights
    lib, cli = (torch.load(tmp_path / run / "checkpoints" / "last.ckpt", weights_only=True)
                for run in ("lib", "cli"))
    assert lib["global_step"] == cli["global_step"] == 4
    for key, value in lib["state_dict"].items():
        torch.testing.assert_close(value, cli["state_dict"][key], rtol=0, atol=0)


@pytest.mark.parametrize(("call", "argv", "keyword", "flag"), [
    (lambda i, o, w: invdn.denoise_files([i], o, checkpoint=w,
                                         options=invdn.DenoiseOptions(samples=0)),
     ["denoise", "--samples", "0"], "samples=0 must be >= 1", "--samples 0 must be >= 1"),
    (lambda i, o, w: invdn.denoise_files([i], o, checkpoint=w, max_megapixels=0),
     ["denoise", "--max-megapixels", "0"], "max_megapixels=0 must be > 0",
     "--max-megapixels 0 must be > 0"),
    (lambda i, o, w: invdn.resample_files([i], o, checkpoint=w,
                                          options=invdn.ResampleOptions(window=4)),
     ["generate", "--window", "4"], "window=4 must be an odd number >= 1",
     "--window 4 must be an odd number >= 1"),
], ids=["samples", "max_megapixels", "window"])
def test_option_errors_by_keyword_and_by_flag(tmp_path, inputs, tiny, capsys, call, argv,
                                              keyword, flag):
    _, weights = tiny
    with pytest.raises(invdn.OptionError) as err:
        call(inputs, tmp_path / "lib", weights)
    assert str(err.value) == keyword
    command, *options = argv
    code = main([command, str(inputs), "-o", str(tmp_path / "cli"), "--checkpoint", str(weights),
                 *options])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"invdn {command}: error: {flag}"
    assert not (tmp_path / "lib").exists() and not (tmp_path / "cli").exists()


def test_import_invdn_does_not_import_torch():
    code = "import sys, invdn; print(sorted({'torch', 'lightning', 'numpy'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_every_public_name_resolves_to_its_home():
    import importlib

    for name in invdn.__all__:
        assert getattr(invdn, name) is not None, name
    for name, module in invdn._LAZY.items():
        assert getattr(invdn, name) is getattr(importlib.import_module(module), name), name
    with pytest.raises(AttributeError):
        invdn.no_such_entry_point  # noqa: B018


def test_option_errors_survive_pickling():
    # errors raised in worker processes (prepare sidd, data loaders) reach the CLI pickled
    import pickle

    from invdn.checks import ConfigError

    for err in (invdn.OptionError("crop", 24, "is larger than a.png (16x16); lower it"),
                ConfigError("seed", "abc", "must be an integer >= 0")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        assert back.as_flag() == err.as_flag()
