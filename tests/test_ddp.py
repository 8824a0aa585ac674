"""Two-process DDP on the CPU (gloo) through `invdn train`'s own code path."""

import os
import subprocess
import sys
import textwrap

import torch

SCRIPT = textwrap.dedent('''
    import sys
    from pathlib import Path

    import torch

    from invdn.training.run import train
    from invdn.training.config import compose_config

    out = Path(sys.argv[1])
    result = train(compose_config(sys.argv[2:]))
    rank = result.system.global_rank
    torch.save({k: v.cpu() for k, v in result.system.model.state_dict().items()},
               out / f"rank{rank}.pt")
    print(f"rank {rank} world {result.system.trainer.world_size} steps {result.steps}")
''')


def test_two_cpu_processes_train_memory_efficient_and_stay_in_sync(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    run_dir = tmp_path / "run"
    overrides = [
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true",
        "trainer.num_sanity_val_steps=0", "trainer.max_steps=3", "trainer.benchmark=false",
        "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
        "model.blocks=[1,1]", "model.width=8", "model.memory_efficient=true",
        "data.patch_size=16", "data.batch_size=2", "data.samples_per_epoch=12",
        "data.num_workers=0", "data.val_crop=32", f"run_dir={run_dir}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("INVDN_RUN_DIR", None)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), *overrides], env=env,
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "rank 0 world 2 steps 3" in proc.stdout and "rank 1 world 2 steps 3" in proc.stdout
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 3 and w0.keys() == w1.keys()
    for key in w0:
        torch.testing.assert_close(w0[key], w1[key], rtol=0, atol=0)
        torch.testing.assert_close(w0[key], last["state_dict"]["model." + key], rtol=0, atol=0)
    # Only rank 0 wrote a run folder.
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["run"]
