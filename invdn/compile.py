"""`system.compile`: the training step's model calls under `torch.compile`, weights shared.

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
    """Calls `model(x)` and `model.inverse(lr, z)` through torch.compile (`mode`, `backend`);
    every other attribute is the model's own."""

    def __init__(self, model: nn.Module, mode: str = "default", backend: str = "inductor"):
        self.model = model
        options = {} if backend != "inductor" else {"mode": mode}
        self._forward = torch.compile(model.forward, backend=backend, **options)
        if hasattr(model, "inverse"):
            self.inverse = torch.compile(model.inverse, backend=backend, **options)

    def __call__(self, *args, **kwargs):
        return self._forward(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.__dict__["model"], name)
