"""Checkpoints that survive crashes: atomic writes, and `last.ckpt` refreshed every N steps.

`AtomicCheckpointIO` (a Lightning CheckpointIO plugin) writes each checkpoint to a temporary file
in the same folder, fsyncs it and renames it over the target, so a crash or kill during a save
leaves the previous checkpoint intact (Lightning's own writer goes through a temporary file in
the system temp folder and a non-atomic move). `RunCheckpoint` is Lightning's `ModelCheckpoint`
(best by the monitored metric after each validation, `last.ckpt`) that also refreshes
`last.ckpt` every `save_last_every_n_steps` optimizer steps, so a killed run loses at most that
many steps, and once more when training ends between validations (max_steps or max_time reached
mid-epoch), so `last.ckpt` always holds the final weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from invdn.io.atomic import write_atomic
from invdn.schema import check


class AtomicCheckpointIO(TorchCheckpointIO):
    """`TorchCheckpointIO` whose local saves are atomic (`invdn.io.atomic.write_atomic`: temporary
    file `.<stem>.*<suffix>` next to the target, fsynced, then renamed over it). Leftover
    temporary files of the same target (from a process killed mid-save) are removed after the
    next successful save. Remote paths (s3://, …) are saved by Lightning's own implementation."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any,
                        storage_options: Any | None = None) -> None:
        if storage_options is not None or not _is_local_file_protocol(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        write_atomic(path, lambda tmp: torch.save(checkpoint, tmp), durable=True)
        for stale in path.parent.glob(f".{path.stem}.*{path.suffix}"):
            stale.unlink(missing_ok=True)


class RunCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` plus `save_last_every_n_steps`: also write `last.ckpt` whenever the
    global step reaches a multiple of it (0: only when `ModelCheckpoint` itself saves, after
    validation), and when training ends at a step no save has covered. Best-checkpoint selection
    is unchanged: it still follows each validation."""

    def __init__(self, *args: Any, save_last_every_n_steps: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        n = save_last_every_n_steps
        check("callbacks.checkpoint.save_last_every_n_steps", n)  # ConfigError is a ValueError
        if n and not self.save_last:
            raise ValueError("callbacks.checkpoint.save_last_every_n_steps needs "
                             "callbacks.checkpoint.save_last=true")
        self.save_last_every_n_steps = n
        self._last_refresh_step = -1

    def save_last_now(self, trainer: L.Trainer) -> str:
        """Write `last.ckpt` for the current training state now; returns its path. All DDP
        ranks must call it (rank 0 writes)."""
        # ModelCheckpoint skips its post-validation save (best.ckpt too) at a step it has
        # already saved; this extra save must not count as that one.
        saved_step = self._last_global_step_saved
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        self._last_global_step_saved = saved_step
        self._last_refresh_step = trainer.global_step
        return self.last_model_path

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        n, step = self.save_last_every_n_steps, trainer.global_step
        # With gradient accumulation several batches share a step: save once per step.
        if n and step and step % n == 0 and step != self._last_refresh_step:
            self.save_last_now(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        # Lightning stops at max_steps/max_time without a last validation, so without this the
        # steps after the last save would be lost (not called when training raised).
        step = trainer.global_step
        if self.save_last and step and step not in (self._last_global_step_saved,
                                                    self._last_refresh_step):
            self.save_last_now(trainer)
