"""The small convolutional networks F, G, H inside each coupling block."""

from __future__ import annotations

import torch
from torch import Tensor, nn

SUBNET_TYPES = ("resnet", "dense")


class ResnetSubnet(nn.Module):
    """InvDN's "Resnet" sub-network: two 3x3 conv + LeakyReLU, then a 3x3 conv over
    `cat(input, features)`. `(B, cin, H, W)` → `(B, cout, H, W)`; PyTorch default init."""

    def __init__(self, cin: int, cout: int, width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width + cin, cout, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)

    @property
    def last_conv(self) -> nn.Conv2d:
        return self.conv3

    def forward(self, x: Tensor) -> Tensor:
        h = self.act(self.conv1(x))
        h = self.act(self.conv2(h))
        return self.conv3(torch.cat((x, h), dim=1))


class DenseSubnet(nn.Module):
    """The "DBNet" dense block: five 3x3 convs with growth `growth`, each seeing all earlier
    features; Xavier init scaled by 0.1 and a zero last conv, so a fresh block is the identity."""

    def __init__(self, cin: int, cout: int, growth: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, growth, 3, padding=1)
        self.conv2 = nn.Conv2d(cin + growth, growth, 3, padding=1)
        self.conv3 = nn.Conv2d(cin + 2 * growth, growth, 3, padding=1)
        self.conv4 = nn.Conv2d(cin + 3 * growth, growth, 3, padding=1)
        self.conv5 = nn.Conv2d(cin + 4 * growth, cout, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            nn.init.xavier_normal_(conv.weight)
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.conv5.weight)
        nn.init.zeros_(self.conv5.bias)

    @property
    def last_conv(self) -> nn.Conv2d:
        return self.conv5

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(self.act(conv(torch.cat(feats, dim=1))))
        return self.conv5(torch.cat(feats, dim=1))


def make_subnet(kind: str, cin: int, cout: int, width: int = 64) -> nn.Module:
    """Build a sub-network by name: `"resnet"` (feature width `width`) or `"dense"`
    (growth `width // 2`, i.e. the original 32 at the default width 64)."""
    if kind == "resnet":
        return ResnetSubnet(cin, cout, width)
    if kind == "dense":
        return DenseSubnet(cin, cout, max(1, width // 2))
    raise ValueError(f"unknown subnet {kind!r}; choose one of {', '.join(SUBNET_TYPES)}")
