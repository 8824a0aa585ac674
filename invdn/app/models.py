"""The weights a server offers, loaded once at start and kept on the serving device."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from invdn.errors import InvdnError
from invdn.inference.loading import default_weights_path, load_checkpoint_or_default
from invdn.nn.sizes import count_parameters

DEFAULT_NAME = "default"


@dataclass(frozen=True)
class ServedModel:
    """One set of weights: `name` (what requests pick), the model in eval mode on the serving
    device, its parameter count, where it came from and its class name."""

    name: str
    model: nn.Module
    parameters: int
    source: str
    kind: str

    def describe(self) -> dict:
        return {"name": self.name, "parameters": self.parameters, "source": self.source,
                "kind": self.kind, "multiple": int(getattr(self.model, "multiple", 1))}


class ModelRegistry:
    """Named models in start order; the first one is what requests get without `model=`."""

    def __init__(self, models: list[ServedModel], device: torch.device) -> None:
        if not models:
            raise InvdnError("no weights to serve; pass --checkpoint PATH or install the defaults")
        self.device = device
        self._models = {m.name: m for m in models}

    @classmethod
    def load(cls, checkpoints: list[str | Path] = (), device: torch.device | None = None,
             include_default: bool = True) -> ModelRegistry:
        """Load the shipped default weights (when installed and `include_default`) and every
        checkpoint, each once, onto `device` (CPU when None). Names: 'default', then each
        file's stem made unique ('invdn', 'invdn-2', …)."""
        device = device or torch.device("cpu")
        sources: list[tuple[str, Path | None]] = []
        if include_default and default_weights_path().is_file():
            sources.append((DEFAULT_NAME, None))
        for path in map(Path, checkpoints):
            sources.append((re.sub(r"[^\w.-]+", "_", path.stem) or "weights", path))
        taken: set[str] = set()
        models = []
        for stem, path in sources:
            name, n = stem, 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}"
            taken.add(name)
            model = load_checkpoint_or_default(path).eval().to(device)
            source = "shipped default weights" if path is None else path.name
            models.append(ServedModel(name, model, count_parameters(model), source,
                                      type(model).__name__))
        return cls(models, device)

    @property
    def default(self) -> ServedModel:
        return next(iter(self._models.values()))

    def get(self, name: str | None) -> ServedModel:
        """The model called `name` (the first one for None or ''); InvdnError when unknown."""
        if not name:
            return self.default
        try:
            return self._models[name]
        except KeyError:
            raise InvdnError(f"unknown model {name!r}; GET /api/models lists the names "
                             f"({', '.join(self._models)})") from None

    def __iter__(self):
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)
