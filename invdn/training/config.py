"""Composing, checking and instantiating the `invdn train` configuration (Hydra).

Every problem a user can fix becomes one-line `InvdnError` naming the config key and the
accepted values; Hydra's own exceptions are kept as the cause (shown with `invdn --verbose`).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from invdn.checks import is_int, require_int, require_number
from invdn.errors import InvdnError

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
    from hydra.errors import MissingConfigException, OverrideParseException

    text = str(err)
    missing = re.search(r"Could not find '([\w/]+)/([^']*)'", text)
    if isinstance(err, MissingConfigException) and missing:
        group, name = missing.groups()
        return InvdnError(f"unknown {group} '{name}'; choose {group}= one of: "
                          f"{', '.join(config_options(group))}")
    if isinstance(err, OverrideParseException):
        return InvdnError(f"cannot parse override: {_first_line(err)}; overrides look like "
                          "key=value (e.g. trainer.max_steps=1000)")
    not_in_struct = re.search(r"Could not override '([^']+)'", text) or re.search(
        r"Key '([^']+)' is not in struct", text)
    if not_in_struct:
        key = not_in_struct.group(1)
        return InvdnError(f"unknown config key '{key}'; see `invdn train --cfg` for the keys "
                          f"(add a new one with +{key}=VALUE)")
    return InvdnError(f"bad configuration: {_first_line(err)}")


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The resolved-on-access `invdn train` config from the packaged `invdn.conf` + overrides."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_module(CONFIG_MODULE, version_base=None):
            return compose(CONFIG_NAME, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise _translate_hydra_error(err) from err


def _positive_int(cfg: DictConfig, key: str, allow: Sequence[int] = ()) -> None:
    value = OmegaConf.select(cfg, key)
    if is_int(value) and value in allow:
        return
    extra = f" (or {', '.join(map(str, allow))})" if allow else ""
    require_int(key, value, 1, extra)


def _check_accelerator(trainer: DictConfig) -> None:
    import torch

    accelerator = str(trainer.get("accelerator", "auto"))
    known = ("auto", "cpu", "gpu", "cuda", "mps")
    if accelerator not in known:
        raise InvdnError(f"trainer.accelerator={accelerator!r}; accepted: {', '.join(known)}")
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
    """Checks that need no instantiation: numbers, devices, optional packages, files."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise InvdnError(f"cannot resolve the configuration: {_first_line(err)}") from err
    _positive_int(cfg, "trainer.max_steps", allow=(-1,))
    if cfg.trainer.get("max_steps") == -1 and cfg.trainer.get("max_epochs") in (None, -1):
        raise InvdnError("set trainer.max_steps (or trainer.max_epochs) to end training")
    require_number("system.lr", cfg.system.get("lr"), 0, " (the paper: 2.0e-4)")
    require_int("seed", cfg.get("seed"), 0)
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


def instantiate(cfg: DictConfig, key: str, **kwargs: Any) -> Any:
    """`hydra.utils.instantiate` of the node at dotted `key` (e.g. 'model', 'logger.csv') with
    plain containers; errors raised by the target (bad values) become `InvdnError` naming it."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    node = OmegaConf.select(cfg, key)
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise InvdnError(f"the configuration has no `{key}` node with a _target_")
    try:
        return hydra_instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause = err.__cause__ or err
        if isinstance(cause, InvdnError):
            raise cause from err
        message = _first_line(cause)
        if isinstance(cause, TypeError) and "unexpected keyword argument" in message:
            bad = re.search(r"argument '(\w+)'", message)
            name = f"{key}.{bad.group(1)}" if bad else key
            raise InvdnError(f"{name} is not an option of {node['_target_']}; "
                             "see `invdn train --cfg`") from err
        if not message.startswith(f"{key}."):
            message = f"{key}: {message}"
        raise InvdnError(message) from err
