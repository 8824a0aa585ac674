"""Running a training: `train(cfg)` fits the system a composed config describes, in its own
run folder (or the folder of the run it resumes), and returns what it reached.

The Python form of `invdn train` (`invdn.train(cfg)` with `cfg` from
`invdn.training.config.compose_config`); the command adds argument parsing and printing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invdn.errors import InvdnError

# Set by global rank 0 so the processes Lightning launches for DDP share its run folder.
RUN_DIR_ENV = "INVDN_RUN_DIR"


@dataclass
class TrainResult:
    """What a finished run reached (PSNR in dB on uint8-rounded outputs; None: never validated)."""

    run_dir: Path
    steps: int
    best_psnr: float | None
    best_checkpoint: str | None
    last_psnr: float | None
    last_ssim: float | None
    noisy_psnr: float | None
    system: Any = None  # the trained DenoisingSystem (its `.model` holds the weights)
    rank: int = 0  # the global rank of the process that returned it (DDP: one per GPU)

    def summary(self) -> str:
        """The lines `invdn train` prints at the end: steps, run folder, validation PSNR."""
        return summary(self)


def global_rank() -> int:
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0))


def _make_run_dir(base: Path) -> tuple[Path, bool]:
    """Create `base` (or `base-1`, `base-2`, … when a non-empty folder has the name); returns
    the folder and whether it was created (an existing empty folder is used as it is)."""
    path, n = base, 0
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path, True
        except FileExistsError:
            if path.is_dir() and not any(path.iterdir()):
                return path, False
        except OSError as err:
            raise InvdnError(f"run_dir={base}: cannot create the run folder ({err.strerror}); "
                             "choose a writable location") from err
        n += 1
        path = base.with_name(f"{base.name}-{n}")


def _without_worker_traceback(err: InvdnError) -> InvdnError:
    """The InvdnError of a DataLoader worker reaches the main process with the worker's
    traceback as its text; keep only its own one-line message (the last line)."""
    lines = str(err).strip().splitlines()
    prefix = f"{InvdnError.__module__}.{InvdnError.__name__}: "
    if len(lines) > 1 and lines[-1].startswith(prefix):
        return InvdnError(lines[-1][len(prefix):])
    return err


def _start_from(model: Any, path: str) -> None:
    """Load `path`'s weights into `model` (same architecture) for `init_weights=`."""
    from invdn.io.weights import check_fit, load_model

    what = f"init_weights={path}"
    try:
        state = load_model(path).state_dict()
    except InvdnError as err:
        raise InvdnError(f"{what}: {err}") from None
    check_fit(model, state, what=what)
    model.load_state_dict(state)


def _check_resume(ckpt_path: str, model: Any) -> int:
    """The checkpoint's global step; InvdnError unless `ckpt_path` is an `invdn train`
    checkpoint of the configured model."""
    import torch

    from invdn.io.weights import model_config

    fix = "pass a last.ckpt or best.ckpt from a run's checkpoints/ folder"
    try:
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # noqa: BLE001 - whatever the reason, the file is unusable
        raise InvdnError(f"ckpt_path={ckpt_path} is not a readable checkpoint "
                         f"({type(err).__name__}); {fix}") from err
    if not (isinstance(state, dict) and {"state_dict", "pytorch-lightning_version"} <= set(state)):
        raise InvdnError(f"ckpt_path={ckpt_path} is not an `invdn train` checkpoint (weights "
                         f"files cannot resume a run); {fix}")
    saved, built = (state.get("hyper_parameters") or {}).get("model"), model_config(model)
    if isinstance(saved, dict) and saved != built:
        differ = " ".join(f"model.{k}={v}" for k, v in sorted(saved.items())
                          if v != built.get(k))
        raise InvdnError(f"ckpt_path={ckpt_path} was trained with another model; resume with "
                         f"its settings: {differ}")
    return int(state.get("global_step", 0))


class _NoAdvert:
    """A logging filter dropping Lightning's "💡 Tip: … litlogger" advertisement."""

    def filter(self, record: Any) -> bool:
        return "litlogger" not in str(record.getMessage())


