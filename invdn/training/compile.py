"""`system.compile` and `system.channels_last`: how the training step calls the model —
under `torch.compile` and/or in channels_last memory format — with the weights shared.

Only the calls the loss makes (`model(x)` and, for invertible models, `model.inverse(lr, z)`)
are compiled; the module itself is untouched, so checkpoints keep their keys and validation,
export and `invdn denoise` run the plain model (and its inference fast path).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile_mode(value: Any) -> str | None:
    """`system.compile` → a torch.compile mode or None (off): false/null → None, true →
    'default', or one of MODES."""
    if value is None or value is False:
        return None
    if value is True:
        return "default"
    if isinstance(value, str) and value in MODES:
        return value
    raise ValueError(f"system.compile must be false, true or one of {', '.join(MODES)}, "
                     f"got {value!r}")


class CompiledModel:
    """Calls `model(x)` and `model.inverse(lr, z)` through torch.compile (`mode`, `backend`;
    `mode=None`: not compiled); every other attribute is the model's own. `channels_last`
    converts the model's weights once (in place) and every input `x` to channels_last, where
    CPU (oneDNN) and GPU convolutions are fastest, above all in bf16."""

    def __init__(self, model: nn.Module, mode: str | None = "default",
                 backend: str = "inductor", channels_last: bool = False):
        self.model = model
        self.channels_last = channels_last
        if channels_last:
            model.to(memory_format=torch.channels_last)
        forward, inverse = model.forward, getattr(model, "inverse", None)
        if mode is not None:
            options = {} if backend != "inductor" else {"mode": mode}
            forward = torch.compile(forward, backend=backend, **options)
            inverse = None if inverse is None else torch.compile(inverse, backend=backend,
                                                                   **options)
        self._forward = forward
        if inverse is not None:
            self.inverse = inverse

    def __call__(self, x, *args, **kwargs):
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self._forward(x, *args, **kwargs)

    def __getattr__(self, name: str):
        # deepcopy/pickle (e.g. the EMA callback copying the system) probe attributes on an
        # instance whose __dict__ is still empty: that must be an AttributeError, not a KeyError.
        if "model" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["model"], name)
