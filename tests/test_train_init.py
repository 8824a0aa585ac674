"""`invdn train init_weights=FILE`: a new run (step 0, fresh optimizer) from trained weights."""

from __future__ import annotations

import torch
from test_train_cli import tiny

from invdn.cli.main import main
from invdn.io.weights import load_model
from invdn.training.config import compose_config
from invdn.training.run import train


def test_init_weights_starts_a_new_run_from_the_weights(tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["train", *tiny(first)]) == 0
    last = first / "checkpoints" / "last.ckpt"
    trained = load_model(last).state_dict()
    # A learning rate so small that one step leaves the loaded weights where they were.
    cfg = compose_config(tiny(tmp_path / "second", f"init_weights={last}", "trainer.max_steps=1",
                              "system.lr=1e-12", "system/scheduler=constant"))
    result = train(cfg)
    assert result.steps == 1 and result.run_dir == tmp_path / "second"
    for key, value in result.system.model.state_dict().items():
        torch.testing.assert_close(value, trained[key], atol=1e-6, rtol=0, msg=key)
    state = torch.load(result.run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 1  # counted from zero: not a resume
    capsys.readouterr()


def test_a_run_started_from_weights_resumes_in_one_word(tmp_path, capsys):
    # resume= continues from the run's checkpoint; the init_weights in its saved config are
    # where it started, not a second source of weights
    first = tmp_path / "first"
    assert main(["train", *tiny(first)]) == 0
    last = first / "checkpoints" / "last.ckpt"
    run = tmp_path / "second"
    assert main(["train", *tiny(run, f"init_weights={last}")]) == 0
    capsys.readouterr()
    assert main(["train", f"resume={run}", "trainer.max_steps=6"]) == 0
    out = capsys.readouterr().out
    assert "from step 4" in out and "trained 6 steps" in out


def test_init_weights_errors_name_the_key(tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["train", *tiny(first)]) == 0
    last = first / "checkpoints" / "last.ckpt"
    capsys.readouterr()
    assert main(["train", *tiny(tmp_path / "a", f"init_weights={tmp_path / 'nope.pt'}")]) == 2
    assert "init_weights=" in capsys.readouterr().err
    assert main(["train", *tiny(tmp_path / "b", f"init_weights={last}",
                                f"ckpt_path={last}")]) == 2
    assert "pick one" in capsys.readouterr().err
    # another width: the first mismatching key and both shapes
    assert main(["train", *tiny(tmp_path / "c", f"init_weights={last}",
                                model=("model.blocks=[1,1]", "model.width=4"))]) == 2
    err = capsys.readouterr().err
    assert "init_weights=" in err and "shape" in err and err.count("\n") == 1


def test_channels_last_training_with_ema(tmp_path, capsys):
    # The EMA deep-copies the system, including its channels_last wrapper of the model.
    assert main(["train", *tiny(tmp_path / "run", "system.channels_last=true",
                                "callbacks.ema.decay=0.9")]) == 0
    assert "trained 4 steps" in capsys.readouterr().out
