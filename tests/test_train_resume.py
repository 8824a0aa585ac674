"""Issue 15 items 4 and 6: resuming continues in the run's own folder; no Lightning advert."""

from __future__ import annotations

import csv
import warnings

import torch
from test_train_cli import tiny

from invdn.cli.main import main


def _steps(run_dir) -> list[float]:
    with open(run_dir / "logs" / "metrics.csv", newline="") as f:
        return [float(r["step"]) for r in csv.DictReader(f)]


def test_resume_from_own_last_ckpt_continues_in_the_same_folder(tmp_path, capsys):
    run = tmp_path / "kill"
    assert main(["train", *tiny(run)]) == 0
    first = capsys.readouterr()
    assert "litlogger" not in first.out + first.err  # item 6: no advertising line
    before = _steps(run)
    best_before = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", *tiny(run, "trainer.max_steps=6",
                                    f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}")]) == 0
    out = capsys.readouterr().out
    assert f"run folder: {run}\n" in out and not (tmp_path / "kill-1").exists()
    assert not [w for w in caught if "best_model_score" in str(w.message)
                or "will be deleted" in str(w.message)]
    after = _steps(run)
    assert after[:len(before)] == before and max(after) > max(before)  # appended
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 6
    callback = next(v for k, v in state["callbacks"].items() if "RunCheckpoint" in k)
    # the best score of the first part was reloaded and kept track of
    assert callback["best_model_score"] is not None
    assert float(callback["best_model_score"]) >= float(
        next(v for k, v in best_before["callbacks"].items() if "RunCheckpoint" in k)
        ["best_model_score"])


def test_resume_in_one_word(tmp_path, capsys, monkeypatch):
    run = tmp_path / "runs" / "kill"
    assert main(["train", *tiny(run)]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["train", "resume=runs/kill", "trainer.max_steps=6"]) == 0
    out = capsys.readouterr().out
    assert "runs/kill from step 4" in out and "trained 6 steps" in out
    assert not (tmp_path / "runs" / "kill-1").exists()
    assert main(["train", "resume=runs/nothing"]) == 2
    assert "config.yaml is missing" in capsys.readouterr().err
    assert main(["train", "resume=runs/kill", "model=danet"]) == 2
    assert "only key=value overrides" in capsys.readouterr().err