def _quiet_lightning_adverts() -> None:
    import logging

    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch",
                 "lightning.fabric.utilities.rank_zero"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _NoAdvert) for f in log.filters):
            log.addFilter(_NoAdvert())


def _scalar(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return None if value is None else float(value)


@dataclass
class _Built:
    """The components a config describes, before any run folder exists."""

    model: Any
    system: Any
    datamodule: Any
    resume_step: int | None
    same_folder: Path | None


def _build(cfg: Any) -> _Built:
    """Check the config, seed, and build model (with `init_weights`), system and data; the
    data is set up here, so missing or unreadable data fails before any folder or process."""
    import lightning as L

    from invdn.training.config import check_config, instantiate
    from invdn.training.resume import resume_in_place

    check_config(cfg)
    _quiet_lightning_adverts()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = instantiate(cfg, "model")
    if cfg.get("init_weights") is not None:
        _start_from(model, str(cfg.init_weights))
    resume_step, same_folder = None, resume_in_place(cfg)
    if cfg.get("ckpt_path") is not None:
        resume_step = _check_resume(str(cfg.ckpt_path), model)
    system = instantiate(cfg, "system", model=model, loss=instantiate(cfg, "loss"))
    datamodule = instantiate(cfg, "data")
    patch = cfg.data.get("patch_size")
    if isinstance(patch, int) and patch % model.multiple:
        fit = max(patch - patch % model.multiple, model.multiple)
        raise InvdnError(f"data.patch_size={patch} must be a multiple of {model.multiple} for "
                         f"this model; e.g. data.patch_size={fit}")
    datamodule.setup("fit")
    return _Built(model, system, datamodule, resume_step, same_folder)


def _open_run_dir(cfg: Any, same_folder: Path | None, rank: int) -> tuple[Path, bool]:
    """The run folder (created by rank 0, shared with the DDP ranks through RUN_DIR_ENV) and
    whether it was created now; `cfg.run_dir` is set to it and the config resolved."""
    from omegaconf import OmegaConf

    created = False
    if rank != 0:  # only rank 0 writes; Lightning broadcasts its checkpoint folder
        run_dir = Path(os.environ.get(RUN_DIR_ENV) or str(cfg.run_dir))
    elif same_folder is not None:  # continue the checkpoint's own run, in its folder
        run_dir = same_folder
        os.environ[RUN_DIR_ENV] = str(run_dir)
    else:
        run_dir, created = _make_run_dir(Path(str(cfg.run_dir)))
        os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
    cfg.run_dir = str(run_dir)
    OmegaConf.resolve(cfg)
    return run_dir, created


def _make_trainer(cfg: Any, run_dir: Path, created: bool) -> tuple[Any, list, Any]:
    """(trainer, loggers, the signal callback); a folder created for a trainer that cannot be
    built is removed again."""
    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    from invdn.training.checkpointing import AtomicCheckpointIO
    from invdn.training.config import instantiate
    from invdn.training.signals import StopOnSignal

    try:
        loggers = [instantiate(cfg, f"logger.{name}") for name in cfg.get("logger") or {}]
        # A callback node may build None (switched off, e.g. callbacks.ema.decay=null).
        callbacks = [c for c in (instantiate(cfg, f"callbacks.{name}")
                                 for name in cfg.get("callbacks") or {}) if c is not None]
        stop = StopOnSignal()
        trainer = instantiate(cfg, "trainer", default_root_dir=str(run_dir), logger=loggers,
                              callbacks=[*callbacks, stop], plugins=[AtomicCheckpointIO()])
    except BaseException as err:
        if created and not any(run_dir.iterdir()):
            run_dir.rmdir()
        if isinstance(err, MisconfigurationException):
            raise InvdnError(f"trainer: {str(err).splitlines()[0]}") from err
        raise
    return trainer, loggers, stop


def _fit(trainer: Any, built: _Built, stop: Any, ckpt_path: str | None) -> None:
    """`trainer.fit` with the clean stop on signals and one-line errors from data workers."""
    import signal

    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from invdn.training.signals import TrainingInterrupted

    with stop.installed():
        try:
            trainer.fit(built.system, datamodule=built.datamodule, ckpt_path=ckpt_path)
        except SIGTERMException as err:  # Lightning's own handler, active until training starts
            last = getattr(trainer.checkpoint_callback, "last_model_path", "") or None
            raise TrainingInterrupted(signal.SIGTERM, trainer.global_step, None, last) from err
        except InvdnError as err:
            clean = _without_worker_traceback(err)
            if clean is err:
                raise
            raise clean from err


def _result(trainer: Any, built: _Built, run_dir: Path, rank: int) -> TrainResult:
    from lightning.pytorch.callbacks import ModelCheckpoint

    metrics = trainer.callback_metrics
    checkpoint = next((c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)), None)
    best = checkpoint.best_model_score if checkpoint is not None else None
    return TrainResult(
        run_dir=run_dir, steps=trainer.global_step,
        best_psnr=None if best is None else float(best),
        best_checkpoint=checkpoint.best_model_path or None if checkpoint is not None else None,
        last_psnr=_scalar(metrics, "val/psnr"), last_ssim=_scalar(metrics, "val/ssim"),
        noisy_psnr=_scalar(metrics, "val/psnr_noisy"), system=built.system, rank=rank,
    )


