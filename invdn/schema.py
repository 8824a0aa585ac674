"""The schema of the `invdn train` configuration: which rule (`invdn.checks`) each key follows.

One table, `TRAIN_SCHEMA`, keyed by the composed config's dotted keys. `validate(cfg)` checks a
whole composed (or resumed) config against it before anything is built; the components check
their own arguments with `check(key, value)` against the same entries, so a `DenoisingSystem`
or datamodule built from Python is held to the same rule with the same message. A key absent
from a config (another data module, another scheduler) is not checked; a key absent from the
table is left to its component (model and loss keys: `invdn.nn`, `invdn.training.losses`).
It sits beside `invdn.checks`, below `invdn.data` and `invdn.training`, which both check their
keys against it.

Every message is one line naming the key, the bad value and what to set instead, e.g.
`trainer.max_steps=-5 must be an integer >= 1 (or -1 with trainer.max_epochs)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from invdn.checks import Choice, ConfigError, Flag, Int, Number, Rule

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
_ABSENT = object()

TRAIN_SCHEMA: dict[str, Rule] = {
    # top level (init_weights, ckpt_path and run_dir are paths: invdn.training.config checks them)
    "seed": Int(0),
    # trainer: the keys invdn's own code relies on; Lightning checks the rest itself
    "trainer.max_steps": Int(1, also=(-1,), fix=" (or -1 with trainer.max_epochs)"),
    "trainer.max_epochs": Int(0, also=(-1,), null=True, fix=" (-1: no limit)"),
    "trainer.accelerator": Choice(ACCELERATORS),
    # system: invdn.training.system.DenoisingSystem
    "system.lr": Number(above=0, fix=" (the paper: 2.0e-4)"),
    "system.val_samples": Int(1),
    "system.val_seed": Int(0),
    "system.preview_images": Int(0, fix=" (0: no previews)"),
    "system.max_nonfinite_steps": Int(1),
    "system.channels_last": Flag(),
    # system.scheduler=warmup_cosine: invdn.training.schedules.warmup_cosine
    "system.scheduler.total_steps": Int(1),
    "system.scheduler.warmup_steps": Int(0),
    "system.scheduler.min_factor": Number(at_least=0, at_most=1),
    # callbacks
    "callbacks.ema.decay": Number(above=0, below=1, null=True, fix=" (null: no average)"),
    "callbacks.checkpoint.save_last_every_n_steps": Int(0, fix=" (0: only after validation)"),
    # data: invdn.data.datamodules (each module adds its own relations, e.g. val_count vs files)
    "data.patch_size": Int(1, multiple=4, fix=" (InvDN halves the size twice); e.g. "
                                              "data.patch_size=144"),
    "data.batch_size": Int(1),
    "data.val_batch_size": Int(1),
    "data.num_workers": Int(0),
    "data.seed": Int(0),
    "data.samples_per_epoch": Int(1, null=True),
    "data.val_crop": Int(1, null=True, fix=" (null: whole images)"),
    "data.val_count": Int(0),
    "data.val_scenes": Int(1),
    "data.recursive": Flag(),
    "data.color": Flag(),
    "data.gray": Number(at_least=0, at_most=1, fix=" (the probability of a gray patch)"),
}


def check(key: str, value: Any, rule: Rule | None = None) -> None:
    """Raise `ConfigError` unless `value` follows `key`'s rule in `TRAIN_SCHEMA` (or `rule`, for
    a component that is stricter than the table, e.g. a module that needs the value set)."""
    (rule or TRAIN_SCHEMA[key]).check(key, value)


def _lookup(cfg: Mapping[str, Any], key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def validate(cfg: Mapping[str, Any]) -> None:
    """Check a resolved, plain config (`OmegaConf.to_container(cfg, resolve=True)`) against
    `TRAIN_SCHEMA` and the relations between its keys; the first problem raises `ConfigError`."""
    for key, rule in TRAIN_SCHEMA.items():
        value = _lookup(cfg, key)
        if value is not _ABSENT:
            rule.check(key, value)
    trainer = cfg.get("trainer") or {}
    if trainer.get("max_steps") == -1 and trainer.get("max_epochs") in (None, -1):
        raise ConfigError("trainer.max_steps", -1, "never ends training without "
                          "trainer.max_epochs; set trainer.max_steps (or trainer.max_epochs)")
    scheduler = _lookup(cfg, "system.scheduler")
    if isinstance(scheduler, Mapping) and "warmup_steps" in scheduler \
            and "total_steps" in scheduler:
        check_warmup(scheduler["total_steps"], scheduler["warmup_steps"])


def check_warmup(total_steps: int, warmup_steps: int) -> None:
    """The warm-up must end before the last step (both already integers per the table)."""
    if warmup_steps >= total_steps:
        raise ConfigError("system.scheduler.warmup_steps", warmup_steps,
                          f"must be below system.scheduler.total_steps={total_steps} (the "
                          "warm-up ends before the last step)")


__all__ = ["ACCELERATORS", "TRAIN_SCHEMA", "check", "check_warmup", "validate"]
