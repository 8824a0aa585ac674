"""InvDN: Haar squeezes and coupling blocks that split a noisy image into a clean
low-resolution image and a noise-carrying latent, and invert back."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from invdn.nn.coupling import CouplingBlock
from invdn.nn.fast import fast_forward, fast_inverse, fast_path_applies
from invdn.nn.haar import HaarDownsampling
from invdn.nn.reversible import MemoryMode, parse_memory_mode, run_invertible

INITS = ("default", "identity")


class InvDN(nn.Module):
    """Invertible denoising network.

    `lr, z = model(x)`: x `(B, C, H, W)` (C = `in_channels`, images in [0, 1], H and W multiples
    of `2**levels`) → lr `(B, C, H/2^L, W/2^L)`, z `(B, C·4^L − C, H/2^L, W/2^L)`.
    `model.inverse(lr, z)` is the exact inverse. `memory_efficient`: a
    :data:`~invdn.nn.reversible.MemoryMode` — "standard" (= False), "reversible" (= True:
    recompute activations from outputs, RevNet-style) or "checkpoint" (torch.utils.checkpoint,
    for comparison); `model.memory_mode` is the mode it names.
    `init`: "default" (PyTorch's, as the paper's code) or "identity" (the last convolution of every
    F, G and H zeroed, so each fresh coupling block is the identity, as in Glow); it only chooses
    the starting weights, so it is not part of `config`.
    `keep`: how many channels of the last level's output form the kept image `lr` (default
    `in_channels`, the paper's: the clean low-resolution image; the forward loss supervises its
    first `in_channels`). The rest is the latent that denoising resamples; keeping more channels
    keeps more of the image's detail through the bottleneck.
    """

    def __init__(
        self,
        in_channels: int = 3,
        levels: int = 2,
        blocks: int | Sequence[int] = (8, 8),
        subnet: str = "resnet",
        width: int = 64,
        clamp: float = 1.0,
        memory_efficient: bool | MemoryMode = False,
        init: str = "default",
        keep: int | None = None,
    ) -> None:
        super().__init__()
        blocks = [blocks] * levels if isinstance(blocks, int) else list(blocks)
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        if len(blocks) != levels or any(int(b) < 0 for b in blocks):
            raise ValueError(f"blocks must be one count >= 0 per level ({levels}), got {blocks}")
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self.in_channels, self.levels, self.blocks = in_channels, levels, [int(b) for b in blocks]
        self.memory_efficient = memory_efficient
        # Under torch.no_grad / inference_mode, forward and inverse take the fast path of
        # invdn.nn.fast (same results to ~1e-6); False runs the modules as written.
        self.fast_inference = True
        layers: list[nn.Module] = []
        channels = in_channels
        for n in self.blocks:
            layers.append(HaarDownsampling(channels))
            channels *= 4
            layers += [CouplingBlock(channels, in_channels, subnet, width, clamp) for _ in range(n)]
        self.layers = nn.ModuleList(layers)
        self.out_channels = channels
        self.keep = in_channels if keep is None else int(keep)
        if not in_channels <= self.keep < channels:
            raise ValueError(f"keep must be in [{in_channels}, {channels}) for {levels} level(s), "
                             f"got {keep}")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
        if init == "identity":
            for layer in self.layers:
                if isinstance(layer, CouplingBlock):
                    layer.zero_last_convs()
        self.config = dict(in_channels=in_channels, levels=levels, blocks=self.blocks,
                           subnet=subnet, width=width, clamp=clamp)
        if self.keep != in_channels:  # absent for the paper's layout: older weights files match
            self.config["keep"] = self.keep

    @property
    def memory_efficient(self) -> bool | MemoryMode:
        """The value as given (configs say false/true or a mode's name)."""
        return self._memory_efficient

    @memory_efficient.setter
    def memory_efficient(self, value: bool | MemoryMode) -> None:
        self._mode = parse_memory_mode(value, "memory_efficient")
        self._memory_efficient = value

    @property
    def memory_mode(self) -> MemoryMode:
        """The memory mode that `memory_efficient` names."""
        return self._mode

    @property
    def multiple(self) -> int:
        """Height and width must be multiples of this (2**levels)."""
        return 2**self.levels

    @property
    def latent_channels(self) -> int:
        return self.out_channels - self.keep

    def check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(
                f"height and width must be multiples of {self.multiple} for {self.levels} levels, "
                f"got {h}x{w}; pad the image first (invdn denoise pads automatically)"
            )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x `(B, C, H, W)` → (lr `(B, keep, h, w)`, z `(B, latent_channels, h, w)`)."""
        self.check_input(x)
        if fast_path_applies(self, x):
            return fast_forward(self, x)
        out = run_invertible(self.layers, x, reverse=False, mode=self._mode)
        return out[:, : self.keep], out[:, self.keep :]

    def inverse(self, lr: Tensor, z: Tensor) -> Tensor:
        """(lr, z) → image `(B, C, H, W)`; the exact inverse of :meth:`forward`."""
        if lr.shape[1] != self.keep or z.shape[1] != self.latent_channels:
            raise ValueError(
                f"expected lr with {self.keep} and z with {self.latent_channels} channels, "
                f"got {lr.shape[1]} and {z.shape[1]}"
            )
        if fast_path_applies(self, lr):
            return fast_inverse(self, lr, z)
        return run_invertible(self.layers, torch.cat((lr, z), dim=1), reverse=True, mode=self._mode)

    def sample_latent(self, lr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A fresh N(0, I) latent matching `lr`, `(B, latent_channels, h, w)`."""
        shape = (lr.shape[0], self.latent_channels, *lr.shape[-2:])
        return torch.randn(shape, generator=generator, device=lr.device, dtype=lr.dtype)

    @torch.inference_mode()
    def denoise(
        self, x: Tensor, samples: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        """Noisy `(B, C, H, W)` in [0, 1] → denoised, same shape (not clamped).

        The latent is replaced by `samples` fresh Gaussian draws and the inverses averaged.
        The forward pass computes only the low-resolution image (the latent it would give is
        discarded anyway).
        """
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        self.check_input(x)
        lr = fast_forward(self, x, need_latent=False)[0] if fast_path_applies(self, x) else self(x)[0]
        out = self.inverse(lr, self.sample_latent(lr, generator))
        for _ in range(samples - 1):
            out += self.inverse(lr, self.sample_latent(lr, generator))
        return out / samples if samples > 1 else out

    @classmethod
    def from_official(cls, checkpoint: str | dict, **kwargs) -> InvDN:
        """Build from a checkpoint of the original InvDN code (`operations.{i}.F.conv1.weight`, …),
        a path or a state dict (also wrapped under 'state_dict', 'params', 'model', …).
        Architecture arguments default to the paper's model; pass them for other variants."""
        from invdn.nn.official import from_official_state_dict, read_state_dict

        model = cls(**kwargs)
        model.load_state_dict(from_official_state_dict(read_state_dict(checkpoint), model))
        return model

    def to_official(self) -> dict[str, Tensor]:
        """This model's weights in the original code's key layout, Haar weights included."""
        from invdn.nn.official import to_official_state_dict

        return to_official_state_dict(self)
