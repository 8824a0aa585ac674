"""An exponential moving average (EMA) of the weights, kept by Lightning's weight-averaging
callback: validation, `last.ckpt`/`best.ckpt` (their `state_dict`) and therefore every export
see the averaged weights; the raw weights travel in the checkpoint for resuming."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from lightning.pytorch.callbacks import WeightAveraging
from torch import Tensor

from invdn.schema import TRAIN_SCHEMA, check

# the schema's rule without null: the config's null (no average) builds no EMA at all
DECAY = dataclasses.replace(TRAIN_SCHEMA["callbacks.ema.decay"], null=False)


class EMA(WeightAveraging):
    """EMA of parameters and buffers with a warm-up of the decay: after n updates the decay is
    min(`decay`, (1 + n) / (10 + n)), so early weights (the random start) fade out quickly in
    short runs while long runs average over about 1 / (1 − `decay`) steps."""

    def __init__(self, decay: float = 0.999, **kwargs: Any) -> None:
        check("callbacks.ema.decay", decay, DECAY)
        self.decay = float(decay)
        super().__init__(multi_avg_fn=self._average, **kwargs)

    def _average(self, averaged: list[Tensor], current: list[Tensor],
                 num_averaged: Tensor | int) -> None:
        n = int(num_averaged)
        decay = min(self.decay, (1 + n) / (10 + n))
        torch._foreach_lerp_(averaged, current, 1 - decay)


def ema_callback(decay: float | None = None, **kwargs: Any) -> EMA | None:
    """The `callbacks.ema` config node: an `EMA` callback, or None (off) when `decay` is null."""
    return None if decay is None else EMA(decay, **kwargs)
