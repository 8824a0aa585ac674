"""Parameter counts, computed from the modules themselves."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter elements of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
