"""Wrong configuration values and command-line arguments fail before any work, with one line
naming the key or option and what it accepts; full tracebacks only on request."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from invdn.cli.main import main
from invdn.errors import InvdnError
from invdn.io.images import write_image
from invdn.io.weights import save_weights
from invdn.nn import InvDN
from invdn.training.config import compose_config
from invdn.training.run import train

TINY = ["model.blocks=[1,1]", "model.width=8", "data.patch_size=16", "data.batch_size=2",
        "data.samples_per_epoch=4", "data.num_workers=0", "data.val_crop=32",
        "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An image, tiny invdn weights, a text file and a 1-step `invdn train` checkpoint."""
    root = tmp_path_factory.mktemp("args")
    write_image(root / "a.png", np.zeros((16, 16, 3), np.uint8))
    save_weights(InvDN(blocks=(1, 1), width=8), root / "tiny.pt")
    (root / "text.txt").write_text("not a checkpoint")
    train(compose_config([f"run_dir={root / 'run'}", *TINY, "trainer.max_steps=1"]))
    return root


def one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"invdn {command}: error: "), err
    return err


TRAIN_ERRORS = [
    (["run_dir={root}/text.txt/run"], "run_dir={root}/text.txt/run: cannot create the run folder "
                                      "(Not a directory)"),
    (["ckpt_path={root}/text.txt"], "ckpt_path={root}/text.txt is not a readable checkpoint"),
    (["ckpt_path={root}/tiny.pt"], "ckpt_path={root}/tiny.pt is not an `invdn train` checkpoint"),
    (["ckpt_path={root}/run/checkpoints/last.ckpt", "model.width=16"],
     "was trained with another model; resume with its settings: model.width=8"),
    (["model.blocks=[0,0]"], "system: the model has no trainable parameters"),
    (["data=sidd", "data.root={root}/nowhere"], "SIDD folder {root}/nowhere does not exist"),
    (["data=folders"], "data.noisy is not set; pass data.noisy="),
    (["trainer.accelerator=tpu"],
     "trainer.accelerator='tpu' must be one of auto, cpu, gpu, cuda, mps"),
    (["callbacks.checkpoint.save_last_every_n_steps=-1"],
     "callbacks.checkpoint.save_last_every_n_steps=-1 must be an integer >= 0"),
    (["data.patch_size=18"], "data.patch_size=18 must be a positive multiple of 4"),
]


@pytest.mark.parametrize(("overrides", "message"), TRAIN_ERRORS,
                         ids=[" ".join(e[0]) for e in TRAIN_ERRORS])
def test_train_errors(files, tmp_path, capsys, overrides, message):
    run_dir = tmp_path / "new-run"
    overrides = [o.format(root=files) for o in overrides]
    code = main(["train", *TINY, f"run_dir={run_dir}", *overrides])
    err = one_line_error(capsys, "train")
    assert code == 2 and message.format(root=files) in err
    assert not run_dir.exists()  # nothing was written


def test_full_traceback_only_on_request(files, tmp_path):
    with pytest.raises(InvdnError, match="not a readable checkpoint") as info:
        main(["--verbose", "train", f"run_dir={tmp_path / 'r'}", f"ckpt_path={files}/text.txt"])
    assert info.value.__cause__ is not None  # the original error stays attached
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run([sys.executable, "-m", "invdn.cli.main", "train", "model=foo"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 1 and "Traceback" in proc.stderr
    assert "MissingConfigException" in proc.stderr  # Hydra's own error, kept as the cause


def denoise_args(files, out, *extra):
    return ["denoise", str(files / "a.png"), "-o", str(out), "--checkpoint",
            str(files / "tiny.pt"), *map(str, extra)]


def evaluate_args(files, out, *extra):
    return ["evaluate", "--noisy-dir", str(files), "--clean-dir", str(files), "-o", str(out),
            "--checkpoint", str(files / "tiny.pt"), *map(str, extra)]


ARG_ERRORS = [
    (["--tile", -4], "--tile -4 must be >= 0 (0 disables tiling)"),
    (["--tile", 30, "--overlap", 8], "--tile 30 must be a multiple of 4, this network's size "
                                     "multiple (0 disables tiling); e.g. --tile 32"),
    (["--samples", 0], "--samples 0 must be >= 1"),
    (["--device", "cuda"], "--device cuda requested but CUDA is not available"),
    (["--device", "tpu"], "--device 'tpu' is unknown; use auto, cpu, cuda, cuda:N or mps"),
    (["--seed", -1], "--seed -1 must be >= 0"),
    (["--tile", 16, "--overlap", 12], "--overlap 12 must be in 0..8 (half the tile 16)"),
]


@pytest.mark.parametrize("command", ["denoise", "evaluate"])
@pytest.mark.parametrize(("extra", "message"), ARG_ERRORS, ids=[" ".join(map(str, e[0]))
                                                                for e in ARG_ERRORS])
def test_model_option_errors(files, tmp_path, capsys, monkeypatch, command, extra, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out"
    build = denoise_args if command == "denoise" else evaluate_args
    assert main(build(files, out, *extra)) == 2
    assert message in one_line_error(capsys, command)
    assert not out.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (lambda f, o: denoise_args(f, o, "--max-megapixels", -1), "--max-megapixels -1 must be > 0"),
    (lambda f, o: evaluate_args(f, o)[:2] + [str(f / "nowhere")] + evaluate_args(f, o)[3:],
     "--noisy-dir {root}/nowhere is not a folder; pass a folder of images"),
    (lambda f, o: ["evaluate", "--noisy-dir", str(f), "-o", str(o)],
     "--noisy-dir and --clean-dir go together"),
], ids=["max-megapixels", "missing folder", "one folder"])
def test_other_argument_errors(files, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    command = argv(files, out)[0]
    assert main(argv(files, out)) == 2
    assert message.format(root=files) in one_line_error(capsys, command)
    assert not out.exists()
