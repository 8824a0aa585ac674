"""Saving and loading model weights in the three formats invdn accepts.

- invdn weights (`invdn export`, shipped defaults): `{"invdn_weights": 1, "model": CONFIG,
  "state_dict": ...}` where CONFIG is the model's constructor config with a Hydra `_target_`.
- Lightning checkpoints from `invdn train`: `hyper_parameters["model"]` holds CONFIG and the
  state dict keys start with `model.`.
- The original InvDN code's `.pth` files: `operations.{i}…` keys (wrapped or not).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from invdn.errors import InvdnError
from invdn.io.atomic import write_atomic
from invdn.tensorfile import ACCEPTED, load_file

FORMAT_VERSION = 1


def model_config(model: nn.Module) -> dict[str, Any]:
    """The constructor config of a project model, with its Hydra `_target_`."""
    cls = type(model)
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"{cls.__name__} has no .config; cannot describe it for a checkpoint")
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **config}


def build_model(config: dict[str, Any]) -> nn.Module:
    """Instantiate a model from a `_target_` config (only classes inside `invdn`)."""
    config = dict(config)
    target = config.pop("_target_", None)
    if not isinstance(target, str) or not target.startswith("invdn."):
        raise InvdnError(f"model config has no usable _target_ inside invdn (got {target!r})")
    module_name, _, class_name = target.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**config)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """`torch.save` through a temporary file, fsynced, then renamed over `path`."""
    write_atomic(path, lambda p: torch.save(obj, p), durable=True)


def save_weights(model: nn.Module, path: str | Path, half: bool = False) -> None:
    """Write `model` as invdn weights (optionally float16 to halve the size)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in model.state_dict().items()}
    atomic_torch_save(
        {"invdn_weights": FORMAT_VERSION, "model": model_config(model), "state_dict": state}, path
    )


def check_fit(model: nn.Module, state: dict[str, Any], what: str = "weights") -> None:
    """InvdnError naming the first key of `state` that `model` lacks, that is missing, or whose
    shape differs (with both shapes) — before load_state_dict's multi-line report."""
    own = model.state_dict()
    name = type(model).__name__
    for key, value in state.items():
        if key not in own:
            raise InvdnError(f"{what} do not fit {name}: the file has {key!r}, which the model "
                             "lacks; the file holds another architecture")
        if hasattr(value, "shape") and tuple(value.shape) != tuple(own[key].shape):
            raise InvdnError(f"{what} do not fit {name}: {key} has shape {tuple(value.shape)} "
                             f"in the file but {tuple(own[key].shape)} in the model; the file "
                             "was trained with other model settings")
    missing = [k for k in own if k not in state]
    if missing:
        raise InvdnError(f"{what} do not fit {name}: {missing[0]!r} is missing from the file "
                         f"({len(missing)} keys missing); the file holds another architecture")


def detect_format(obj: Any) -> str:
    """'invdn', 'lightning' or 'official' for a loaded checkpoint object."""
    from invdn.nn.official import is_official, read_state_dict

    if isinstance(obj, dict) and "invdn_weights" in obj:
        return "invdn"
    if isinstance(obj, dict) and "state_dict" in obj and "hyper_parameters" in obj:
        return "lightning"
    if isinstance(obj, dict):
        try:
            if is_official(read_state_dict(obj)):
                return "official"
        except ValueError:
            pass
    raise InvdnError(f"unrecognised weights: a PyTorch file, but none of the formats invdn "
                     f"reads; {ACCEPTED}")


def load_model(source: str | Path | dict, **official_kwargs: Any) -> nn.Module:
    """Load a model from any accepted weights format; returns it in eval mode on CPU."""
    from invdn.nn import InvDN
    from invdn.nn.official import from_official_state_dict, read_state_dict

    obj = load_file(Path(source)) if isinstance(source, str | Path) else source
    kind = detect_format(obj)
    try:
        if kind == "official":
            model = InvDN(**official_kwargs)
            state = from_official_state_dict(read_state_dict(obj), model)
        elif kind == "invdn":
            model = build_model(obj["model"])
            state = {k: v.float() if v.is_floating_point() else v
                     for k, v in obj["state_dict"].items()}
        else:
            config = obj["hyper_parameters"].get("model")
            if not isinstance(config, dict):
                raise InvdnError("Lightning checkpoint has no model config in hyper_parameters")
            model = build_model(config)
            prefix = "model."
            state = {k[len(prefix):]: v for k, v in obj["state_dict"].items()
                     if k.startswith(prefix)}
        check_fit(model, state)
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError) as err:
        raise InvdnError(f"weights do not fit the model: {str(err).splitlines()[0]}") from err
    return model.eval()
