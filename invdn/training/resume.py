"""Continuing a training run in its own folder: `invdn train resume=RUN`, logs appended.

A run folder holds `config.yaml` (the composed, resolved config) and `checkpoints/last.ckpt`.
Resuming from it reuses that config (plus plain `key=value` overrides such as a higher
`trainer.max_steps`), continues writing into the same folder and appends to its metrics log
instead of starting a new one.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from invdn.errors import InvdnError

DEFAULT_RUN_DIR = "runs/${now:%Y-%m-%d_%H-%M-%S}"


def run_folder_of(ckpt_path: str | Path) -> Path | None:
    """The run folder a checkpoint belongs to (`RUN/checkpoints/x.ckpt` with `RUN/config.yaml`),
    or None for a checkpoint elsewhere."""
    ckpt = Path(ckpt_path).resolve()
    run = ckpt.parent.parent
    if ckpt.parent.name == "checkpoints" and (run / "config.yaml").is_file():
        return run
    return None


def resume_in_place(cfg: DictConfig) -> Path | None:
    """The folder to continue in, when `cfg.ckpt_path` is a checkpoint of a run folder and
    `run_dir` is that folder or was left at its default; None: a new run folder."""
    ckpt = cfg.get("ckpt_path")
    if ckpt is None:
        return None
    run = run_folder_of(str(ckpt))
    if run is None:
        return None
    raw = OmegaConf.to_container(cfg, resolve=False).get("run_dir")
    if raw == DEFAULT_RUN_DIR or Path(str(cfg.run_dir)).resolve() == run:
        return run
    return None


def resume_config(run: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The config to continue `run` with: its saved config.yaml, `overrides` (plain
    `key=value` of existing keys) applied, `run_dir` = the run, `ckpt_path` = its last.ckpt."""
    run = Path(run)
    config, last = run / "config.yaml", run / "checkpoints" / "last.ckpt"
    if not config.is_file() or not last.is_file():
        missing = config if not config.is_file() else last
        raise InvdnError(f"resume={run}: {missing} is missing; give a run folder written by "
                         "`invdn train` (it holds config.yaml and checkpoints/last.ckpt)")
    import yaml

    cfg = OmegaConf.load(config)
    for item in overrides:
        key, sep, value = item.partition("=")
        current = OmegaConf.select(cfg, key, default="__missing__")
        # a whole node (model=danet picks another config group) cannot change on resume
        if not sep or key.startswith(("+", "~")) or isinstance(current, DictConfig) or \
                (isinstance(current, str) and current == "__missing__"):
            raise InvdnError(f"{item}: with resume= only key=value overrides of settings in "
                             f"{config} work (e.g. trainer.max_steps=2000)")
        OmegaConf.update(cfg, key, yaml.safe_load(value) if value else None, merge=False)
    cfg.run_dir = str(run)
    cfg.ckpt_path = str(last)
    if cfg.get("init_weights") is not None:
        # the run started from these weights; its checkpoint has moved on from them
        cfg.init_weights = None
    return cfg


def _step(row: dict[str, str]) -> float:
    try:
        return float(row.get("step") or "nan")
    except ValueError:
        return float("nan")


def keep_metrics_log(loggers: Sequence[Any], resume_step: int) -> None:
    """Make each CSV logger append to its existing metrics.csv instead of deleting it (what
    Lightning does with a non-empty log folder): the rows logged up to `resume_step` are read,
    re-seeded into the logger and written back at once; later rows (logged after the
    checkpoint, about to be redone) are dropped."""
    from lightning.pytorch.loggers import CSVLogger

    for logger in loggers:
        if not isinstance(logger, CSVLogger):
            continue
        path = Path(logger.log_dir) / "metrics.csv"
        rows: list[dict[str, str]] = []
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if not _step(r) > resume_step]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Experiment logs directory")
            writer = logger.experiment  # creating it removes the old file
        if rows:
            writer.metrics = [{k: v for k, v in r.items() if v not in ("", None)} for r in rows]
            writer.metrics_keys = sorted(set().union(*rows))
            writer.save()
