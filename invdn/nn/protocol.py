"""What the rest of the project may ask of a denoising network, as `typing.Protocol`s.

Every model offers :class:`DenoisingModel`; invertible ones (InvDN) also :class:`Invertible`
(training runs their inverse pass) and :class:`LatentModel` (inference replaces their latent).
`isinstance(model, LatentModel)` checks the members are there, not their signatures.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class DenoisingModel(Protocol):
    """`multiple`: height and width must be multiples of it (the model pads where it can);
    `denoise(x)`: `(B, C, H, W)` in [0, 1] → same shape."""

    @property
    def multiple(self) -> int: ...

    def denoise(self, x: Tensor, samples: int = 1,
                generator: torch.Generator | None = None) -> Tensor: ...


@runtime_checkable
class Invertible(Protocol):
    """`model(x)` → `(lr, z)`; `inverse(lr, z)` → the image."""

    def inverse(self, lr: Tensor, z: Tensor) -> Tensor: ...


@runtime_checkable
class LatentModel(Invertible, Protocol):
    """An invertible model whose denoising replaces the latent `z` by a fresh draw."""

    @property
    def latent_channels(self) -> int: ...

    def sample_latent(self, lr: Tensor, generator: torch.Generator | None = None) -> Tensor: ...


def has_latent(model: object) -> bool:
    """True for invertible models whose denoising replaces a latent (InvDN)."""
    return isinstance(model, LatentModel)
