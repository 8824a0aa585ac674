"""The Lightning module that trains any project model through `invdn.training.losses.DenoisingLoss`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from invdn.io.weights import build_model, model_config
from invdn.metrics import psnr, ssim, to_uint8_levels
from invdn.nn.padding import pad_to_multiple
from invdn.schema import check
from invdn.training.compile import CompiledModel, compile_mode

PREVIEW_SIZE = 256


class DenoisingSystem(L.LightningModule):
    """Trains `model` with `loss(model, noisy, clean)`; validates with PSNR/SSIM.

    `model`/`loss`: modules or their `_target_` configs (checkpoints store configs, so
    `DenoisingSystem.load_from_checkpoint` and `invdn.io.weights.load_model` rebuild them).
    Optimiser and schedule: `optimizer` and `scheduler` are Hydra `_partial_` configs (plain dicts, stored in
    the checkpoint) called as `optimizer(params, lr=lr)` and `scheduler(optimizer)`, stepped once per
    optimiser step; the defaults are the paper's Adam(β 0.9/0.999, weight decay 1e-8) and a constant rate
    (`scheduler=None`). Validation denoises each image (reflect-padded to the model's size multiple, cropped
    back) with `val_samples` latent draws from a generator seeded with `val_seed` at the start of every
    validation run, so the numbers are reproducible, and scores the uint8-rounded result. `preview_images`
    (noisy | denoised | clean) rows are written per validation run to
    `<trainer.default_root_dir>/previews/step_<7-digit step>.png`.
    A training step whose loss is not finite (on any DDP rank) is skipped on every rank with a
    warning: no parameter or optimizer-state change (it still counts as a step);
    `max_nonfinite_steps` such steps in a row stop the run with `InvdnError` before anything
    else is saved. `compile` (false | true | a torch.compile mode) runs the training step's
    model calls through `torch.compile`, `channels_last` in channels_last memory format
    (invdn.training.compile; the weights are the same tensors).
    Train batches and val batches are dicts with 'noisy' and 'clean' `(B, 3, H, W)` in [0, 1].
    """

    def __init__(
        self,
        model: nn.Module | dict,
        loss: nn.Module | dict,
        lr: float = 2e-4,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        val_samples: int = 1,
        val_seed: int = 0,
        preview_images: int = 4,
        max_nonfinite_steps: int = 5,
        compile: bool | str = False,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.model = build_model(model) if isinstance(model, dict) else model
        self.loss = build_model(loss) if isinstance(loss, dict) else loss
        if not any(p.requires_grad for p in self.model.parameters()):
            raise ValueError("the model has no trainable parameters (e.g. model.blocks=[0,0]); "
                             "give it at least one block")
        optimizer = _plain(optimizer if optimizer is not None else DEFAULT_OPTIMIZER)
        scheduler = _plain(scheduler)
        _check_settings(lr=lr, val_samples=val_samples, val_seed=val_seed,
                        preview_images=preview_images, max_nonfinite_steps=max_nonfinite_steps,
                        channels_last=channels_last)
        _check_factories(optimizer, scheduler, lr)
        # Plain containers only: checkpoints must load with torch.load(weights_only=True).
        self.save_hyperparameters({
            "model": model_config(self.model), "loss": model_config(self.loss),
            "lr": float(lr), "optimizer": optimizer, "scheduler": scheduler,
            "val_samples": int(val_samples), "val_seed": int(val_seed),
            "preview_images": int(preview_images), "max_nonfinite_steps": int(max_nonfinite_steps),
            "compile": compile_mode(compile) or False, "channels_last": bool(channels_last),
        })
        self._val_generator: torch.Generator | None = None
        self._previews: list[np.ndarray] = []
        self._loader_states: list[Tensor] = []
        self._nonfinite_run = 0  # consecutive skipped steps
        self._skip_step = False
        # system.compile / channels_last: how the loss calls the model (invdn.training.compile)
        self._compiled = (CompiledModel(self.model, self.hparams.compile or None,
                                        channels_last=self.hparams.channels_last)
                          if self.hparams.compile or self.hparams.channels_last else None)

    def forward(self, noisy: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Noisy `(B, 3, H, W)` in [0, 1], any H, W → denoised, same shape, not clamped."""
        padded, (h, w) = pad_to_multiple(noisy, self.model.multiple)
        out = self.model.denoise(padded, samples=self.hparams.val_samples, generator=generator)
        return out[..., :h, :w]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        parts = self.loss(self._compiled or self.model, batch["noisy"], batch["clean"])
        # All ranks decide together: under DDP every rank must run the same backward (its
        # gradient all-reduce) and skip the same optimizer steps.
        if self.trainer.strategy.reduce_boolean_decision(
                not bool(torch.isfinite(parts["loss"].detach())), all=False):
            self._skip_nonfinite(parts["loss"])
            # Lightning (DDP) needs a loss to backpropagate; this one gives every parameter a
            # zero gradient, and on_before_optimizer_step then drops the step.
            self._skip_step = True
            return sum(p.sum() for p in self.model.parameters() if p.requires_grad) * 0.0
        self._nonfinite_run = 0
        size = batch["noisy"].shape[0]
        self.log("train/loss", parts["loss"], prog_bar=True, batch_size=size)
        self.log_dict({f"train/{k}": v for k, v in parts.items() if k != "loss"},
                      batch_size=size)
        return parts["loss"]

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self._skip_step:
            # Without gradients Adam leaves parameters, moments and step counts untouched.
            optimizer.zero_grad(set_to_none=True)
            self._skip_step = False

    def _skip_nonfinite(self, loss: Tensor) -> None:
        from lightning.pytorch.utilities import rank_zero_warn

        from invdn.errors import InvdnError

        self._nonfinite_run += 1
        limit, step = self.hparams.max_nonfinite_steps, self.global_step
        if self._nonfinite_run >= limit:
            last = getattr(self.trainer.checkpoint_callback, "last_model_path", "") or None
            kept = f"last good checkpoint: {last}" if last else "no checkpoint was saved"
            raise InvdnError(f"loss not finite for {limit} steps in a row (steps "
                             f"{step - limit + 1}-{step}); stopped, {kept}; lower system.lr, "
                             "check the data, or raise system.max_nonfinite_steps")
        value = loss.item()
        what = f"loss is {value}" if not math.isfinite(value) else "loss not finite on a process"
        rank_zero_warn(f"step {step}: {what}; step skipped ({self._nonfinite_run} in a row, the "
                       f"run stops at {limit})")

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer, scheduler = _build_optimization(hp.optimizer, hp.scheduler, params, hp.lr)
        if scheduler is None:
            return {"optimizer": optimizer}
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_validation_epoch_start(self) -> None:
        self._val_generator = torch.Generator(device=self.device).manual_seed(self.hparams.val_seed)
        self._previews = []

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        noisy, clean = batch["noisy"].float(), batch["clean"].float()
        # Score in float32 even under mixed precision: bf16 cannot hold 8-bit levels near 1.
        with torch.autocast(self.device.type, enabled=False):
            denoised = self(noisy, self._val_generator)
        noisy8, denoised8, clean8 = map(to_uint8_levels, (noisy, denoised, clean))
        size = noisy.shape[0]
        self.log("val/psnr", psnr(denoised8, clean8).mean(), prog_bar=True, batch_size=size,
                 sync_dist=True)
        self.log("val/ssim", ssim(denoised8, clean8).mean(), batch_size=size, sync_dist=True)
        self.log("val/psnr_noisy", psnr(noisy8, clean8).mean(), batch_size=size, sync_dist=True)
        wanted = self.hparams.preview_images - len(self._previews)
        if wanted > 0 and self.trainer.is_global_zero and not self.trainer.sanity_checking:
            self._previews += [_preview_row(*imgs)
                               for imgs in zip(noisy8, denoised8, clean8, strict=True)][:wanted]

    def on_validation_epoch_end(self) -> None:
        if self._previews:
            from invdn.io.images import write_image

            path = Path(self.trainer.default_root_dir, "previews",
                        f"step_{self.global_step:07d}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, _stack_rows(self._previews))
            self._previews = []

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning stores neither the global RNGs nor the train loader's generator (shuffling,
        # worker seeds); without them a resumed run would draw other latents, patches and noise
        # than the uninterrupted one.
        checkpoint["invdn_rng"] = {
            **_rng_states(),
            "train_loaders": [g.get_state() for g in self._train_loader_generators()],
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        states = checkpoint.get("invdn_rng")
        if states:
            _set_rng_states(states)
            self._loader_states = list(states.get("train_loaders", []))

    def on_train_start(self) -> None:
        # The loaders exist only now, after the checkpoint was read; restored before the first
        # epoch draws from them.
        generators = self._train_loader_generators()
        if self._loader_states and len(self._loader_states) == len(generators):
            for generator, state in zip(generators, self._loader_states, strict=True):
                generator.set_state(state)
        self._loader_states = []

    def _train_loader_generators(self) -> list[torch.Generator]:
        loaders = self.trainer.train_dataloader if self._trainer is not None else None
        if isinstance(loaders, dict):
            loaders = list(loaders.values())
        elif not isinstance(loaders, list | tuple):
            loaders = [loaders]
        return [g for g in (getattr(d, "generator", None) for d in loaders)
                if isinstance(g, torch.Generator)]


DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "_partial_": True,
                     "betas": [0.9, 0.999], "weight_decay": 1e-8}


def _plain(node: Any) -> dict | None:
    """A config node (DictConfig or dict) as a plain dict, for checkpoints loadable with
    weights_only=True."""
    if node is None:
        return None
    from omegaconf import DictConfig, OmegaConf

    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    if not isinstance(node, dict) or "_target_" not in node:
        raise ValueError(f"expected a config with a _target_ (and _partial_: true), got {node!r}")
    return dict(node)


def _build_optimization(optimizer: dict, scheduler: dict | None, params: list, lr: float
                        ) -> tuple[torch.optim.Optimizer, Any]:
    """Instantiate the `_partial_` optimizer and scheduler configs for `params`; a config that
    fails raises ValueError naming its key (system.optimizer / system.scheduler)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    def build(key: str, node: dict, *args: Any, **kwargs: Any) -> Any:
        try:
            return instantiate({**node, "_partial_": True})(*args, **kwargs)
        except (InstantiationException, TypeError, ValueError, AttributeError) as err:
            cause = err.__cause__ or err
            text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            raise ValueError(text if text.startswith(key) else f"{key}: {text}") from err

    opt = build("system.optimizer", optimizer, params, lr=lr)
    sched = None if scheduler is None else build("system.scheduler", scheduler, opt)
    return opt, sched


def _check_factories(optimizer: dict, scheduler: dict | None, lr: float) -> None:
    """Build both once on a dummy parameter so a bad config fails here, naming its key."""
    _build_optimization(optimizer, scheduler, [nn.Parameter(torch.zeros(1))], lr)


def _check_settings(**settings: Any) -> None:
    """Each `system.<name>` against its rule in the schema (ConfigError, also a ValueError)."""
    for name, value in settings.items():
        check(f"system.{name}", value)


def _to_hwc(img: Tensor) -> np.ndarray:
    """`(3, H, W)` float holding 0…255 levels → `(H, W, 3)` uint8 (top-left crop for previews)."""
    return img[:, :PREVIEW_SIZE, :PREVIEW_SIZE].permute(1, 2, 0).to("cpu", torch.uint8).numpy()


def _preview_row(noisy: Tensor, denoised: Tensor, clean: Tensor) -> np.ndarray:
    return np.concatenate([_to_hwc(noisy), _to_hwc(denoised), _to_hwc(clean)], axis=1)


PREVIEW_LABELS = ("noisy", "denoised", "clean")
LABEL_HEIGHT = 16  # pixels of the white strip naming the columns above the preview rows


def _label_strip(column: int, width: int) -> np.ndarray:
    """`(LABEL_HEIGHT, width, 3)` uint8: white, each of PREVIEW_LABELS at the left of its
    `column`-pixel-wide column (text clipped to the column)."""
    import cv2

    strip = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    for i, label in enumerate(PREVIEW_LABELS):
        cell = np.ascontiguousarray(strip[:, i * column:(i + 1) * column])
        cv2.putText(cell, label, (2, LABEL_HEIGHT - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
        strip[:, i * column:(i + 1) * column] = cell
    return strip


def _stack_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of different sizes → one uint8 image under a strip labelling the columns
    (noisy | denoised | clean, at the first row's column width), each row padded with black
    on the right."""
    width = max(r.shape[1] for r in rows)
    header = _label_strip(rows[0].shape[1] // len(PREVIEW_LABELS), width)
    return np.concatenate([header] + [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)))
                                      for r in rows])


def _rng_states() -> dict[str, Any]:
    """Global RNG states as tensors and plain containers (loadable with weights_only=True)."""
    import random

    _, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "python": random.getstate(),
    }


def _set_rng_states(states: dict[str, Any]) -> None:
    import random

    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, state, gauss = states["python"]
    random.setstate((version, tuple(state), gauss))
