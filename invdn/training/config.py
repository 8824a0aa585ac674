"""Composing, checking and instantiating the `invdn train` configuration (Hydra).

Every problem a user can fix becomes one-line `InvdnError` naming the config key and the
accepted values; Hydra's own exceptions are kept as the cause (shown with `invdn --verbose`).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from invdn.checks import is_int
from invdn.errors import InvdnError
from invdn.schema import validate

CONFIG_MODULE = "invdn.conf"
CONFIG_NAME = "config"


def config_options(group: str) -> list[str]:
    """The names selectable for a config group (`model` → ['danet', 'invdn', …])."""
    folder = importlib.resources.files(CONFIG_MODULE) / group
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _translate_hydra_error(err: Exception) -> InvdnError:
    """Hydra's and OmegaConf's exceptions → one line, read from their structured attributes
    (never from their message text, which changes between versions)."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    missing = getattr(err, "missing_cfg_file", None)
    if isinstance(err, MissingConfigException) and missing and "/" in missing:
        group, _, name = missing.rpartition("/")
        options = err.options or config_options(group)
        return InvdnError(f"unknown {group} '{name}'; choose {group}= one of: "
                          f"{', '.join(options)}")
    if isinstance(err, OverrideParseException):
        return InvdnError(f"cannot parse override {err.override!r}; overrides look like "
                          "key=value (e.g. trainer.max_steps=1000)")
    cause = err.__cause__
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        key = cause.full_key
        return InvdnError(f"unknown config key '{key}'; see `invdn train --cfg` for the keys "
                          f"(add a new one with +{key}=VALUE)")
    return InvdnError(f"bad configuration: {_first_line(err)}")


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The resolved-on-access `invdn train` config from the packaged `invdn.conf` + overrides
    (`key=value`, Hydra's syntax). `resume=RUN` among them continues that run instead: its saved
    config with the other overrides applied (:func:`invdn.training.resume.resume_config`)."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides)
    flags = [o for o in overrides if o.startswith("-")]
    if flags:
        raise InvdnError(f"unknown option {flags[0]}; options go before the overrides "
                         "(invdn train --cfg key=value …)")
    resume = [o for o in overrides if o.startswith("resume=")]
    if resume:
        from invdn.training.resume import resume_config

        rest = [o for o in overrides if not o.startswith("resume=")]
        return resume_config(resume[-1].partition("=")[2], rest)
    try:
        with initialize_config_module(CONFIG_MODULE, version_base=None):
            return compose(CONFIG_NAME, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise _translate_hydra_error(err) from err


def config_yaml(cfg: DictConfig) -> str:
    """`cfg` resolved, as YAML (what `invdn train --cfg` prints)."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_yaml(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise InvdnError(f"cannot resolve the configuration: {str(err).splitlines()[0]}") from err


def _check_accelerator(trainer: DictConfig) -> None:
    import torch

    accelerator = trainer.get("accelerator", "auto")  # one of ACCELERATORS (the schema)
    if accelerator in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise InvdnError(f"trainer.accelerator={accelerator} needs a CUDA GPU and torch sees "
                             "none; use trainer=cpu (or install a CUDA build of torch)")
        devices = trainer.get("devices", "auto")
        count = torch.cuda.device_count()
        if is_int(devices) and devices > count:
            raise InvdnError(f"trainer.devices={devices} but only {count} CUDA GPU(s) are "
                             f"visible; use trainer.devices={count} or fewer")
    if accelerator == "mps" and not torch.backends.mps.is_available():
        raise InvdnError("trainer.accelerator=mps is not available on this machine; use "
                         "trainer=cpu")


def _check_loggers(loggers: DictConfig | None) -> None:
    for name, node in (loggers or {}).items():
        target = str(node.get("_target_", ""))
        if target.endswith("TensorBoardLogger") and not any(
                importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")):
            raise InvdnError(f"logger {name!r} needs the tensorboard package: "
                             "pip install 'invdn[tensorboard]' (or use logger=csv)")


def check_config(cfg: DictConfig) -> None:
    """Checks that need no instantiation: every value against the schema
    (`invdn.schema.TRAIN_SCHEMA`), then devices, optional packages and files."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise InvdnError(f"cannot resolve the configuration: {_first_line(err)}") from err
    validate(plain)
    _check_accelerator(cfg.trainer)
    _check_loggers(cfg.get("logger"))
    ckpt = cfg.get("ckpt_path")
    if ckpt is not None and not Path(str(ckpt)).is_file():
        raise InvdnError(f"ckpt_path={ckpt} is not a file; pass a last.ckpt or best.ckpt "
                         "from a run's checkpoints/ folder")
    init = cfg.get("init_weights")
    if init is not None and ckpt is not None:
        raise InvdnError(f"init_weights={init} and ckpt_path={ckpt} both given; ckpt_path "
                         "resumes a run, init_weights starts a new one from weights: pick one")
    if init is not None and not Path(str(init)).is_file():
        raise InvdnError(f"init_weights={init} is not a file; pass a weights file, an exported "
                         "model or a run's checkpoints/last.ckpt")


def _unknown_option(node: DictConfig) -> str | None:
    """The first key of `node` its `_target_` does not take (None when all are taken, the
    target takes **kwargs, or it cannot be located: instantiation then reports that)."""
    from hydra.utils import get_object

    try:
        params = inspect.signature(get_object(str(node["_target_"]))).parameters
    except (ImportError, AttributeError, ValueError, TypeError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return next((k for k in node if not str(k).startswith("_") and k not in params), None)


def instantiate(cfg: DictConfig, key: str, **kwargs: Any) -> Any:
    """`hydra.utils.instantiate` of the node at dotted `key` (e.g. 'model', 'logger.csv') with
    plain containers; errors raised by the target (bad values) become `InvdnError` naming it."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    node = OmegaConf.select(cfg, key)
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise InvdnError(f"the configuration has no `{key}` node with a _target_")
    unknown = _unknown_option(node)
    if unknown is not None:
        raise InvdnError(f"{key}.{unknown} is not an option of {node['_target_']}; "
                         "see `invdn train --cfg`")
    try:
        return hydra_instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause = err.__cause__ or err
        if isinstance(cause, InvdnError):
            raise cause from err
        message = _first_line(cause)
        if not message.startswith(f"{key}."):
            message = f"{key}: {message}"
        raise InvdnError(message) from err
