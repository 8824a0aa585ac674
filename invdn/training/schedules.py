"""Learning-rate schedules built on `torch.optim.lr_scheduler.LambdaLR`, stepped once per
optimizer step. Configs name them with `_partial_: true` (`system.scheduler` in `conf/`), and
`DenoisingSystem` supplies the optimizer."""

from __future__ import annotations

import math

import torch

from invdn.schema import check, check_warmup


def warmup_cosine(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    min_factor: float = 0.0,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from ~0 to the base learning rate over `warmup_steps`, then a half-cosine
    down to `min_factor` × base at `total_steps` (held there afterwards, e.g. when a run is
    extended). Factors at step t: (t + 1) / warmup_steps while warming up, then
    min_factor + (1 − min_factor)·(1 + cos(π·progress)) / 2."""
    # ConfigError (a ValueError) naming the system.scheduler key, per the schema
    check("system.scheduler.total_steps", total_steps)
    check("system.scheduler.warmup_steps", warmup_steps)
    check_warmup(total_steps, warmup_steps)
    check("system.scheduler.min_factor", min_factor)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
