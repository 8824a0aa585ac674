"""Training survives faults: SIGKILL mid-epoch, crashes during checkpoint saves, NaN losses,
SIGINT/SIGTERM. Runs are tiny (21k-parameter InvDN, 16² patches, CPU, num_workers=0)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from invdn.cli.main import main
from invdn.data.sampling import EpochSampler
from invdn.errors import InvdnError
from invdn.training.checkpointing import AtomicCheckpointIO, RunCheckpoint
from invdn.training.config import compose_config, instantiate
from invdn.training.run import train

TESTS = Path(__file__).resolve().parent
MAX_STEPS = 10


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Runs here and in the subprocesses use one thread: bit-exact comparisons then hold, and
    tiny models train far faster on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(run_dir: Path, *extra: str) -> list[str]:
    """4-step epochs (validation + last.ckpt after each), last.ckpt also every 3 steps."""
    return [f"run_dir={run_dir}", "model.blocks=[1,1]", "model.width=8", "data.patch_size=16",
            "data.batch_size=2", "data.samples_per_epoch=8", "data.num_workers=0",
            "data.val_crop=32", f"trainer.max_steps={MAX_STEPS}", "trainer.log_every_n_steps=1",
            "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
            "system.preview_images=0", "callbacks.checkpoint.save_last_every_n_steps=3", *extra]


def weights(result) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result.system.model.state_dict().items()}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def slow(marker: Path | None = None, seconds: float = 1.0, mark_at: int = 1) -> list[str]:
    extra = ["+callbacks.slow._target_=faultkit.Slow", f"+callbacks.slow.seconds={seconds}",
             f"+callbacks.slow.mark_at={mark_at}"]
    return extra + ([f"+callbacks.slow.marker={marker}"] if marker else [])


def start_training(overrides: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env.pop("INVDN_RUN_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "invdn.cli.main", "train", *overrides],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"training ended before {path} appeared:\n{proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Final weights of the run every interrupted-and-resumed run must reproduce."""
    result = train(compose_config(tiny(tmp_path_factory.mktemp("full") / "run")))
    assert result.steps == MAX_STEPS
    return weights(result)


def resume(run_dir: Path, checkpoint: Path) -> dict[str, torch.Tensor]:
    result = train(compose_config(tiny(run_dir, f"ckpt_path={checkpoint}")))
    assert result.steps == MAX_STEPS
    return weights(result)


# ---------------------------------------------------------------- SIGKILL and exact resume

def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    run = tmp_path / "killed"
    last = run / "checkpoints" / "last.ckpt"
    # Slow steps from step 3 keep the run alive after its first periodic last.ckpt (step 3 of
    # the 4-step epoch).
    proc = start_training(tiny(run, *slow(seconds=1.0, mark_at=3)), tmp_path)
    wait_for(last, proc)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    state = torch.load(last, weights_only=True)
    assert 0 < state["global_step"] < MAX_STEPS
    assert state["SyntheticDataModule"]["train_position"]["batches_done"] % 4 != 0  # mid-epoch
    assert not list(last.parent.glob(".last.*.ckpt"))
    assert_same(resume(tmp_path / "resumed", last), uninterrupted)


def test_sampler_shards_ranks_and_resumes_mid_epoch():
    data = range(20)
    ranks = [EpochSampler(data, batch_size=3, seed=5, num_replicas=2, rank=r) for r in (0, 1)]
    for s in ranks:
        s.set_epoch(2)
    a, b = list(ranks[0]), list(ranks[1])
    assert len(a) == len(b) == len(ranks[0]) == 9 and not set(a) & set(b)
    assert all(40 <= i < 60 for i in a + b)  # epoch 2 numbers its samples from 2 * 20
    ranks[0].batches_done = 2
    assert ranks[0].state_dict() == {"epoch": 2, "batches_done": 2}
    again = EpochSampler(data, batch_size=3, seed=5, num_replicas=2, rank=0)
    again.load_state_dict(ranks[0].state_dict())
    assert list(again) == a[6:]
    again.batches_done = 3  # a finished epoch points at the next one
    assert again.state_dict() == {"epoch": 3, "batches_done": 0}


def test_batches_do_not_depend_on_workers_or_global_seed():
    from invdn.data import SyntheticDataModule

    def first(workers, global_seed):
        torch.manual_seed(global_seed)
        dm = SyntheticDataModule(patch_size=16, batch_size=2, samples_per_epoch=4,
                                 num_workers=workers, val_crop=16)
        dm.setup("fit")
        return next(iter(dm.train_dataloader()))["noisy"]

    torch.testing.assert_close(first(0, 1), first(2, 2), rtol=0, atol=0)


# ---------------------------------------------------------------- atomic checkpoint writes

def test_atomic_save_keeps_the_old_checkpoint_when_a_write_fails(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1, "w": torch.arange(4.0)}, path)
    io.save_checkpoint({"step": 2, "w": torch.arange(4.0)}, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]  # no temp files

    def torn_write(obj, tmp):
        Path(tmp).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("invdn.training.checkpointing.torch.save", torn_write)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"step": 3}, path)
    assert torch.load(path, weights_only=True)["step"] == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


KILLED_SAVE = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    import torch
    import invdn.training.checkpointing as ck

    path, marker = Path(sys.argv[1]), Path(sys.argv[2])
    io = ck.AtomicCheckpointIO()
    io.save_checkpoint({"step": 1, "w": torch.ones(1000)}, path)

    def slow_write(obj, tmp):
        with open(tmp, "wb") as f:
            f.write(b"PK\\x03\\x04 the first half")
            f.flush()
            marker.touch()
            time.sleep(60)

    ck.torch.save = slow_write
    io.save_checkpoint({"step": 2}, path)
