"""Stopping training cleanly on SIGINT (Ctrl+C) and SIGTERM (`kill`, job schedulers).

While `StopOnSignal.installed()` is active, the first signal only sets a flag; the callback sees
it when the current training step has finished, writes `last.ckpt` (every DDP rank agrees on
the step: a signal that reached one rank stops all of them together) and raises
`TrainingInterrupted`, which `invdn train` turns into a one-line message and exit status
128 + signal (130 for SIGINT, 143 for SIGTERM). A signal during validation is acted on after
it. A second signal stops at once without saving (the previous checkpoint stays valid: saves
are atomic).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from invdn.training.checkpointing import RunCheckpoint

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped by signal `signum` at optimizer step `step`; `checkpoint` is the
    `last.ckpt` written for it (None: nothing new was saved, `previous` is the latest one)."""

    def __init__(self, signum: int, step: int, checkpoint: str | None,
                 previous: str | None = None) -> None:
        self.signum, self.step, self.checkpoint = int(signum), step, checkpoint
        self.exit_code = 128 + self.signum
        self.rank = 0  # the global rank that raised it (set by `invdn.training.run.train`)
        name = signal.Signals(self.signum).name
        if checkpoint:
            text = (f"stopped by {name} at step {step}; saved {checkpoint} (resume with "
                    f"ckpt_path={checkpoint})")
        elif previous:
            text = (f"stopped by {name} at step {step} without saving; resume from "
                    f"ckpt_path={previous}")
        else:
            text = f"stopped by {name} at step {step}; no checkpoint was written yet"
        super().__init__(text)


def _last_checkpoint(trainer: L.Trainer) -> str | None:
    path = getattr(trainer.checkpoint_callback, "last_model_path", "") or None
    return path if path and Path(path).is_file() else None


class StopOnSignal(Callback):
    """The callback half of the clean stop (see the module docstring); `received` is the
    signal seen so far (None: none)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._trainer: L.Trainer | None = None

    @contextmanager
    def installed(self) -> Iterator[StopOnSignal]:
        """Catch SIGINT/SIGTERM in this block (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            trainer = self._trainer
            step = trainer.global_step if trainer is not None else 0
            raise TrainingInterrupted(signum, step, None,
                                      _last_checkpoint(trainer) if trainer else None)
        self.received = signum

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning has meanwhile chained its own SIGTERM handler, which would stop the rank
        # that got the signal on its own (the others then wait for it forever under DDP).
        if self._trainer is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._handle)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        signum = self.received or 0
        if trainer.world_size > 1:  # a signal may reach the ranks at different steps
            flag = torch.tensor(signum, device=pl_module.device)
            signum = int(trainer.strategy.reduce(flag, reduce_op="max"))
        if not signum:
            return
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, RunCheckpoint) and checkpoint.save_last:
            path = checkpoint.save_last_now(trainer)
        else:
            path = str(Path(trainer.default_root_dir, "checkpoints", "last.ckpt"))
            trainer.save_checkpoint(path)
        raise TrainingInterrupted(signum, trainer.global_step, path)
