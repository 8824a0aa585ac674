"""DANet (Yue et al., ECCV 2020) networks, built as real modules so the size comparison with
InvDN is counted from code: the U-Net denoiser R, the generator G and the discriminator D."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from invdn.nn.padding import pad_to_multiple


def _conv_block(cin: int, cout: int, slope: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(slope),
        nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(slope),
    )


class UNet(nn.Module):
    """DANet's U-Net: `depth` levels of two 3x3 conv + LeakyReLU, widths `wf·2^i`, 4x4 stride-2
    conv down (no bias), 2x2 transposed conv up, skip concat, final 3x3 conv to `out_channels`.
    `(B, in_channels, H, W)` with H, W multiples of 2^(depth−1) → `(B, out_channels, H, W)`."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, wf: int = 32, depth: int = 5,
                 slope: float = 0.2) -> None:
        super().__init__()
        self.depth = depth
        widths = [wf * 2**i for i in range(depth)]
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        prev = in_channels
        for i, w in enumerate(widths):
            self.down.append(_conv_block(prev, w, slope))
            if i < depth - 1:
                self.pool.append(nn.Conv2d(w, w, 4, stride=2, padding=1, bias=False))
            prev = w
        self.up = nn.ModuleList()
        self.up_conv = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(prev, w, 2, stride=2))
            self.up_conv.append(_conv_block(2 * w, w, slope))
            prev = w
        self.last = nn.Conv2d(prev, out_channels, 3, padding=1)

    @property
    def multiple(self) -> int:
        return 2 ** (self.depth - 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth - 1:
                skips.append(x)
                x = self.pool[i](x)
        for up, block, skip in zip(self.up, self.up_conv, reversed(skips), strict=True):
            x = block(torch.cat((up(x), skip), dim=1))
        return self.last(x)


class DANetDenoiser(nn.Module):
    """DANet's denoiser R with a residual output: `y − R(y)`. Any size: reflect-padded
    internally to a multiple of 16 and cropped back. `(B, 3, H, W)` in [0, 1] → same shape."""

    def __init__(self, in_channels: int = 3, wf: int = 32, depth: int = 5, slope: float = 0.2):
        super().__init__()
        self.net = UNet(in_channels, in_channels, wf, depth, slope)
        self.config = dict(in_channels=in_channels, wf=wf, depth=depth, slope=slope)

    @property
    def multiple(self) -> int:
        return 1  # pads internally

    def forward(self, y: Tensor) -> Tensor:
        padded, (h, w) = pad_to_multiple(y, self.net.multiple)
        return (padded - self.net(padded))[..., :h, :w]

    @torch.no_grad()
    def denoise(self, x: Tensor, samples: int = 1, generator: torch.Generator | None = None):
        """Same call as :meth:`InvDN.denoise`; deterministic, so `samples` is ignored."""
        return self(x)


class DANetGenerator(nn.Module):
    """DANet's noise generator G: the U-Net on (clean image, one N(0,1) map), residual:
    `(B, 3, H, W)` clean → `(B, 3, H, W)` noisy."""

    def __init__(self, in_channels: int = 3, wf: int = 32, depth: int = 5, slope: float = 0.2):
        super().__init__()
        self.net = UNet(in_channels + 1, in_channels, wf, depth, slope)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        noise = torch.randn((x.shape[0], 1, *x.shape[-2:]), generator=generator,
                            device=x.device, dtype=x.dtype)
        padded, (h, w) = pad_to_multiple(torch.cat((x, noise), dim=1), self.net.multiple)
        return (padded[:, :-1] + self.net(padded))[..., :h, :w]


class DANetDiscriminator(nn.Module):
    """DANet's discriminator on a 128x128 (image, image) pair `(B, 6, 128, 128)` → `(B, 1)`."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, slope: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_channels
        for i in range(5):
            layers += [nn.Conv2d(prev, ndf * 2**i, 4, stride=2, padding=1, bias=False),
                       nn.LeakyReLU(slope)]
            prev = ndf * 2**i
        layers += [nn.Conv2d(prev, prev * 2, 4, bias=False), nn.LeakyReLU(slope)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(prev * 2, 1)

    def forward(self, pair: Tensor) -> Tensor:
        return self.head(self.features(pair).flatten(1))
