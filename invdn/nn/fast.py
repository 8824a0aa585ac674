"""Inference-only fast path for InvDN with `resnet` sub-networks.

Same mathematics as the modules, arranged for speed:
- the two halves (x1, x2) of every block stay separate tensors between blocks, so no slicing
  and concatenation per block (in channels_last a channel slice is a strided copy);
- G and H read the same input: their first convolutions run as one, the second ones as a
  grouped convolution, the last ones as one grouped convolution;
- `conv3(cat(x, h))` is computed as `conv(x) + conv(h)`, which avoids the concatenation;
- channels_last memory format (faster convolutions on CPU and GPU);
- the forward pass of `denoise` only needs the low-resolution image, so the last block's G and
  H (which only feed the discarded latent) are skipped.
Weights are re-arranged on every call (a few MB), so the fast path never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from invdn.nn.coupling import CouplingBlock
from invdn.nn.haar import HaarDownsampling, haar_forward, haar_inverse
from invdn.nn.subnets import ResnetSubnet

CL = torch.channels_last


def _cl(t: Tensor) -> Tensor:
    return t.contiguous(memory_format=CL) if t.ndim == 4 else t


def _onednn_fusion_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


_FUSED = _onednn_fusion_available()


def _conv_lrelu(x: Tensor, w: Tensor, b: Tensor, groups: int) -> Tensor:
    """3x3 conv + LeakyReLU(0.2); on CPU float32 one oneDNN call with the activation fused
    (bit-identical to the two-step version, one pass less over memory)."""
    on_cpu_fp32 = x.device.type == "cpu" and x.dtype == torch.float32
    if _FUSED and on_cpu_fp32 and not torch.is_autocast_enabled("cpu"):
        one = [1, 1]
        return torch.ops.mkldnn._convolution_pointwise(x, w, b, one, one, one, groups,
                                                        "leaky_relu", [0.2], "")
    return F.leaky_relu_(F.conv2d(x, w, b, padding=1, groups=groups), 0.2)


@dataclass(frozen=True)
class _Subnet:
    """A ResnetSubnet (or G and H stacked, `groups=2`) with conv3 split into input/feature parts."""

    w1: Tensor
    b1: Tensor
    w2: Tensor
    b2: Tensor
    w3_in: Tensor
    w3_feat: Tensor
    b3: Tensor
    groups: int

    @classmethod
    def build(cls, nets: list[ResnetSubnet]) -> _Subnet:
        cin = nets[0].conv1.in_channels
        joined = lambda f: torch.cat([f(n) for n in nets])  # noqa: E731
        return cls(
            w1=_cl(joined(lambda n: n.conv1.weight)), b1=joined(lambda n: n.conv1.bias),
            w2=_cl(joined(lambda n: n.conv2.weight)), b2=joined(lambda n: n.conv2.bias),
            w3_in=_cl(joined(lambda n: n.conv3.weight[:, :cin])),
            w3_feat=_cl(joined(lambda n: n.conv3.weight[:, cin:])),
            b3=joined(lambda n: n.conv3.bias),
            groups=len(nets),
        )

    def __call__(self, x: Tensor) -> Tensor:
        h = _conv_lrelu(x, self.w1, self.b1, 1)
        h = _conv_lrelu(h, self.w2, self.b2, self.groups)
        out = F.conv2d(h, self.w3_feat, self.b3, padding=1, groups=self.groups)
        return out.add_(F.conv2d(x, self.w3_in, padding=1))


@dataclass(frozen=True)
class _Block:
    F: _Subnet
    GH: _Subnet
    split_out: int  # channels of G's output (= H's)
    clamp: float

    @classmethod
    def build(cls, block: CouplingBlock) -> _Block:
        return cls(_Subnet.build([block.F]), _Subnet.build([block.G, block.H]),
                   block.channels - block.split, block.clamp)

    def g_and_scale(self, y1: Tensor) -> tuple[Tensor, Tensor]:
        gh = self.GH(y1)
        g, h = gh[:, : self.split_out], gh[:, self.split_out :]
        return g, torch.sigmoid(h).mul_(2 * self.clamp).sub_(self.clamp).exp_()

    def forward(self, x1: Tensor, x2: Tensor, need_x2: bool = True) -> tuple[Tensor, Tensor | None]:
        y1 = x1 + self.F(x2)
        if not need_x2:
            return y1, None
        g, scale = self.g_and_scale(y1)
        return y1, torch.addcmul(g, x2, scale)

    def inverse(self, y1: Tensor, y2: Tensor) -> tuple[Tensor, Tensor]:
        g, scale = self.g_and_scale(y1)
        x2 = (y2 - g).div_(scale)
        return y1 - self.F(x2), x2


def supports_fast_path(model) -> bool:
    """True when every block of `model` uses `resnet` sub-networks."""
    return all(isinstance(layer, HaarDownsampling) or isinstance(layer.F, ResnetSubnet)
               for layer in model.layers)


def _levels(model) -> list[list[_Block]]:
    levels: list[list[_Block]] = []
    for layer in model.layers:
        if isinstance(layer, HaarDownsampling):
            levels.append([])
        else:
            levels[-1].append(_Block.build(layer))
    return levels


def _split(t: Tensor, k: int) -> tuple[Tensor, Tensor]:
    return _cl(t[:, :k]), _cl(t[:, k:])


def fast_path_applies(model, x: Tensor) -> bool:
    """Whether `model` may run the fast path on `x` now: inference (no autograd graph), resnet
    sub-networks, and not while being traced or compiled for export (the fused oneDNN call is
    not an exportable operator)."""
    return (
        not torch.is_grad_enabled()
        and getattr(model, "fast_inference", False)
        and not torch.jit.is_tracing()
        and not torch.jit.is_scripting()
        and not torch.onnx.is_in_onnx_export()
        and not torch.compiler.is_compiling()
        and supports_fast_path(model)
    )


@torch.no_grad()
def fast_forward(model, x: Tensor, need_latent: bool = True) -> tuple[Tensor, Tensor | None]:
    """`model(x)` → (lr, z); with `need_latent=False` z is None and the work that only feeds
    it (the last block's G and H) is skipped."""
    k = model.in_channels
    extra = model.keep - k  # kept channels beyond the coupling's first branch
    need_latent = need_latent or extra > 0
    levels = _levels(model)
    t = x
    for i, blocks in enumerate(levels):
        a, b = _split(haar_forward(t), k)
        last_level = i == len(levels) - 1
        for j, block in enumerate(blocks):
            skip = last_level and j == len(blocks) - 1 and not need_latent
            a, b = block.forward(a, b, need_x2=not skip)
        if not last_level:
            t = torch.cat((a, b), dim=1)
    if extra:
        return torch.cat((a, b[:, :extra]), dim=1).contiguous(), b[:, extra:].contiguous()
    return a.contiguous(), (b.contiguous() if b is not None else None)


@torch.no_grad()
def fast_inverse(model, lr: Tensor, z: Tensor) -> Tensor:
    """`model.inverse(lr, z)`, fast."""
    k = model.in_channels
    a, b = _cl(lr[:, :k]), _cl(torch.cat((lr[:, k:], z), dim=1))
    levels = _levels(model)
    for i, blocks in enumerate(reversed(levels)):
        for block in reversed(blocks):
            a, b = block.inverse(a, b)
        t = haar_inverse(torch.cat((a, b), dim=1))
        if i < len(levels) - 1:
            a, b = _split(t, k)
    return t.contiguous()