''')


def test_sigkill_during_a_save_leaves_the_previous_checkpoint(tmp_path):
    path, marker = tmp_path / "last.ckpt", tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path), str(marker)],
                            stderr=subprocess.PIPE, text=True)
    wait_for(marker, proc, timeout=60)
    proc.kill()
    proc.communicate(timeout=30)
    state = torch.load(path, weights_only=True)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(1000))
    stale = list(tmp_path.glob(".last.*.ckpt"))
    assert len(stale) == 1  # a kill cannot clean up; the next save does
    AtomicCheckpointIO().save_checkpoint({"step": 3}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt", "writing"]


def test_train_uses_the_atomic_plugin_and_checks_the_frequency(tmp_path):
    cfg = compose_config(tiny(tmp_path / "run"))
    callback = instantiate(cfg, "callbacks.checkpoint")
    assert isinstance(callback, RunCheckpoint) and callback.save_last_every_n_steps == 3
    with pytest.raises(InvdnError, match="save_last_every_n_steps=-1 must be an integer >= 0"):
        instantiate(compose_config(["callbacks.checkpoint.save_last_every_n_steps=-1"]),
                    "callbacks.checkpoint")
    result = train(compose_config(tiny(tmp_path / "run", "trainer.max_steps=3")))
    assert isinstance(result.system.trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt",
                      weights_only=True)["global_step"] == 3


# ---------------------------------------------------------------- non-finite losses

def nan_data(*extra: str) -> list[str]:
    return ["data._target_=faultkit.NaNData", *extra]


def test_a_nan_step_is_skipped_with_a_warning(tmp_path):
    overrides = tiny(tmp_path / "run", *nan_data("+data.nan_steps=[5]"), "trainer.max_steps=7",
                     "+callbacks.probe._target_=faultkit.StepProbe", "+callbacks.probe.step=5")
    with pytest.warns(UserWarning, match="step 5: loss is nan; step skipped \\(1 in a row"):
        result = train(compose_config(overrides))
    assert result.steps == 7
    probe = next(c for c in result.system.trainer.callbacks if type(c).__name__ == "StepProbe")
    assert_same(probe.before, probe.after)  # the skipped step changed nothing
    assert all(torch.isfinite(v).all() for v in weights(result).values())


def test_consecutive_nan_steps_stop_the_run_and_keep_the_last_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    last = run / "checkpoints" / "last.ckpt"
    code = main(["train", *tiny(run, *nan_data("+data.nan_from=4"),
                                "system.max_nonfinite_steps=2")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert err.startswith("invdn train: error: loss not finite for 2 steps in a row (steps 4-5)")
    assert f"last good checkpoint: {last};" in err
    state = torch.load(last, weights_only=True)
    assert state["global_step"] == 4
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())


def test_max_nonfinite_steps_is_checked(tmp_path, capsys):
    assert main(["train", *tiny(tmp_path / "run", "system.max_nonfinite_steps=0")]) == 2
    assert "system.max_nonfinite_steps=0 must be an integer >= 1" in capsys.readouterr().err


# ---------------------------------------------------------------- SIGINT / SIGTERM

def test_sigint_saves_then_exits_and_the_checkpoint_resumes(tmp_path, uninterrupted):
    """(SIGTERM takes the same path; the DDP test below sends it.)"""
    signum = signal.SIGINT
    run, marker = tmp_path / "run", tmp_path / "step5"
    proc = start_training(tiny(run, *slow(marker, mark_at=5)), tmp_path)
    wait_for(marker, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err[-3000:]
    message = err.strip().splitlines()[-1]
    last = run / "checkpoints" / "last.ckpt"
    assert message.startswith(f"invdn train: stopped by {signum.name} at step ")
    assert f"saved {last} (resume with ckpt_path={last})" in message
    assert "Traceback" not in err
    step = int(message.split(" at step ")[1].split(";")[0])
    assert 5 <= step < MAX_STEPS
    assert torch.load(last, weights_only=True)["global_step"] == step
    assert_same(resume(tmp_path / "resumed", last), uninterrupted)


# ---------------------------------------------------------------- DDP: ranks decide together

def test_ddp_ranks_skip_a_nan_together_and_stop_together_on_one_signal(tmp_path):
    """Rank 1 alone sees a NaN at step 1; rank 0 alone gets SIGTERM at step 3. Both ranks skip
    the same step, stop after the same step, and hold the same weights."""
    run, marker = tmp_path / "run", tmp_path / "step3"
    overrides = [
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        "trainer.precision=32-true", "trainer.num_sanity_val_steps=0", "trainer.benchmark=false",
        *tiny(run, "data.samples_per_epoch=16", *slow(marker, mark_at=3),
              *nan_data("+data.nan_steps=[1]", "+data.rank=1"),
              "+callbacks.probe._target_=faultkit.StepProbe", "+callbacks.probe.step=1",
              f"+callbacks.probe.out={tmp_path}"),
    ]
    proc = start_training(overrides, tmp_path)
    wait_for(marker, proc)
    proc.send_signal(signal.SIGTERM)  # the launching process is rank 0
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-3000:]
    assert "step 1: loss not finite on a process; step skipped" in err
    probes = [torch.load(tmp_path / f"probe_rank{r}.pt", weights_only=True) for r in (0, 1)]
    step = probes[0]["step"]
    assert probes[1]["step"] == step and 3 <= step < MAX_STEPS
    for probe in probes:
        assert_same(probe["before"], probe["after"])
    assert_same(probes[0]["weights"], probes[1]["weights"])
    assert err.strip().splitlines()[-1].startswith(f"invdn train: stopped by SIGTERM at step {step};")
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == step
