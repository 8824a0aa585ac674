"""`invdn train`: Hydra composition, config errors, end-to-end runs and exact resume."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from invdn.cli.main import main
from invdn.io.weights import load_model
from invdn.training.config import compose_config, config_options, instantiate
from invdn.training.run import summary, train

TINY_INVDN = ("model.blocks=[1,1]", "model.width=8")


def tiny(run_dir: Path, *extra: str, model: tuple[str, ...] = TINY_INVDN) -> list[str]:
    """Overrides for a seconds-long run: tiny model, 16² patches, 2-step epochs."""
    return [f"run_dir={run_dir}", *model, "data.patch_size=16", "data.batch_size=2",
            "data.samples_per_epoch=4", "data.num_workers=0", "data.val_crop=32", "trainer.max_steps=4",
            "trainer.log_every_n_steps=1", "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false", "system.preview_images=1", *extra]


def test_groups_and_defaults():
    assert {"invdn", "invdn_small", "danet"} <= set(config_options("model"))
    assert {"cpu", "gpu", "ddp"} <= set(config_options("trainer"))
    assert {"csv", "tensorboard"} <= set(config_options("logger"))
    assert {"sidd_paper", "quick"} <= set(config_options("experiment"))
    cfg = compose_config()
    assert cfg.data._target_ == "invdn.data.SyntheticDataModule"
    assert cfg.trainer.accelerator == "cpu" and cfg.trainer.gradient_clip_val == 10
    assert cfg.run_dir.startswith("runs/")


def test_paper_experiment_values():
    cfg = compose_config(["experiment=sidd_paper"])
    assert cfg.data._target_ == "invdn.data.SIDDDataModule"
    assert (cfg.data.patch_size, cfg.data.batch_size) == (144, 28)
    assert cfg.model.blocks == [8, 8] and cfg.model.width == 64
    opt, sched = cfg.system.optimizer, cfg.system.scheduler
    assert cfg.system.lr == 2e-4 and opt._target_ == "torch.optim.Adam"
    assert list(opt.betas) == [0.9, 0.999] and opt.weight_decay == 1e-8 and sched.gamma == 0.5
    assert list(sched.milestones) == [100000, 200000, 300000, 400000, 500000]
    assert cfg.trainer.max_steps == 600000 and cfg.trainer.gradient_clip_val == 10
    assert (cfg.loss.lambda_forw, cfg.loss.lambda_back) == (16, 1)
    assert cfg.trainer.precision == "bf16-mixed"
    ddp = compose_config(["experiment=sidd_paper", "trainer=ddp", "trainer.num_nodes=2"])
    assert ddp.trainer.strategy == "ddp" and ddp.trainer.num_nodes == 2
    assert ddp.data.batch_size == 28  # the experiment keeps its values under another trainer


def test_memory_efficient_key_reaches_the_model():
    cfg = compose_config(["model=invdn", "model.memory_efficient=true"])
    assert instantiate(cfg, "model").memory_efficient is True


def test_cfg_prints_the_config(capsys):
    assert main(["train", "--cfg", "model=danet", "trainer.max_steps=7"]) == 0
    printed = OmegaConf.create(capsys.readouterr().out)
    assert printed.model._target_ == "invdn.nn.DANetDenoiser"
    assert printed.trainer.max_steps == 7


ERRORS = [
    (["model=foo"], "unknown model 'foo'; choose model= one of: danet, invdn, invdn_small"),
    (["data=nope"], "unknown data 'nope'"),
    (["system.lr=-1"], "system.lr=-1 must be a number > 0"),
    (["data.patch_size=30"], "data.patch_size=30 must be a positive multiple of 4"),
    (["data=sidd"], "data.root is not set"),
    (["system.lrr=1"], "unknown config key 'system.lrr'"),
    (["trainer.max_steps=0"], "trainer.max_steps=0 must be an integer >= 1"),
    (["model.width=0"], "model: width must be >= 1, got 0"),
    (["loss.reconstruction=huber"], "loss.reconstruction must be one of"),
    (["system/scheduler=warmup_cosine", "system.scheduler.warmup_steps=5000"],
     "system.scheduler.warmup_steps=5000 must be below system.scheduler.total_steps=600"),
    (["system.optimizer._target_=torch.optim.Nope"], "system.optimizer: "),
    (["ckpt_path=/nonexistent/last.ckpt"], "ckpt_path=/nonexistent/last.ckpt is not a file"),
    (["trainer.precision=17"], "trainer: "),
    (["seed=abc"], "seed='abc' must be an integer >= 0"),
    (["model.blocks=="], "cannot parse override"),
]
if not torch.cuda.is_available():
    ERRORS.append((["trainer=gpu"], "trainer.accelerator=gpu needs a CUDA GPU"))
try:
    import tensorboard  # noqa: F401
except ImportError:
    ERRORS.append((["logger=tensorboard"], "pip install 'invdn[tensorboard]'"))


@pytest.mark.parametrize(("overrides", "message"), ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_config_errors_are_one_line(tmp_path, capsys, overrides, message):
    code = main(["train", f"run_dir={tmp_path / 'run'}", *overrides])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("invdn train: error: ") and "\n" not in err, err
    assert message in err
    assert not (tmp_path / "run").exists()  # nothing written for a rejected config


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "invdn.cli.main", "train", "model=foo"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_end_to_end_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", *tiny(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"run folder: {run_dir}" in out and "noisy input" in out
    for name in ("config.yaml", "logs/metrics.csv", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                 "previews/step_0000002.png", "previews/step_0000004.png"):
        assert (run_dir / name).is_file(), name
    saved = OmegaConf.load(run_dir / "config.yaml")
    assert saved.run_dir == str(run_dir) and saved.logger.csv.save_dir == str(run_dir)
    model = load_model(run_dir / "checkpoints" / "last.ckpt")
    assert model.blocks == [1, 1]
    header = (run_dir / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val/psnr", "val/ssim", "val/psnr_noisy", "train/loss", "train/forw"} <= set(header)

    # The same run folder again: a fresh sibling folder, the first run is left alone.
    assert main(["train", *tiny(run_dir, "trainer.max_steps=2")]) == 0
    assert f"run folder: {run_dir}-1" in capsys.readouterr().out


def test_baseline_run(tmp_path):
    cfg = compose_config(tiny(tmp_path / "run", "loss.reconstruction=l1",
                              model=("model=danet", "model.wf=4", "model.depth=2")))
    result = train(cfg)
    assert result.steps == 4 and result.last_psnr is not None
    assert "validation PSNR" in summary(result)
    assert type(load_model(result.best_checkpoint)).__name__ == "DANetDenoiser"


def test_resume_equals_uninterrupted(tmp_path):
    full = train(compose_config(tiny(tmp_path / "full", "trainer.max_steps=6")))
    half = train(compose_config(tiny(tmp_path / "half")))
    assert half.steps == 4
    resumed = train(compose_config(tiny(
        tmp_path / "resumed", "trainer.max_steps=6",
        f"ckpt_path={tmp_path / 'half' / 'checkpoints' / 'last.ckpt'}")))
    assert resumed.steps == full.steps == 6
    a, b = full.system.model.state_dict(), resumed.system.model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    state = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 6
    assert state["lr_schedulers"][0]["last_epoch"] == 6


def test_a_run_ending_between_validations_still_saves_its_final_weights(tmp_path):
    # 2 steps per epoch: the run stops at step 5, mid-epoch, after the validation of step 4
    result = train(compose_config(tiny(tmp_path / "run", "trainer.max_steps=5")))
    assert result.steps == 5
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 5
    final = result.system.model.state_dict()
    for key, value in final.items():
        torch.testing.assert_close(state["state_dict"]["model." + key], value, rtol=0, atol=0)
    best = torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt", weights_only=True)
    assert best["global_step"] == 4  # best still follows validations only