def train(cfg: Any, log: Callable[[str], None] | None = print) -> TrainResult:
    """Run the training a composed config describes (see `invdn.training.config.compose_config`):
    build, open the run folder, make the trainer, record the start, fit. `log` gets the progress
    lines of global rank 0 (None: silent); a signal ends the run with `TrainingInterrupted`
    (its `rank` set), after `last.ckpt` is saved."""
    from omegaconf import OmegaConf

    from invdn.io.atomic import write_text
    from invdn.nn.sizes import count_parameters
    from invdn.training.resume import keep_metrics_log
    from invdn.training.signals import TrainingInterrupted

    built = _build(cfg)
    rank = global_rank()
    run_dir, created = _open_run_dir(cfg, built.same_folder, rank)
    trainer, loggers, stop = _make_trainer(cfg, run_dir, created)
    if rank == 0:
        write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg))
        if built.same_folder is not None and built.resume_step is not None:
            keep_metrics_log(loggers, built.resume_step)
    if trainer.is_global_zero and log is not None:
        if built.same_folder is not None:
            log(f"invdn train: continuing {run_dir} from step {built.resume_step}")
        model = built.model
        log(f"invdn train: {type(model).__name__} ({count_parameters(model):,} parameters), "
            f"{type(built.datamodule).__name__} patch {cfg.data.get('patch_size')} batch "
            f"{cfg.data.get('batch_size')}, {cfg.trainer.max_steps} steps on "
            f"{cfg.trainer.accelerator} → {run_dir}")
    try:
        _fit(trainer, built, stop, cfg.get("ckpt_path"))
    except TrainingInterrupted as stopped:
        stopped.rank = rank  # only rank 0 reports it
        raise
    return _result(trainer, built, run_dir, rank)


def summary(result: TrainResult) -> str:
    """The lines printed at the end of `invdn train` (`TrainResult.summary`)."""
    lines = [f"trained {result.steps} steps; run folder: {result.run_dir}"]
    if result.last_psnr is None:
        lines.append("no validation ran (raise trainer.max_steps or shorten the epoch: "
                     "data.samples_per_epoch)")
        return "\n".join(lines)
    noisy = result.noisy_psnr
    gain = f" ({result.last_psnr - noisy:+.2f} dB)" if noisy is not None else ""
    lines.append(f"validation PSNR: last {result.last_psnr:.2f} dB{gain}, SSIM "
                 f"{result.last_ssim:.4f}; noisy input {noisy:.2f} dB")
    if result.best_psnr is not None:
        lines.append(f"best {result.best_psnr:.2f} dB: {result.best_checkpoint}")
    return "\n".join(lines)
