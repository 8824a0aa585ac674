"""Conversion to and from the original InvDN code's checkpoint layout.

The original keeps one flat `operations` list: a Haar layer (with a frozen `haar_weights`
tensor), that level's coupling blocks, the next Haar layer, and so on. Our `layers` list has the
same order and the same sub-module names, so keys map index for index.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from invdn.nn.haar import HaarDownsampling, haar_weights

WRAPPER_KEYS = ("state_dict", "params", "params_ema", "model", "net", "network", "netG")


def read_state_dict(source: str | Path | dict) -> dict[str, Tensor]:
    """A state dict from a path or a dict, unwrapping common container keys and
    `module.` prefixes (DataParallel)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        from invdn.tensorfile import load_file

        source = load_file(path)  # refuses pickled code in our words, as every loader does
    if not isinstance(source, dict):
        raise ValueError(f"expected a state dict, got {type(source).__name__}")
    for key in WRAPPER_KEYS:
        if key in source and isinstance(source[key], dict):
            return read_state_dict(source[key])
    return {k.removeprefix("module."): v for k, v in source.items() if isinstance(v, Tensor)}


def is_official(state: dict) -> bool:
    return any(k.startswith("operations.") for k in state)


def _describe(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(sorted(keys)[:limit])
    return shown + (f" … ({len(keys)} in all)" if len(keys) > limit else "")


def from_official_state_dict(state: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """Map an official state dict onto `model`'s keys; check Haar weights; list any key problems."""
    ours: dict[str, Tensor] = {}
    unknown: list[str] = []
    for key, value in state.items():
        head, _, rest = key.partition(".")
        index, _, rest = rest.partition(".")
        if head != "operations" or not index.isdigit() or int(index) >= len(model.layers):
            unknown.append(key)
            continue
        layer = model.layers[int(index)]
        if isinstance(layer, HaarDownsampling):
            if rest != "haar_weights":
                unknown.append(key)
            elif not torch.equal(value.float().cpu(), haar_weights(layer.channels)):
                raise ValueError(f"{key} is not the standard Haar filter bank; refusing to load")
            continue
        ours[f"layers.{index}.{rest}"] = value
    expected = set(model.state_dict())
    missing = sorted(expected - set(ours))
    unknown += sorted(set(ours) - expected)
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing keys: {_describe(missing)}")
        if unknown:
            problems.append(f"unexpected keys: {_describe(unknown)}")
        raise ValueError(
            "checkpoint does not match this InvDN architecture "
            f"({getattr(model, 'config', '')}): " + "; ".join(problems)
        )
    return ours


def to_official_state_dict(model: nn.Module) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for i, layer in enumerate(model.layers):
        if isinstance(layer, HaarDownsampling):
            out[f"operations.{i}.haar_weights"] = haar_weights(layer.channels)
            continue
        for key, value in layer.state_dict().items():
            out[f"operations.{i}.{key}"] = value.detach().clone()
    return out
