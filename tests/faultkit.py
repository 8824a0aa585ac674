"""Test-only pieces plugged into `invdn train` through its config (`_target_`): a datamodule
that turns chosen training batches into NaN, a callback that slows training down so a signal or
a kill can land mid-run, and one that records parameters around a step."""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L
import torch

from invdn.data import SyntheticDataModule


class NaNData(SyntheticDataModule):
    """Synthetic data whose training batch at optimizer step `s` is all NaN when `s` is in
    `nan_steps` or `s >= nan_from` (and, with `rank`, only on that DDP rank)."""

    def __init__(self, nan_steps: list[int] = (), nan_from: int | None = None,
                 rank: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.nan_steps, self.nan_from, self.rank = set(nan_steps), nan_from, rank

    def on_after_batch_transfer(self, batch, dataloader_idx):
        trainer = self.trainer
        step = trainer.global_step
        hit = step in self.nan_steps or (self.nan_from is not None and step >= self.nan_from)
        if trainer.training and hit and self.rank in (None, trainer.global_rank):
            batch = {**batch, "noisy": torch.full_like(batch["noisy"], float("nan"))}
        return batch


class Slow(L.Callback):
    """From optimizer step `mark_at` on: touch `marker` and sleep `seconds` after each step
    (after the checkpoint callback has saved), so a kill or signal lands mid-run."""

    def __init__(self, seconds: float, marker: str | None = None, mark_at: int = 1):
        self.seconds, self.marker, self.mark_at = seconds, marker, mark_at

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step >= self.mark_at:
            if self.marker:
                Path(self.marker).touch()
            time.sleep(self.seconds)


class StepProbe(L.Callback):
    """Copies of the parameters before and after the step at global step `step`; with `out`,
    saved to `out/probe_rank<R>.pt` together with the weights when training ends or stops."""

    def __init__(self, step: int, out: str | None = None):
        self.step, self.out, self.before, self.after = step, out, None, None

    @staticmethod
    def _copy(module):
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            self.before = self._copy(pl_module.model)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step + 1:
            self.after = self._copy(pl_module.model)

    def _dump(self, trainer, pl_module):
        if self.out:
            torch.save({"before": self.before, "after": self.after, "step": trainer.global_step,
                        "weights": self._copy(pl_module.model)},
                       Path(self.out) / f"probe_rank{trainer.global_rank}.pt")

    def on_train_end(self, trainer, pl_module):
        self._dump(trainer, pl_module)

    def on_exception(self, trainer, pl_module, exception):
        self._dump(trainer, pl_module)
