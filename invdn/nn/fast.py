"""Inference-only fast path for InvDN with `resnet` sub-networks.

Same mathematics as the modules, arranged for speed:
- the two halves (x1, x2) of every block stay separate tensors between blocks, so no slicing
  and concatenation per block (in channels_last a channel slice is a strided copy);
- G and H read the same input: on GPU their first convolutions run as one, the second ones as
  a grouped convolution, the last ones as one grouped convolution (on CPU separately, which
  oneDNN runs faster);
- `conv3(cat(x, h))` is computed as `conv(x) + conv(h)`, which avoids the concatenation;
- channels_last memory format (faster convolutions on CPU and GPU);
- the forward pass of `denoise` only needs the low-resolution image, so the last block's G and
  H (which only feed the discarded latent) are skipped.
The coupling equations themselves are `invdn.nn.coupling`'s, called with these sub-networks.

Reduced precision: under `torch.autocast(device, dtype=torch.bfloat16)` (or float16) the
convolutions run in that dtype with weights converted once, while the Haar transform, the
coupling state (x1, x2), the additions, exp(s) and the division of the inverse stay in
float32. F, G and H see the same bf16 inputs in forward and inverse, so the inverse still
undoes the forward closely (where a reconstructed input rounds to the neighbouring bf16 value,
an error of ~1e-4 enters, a small fraction of a grey level); the denoised values move by bf16's
rounding of each sub-network output (measured in bench/precision.py).

The re-arranged weights are cached per model and dtype and rebuilt whenever a parameter changes
(in-place updates bump its version counter; `.to()` or reassignment changes its storage), so
the fast path never goes stale.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invdn.nn.coupling import CouplingBlock, coupling_forward, coupling_inverse, log_scale
from invdn.nn.haar import HaarDownsampling, haar_forward, haar_inverse
from invdn.nn.subnets import ResnetSubnet

CL = torch.channels_last
REDUCED = (torch.bfloat16, torch.float16)


def _cl(t: Tensor) -> Tensor:
    return t.contiguous(memory_format=CL) if t.ndim == 4 else t


def _onednn_fusion_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


_FUSED = _onednn_fusion_available()


def _conv_lrelu(x: Tensor, w: Tensor, b: Tensor, groups: int) -> Tensor:
    """3x3 conv + LeakyReLU(0.2); on CPU (float32 or bfloat16) one oneDNN call with the
    activation fused (bit-identical to the two-step version, one pass less over memory)."""
    on_cpu = x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16)
    if _FUSED and on_cpu and not torch.is_autocast_enabled("cpu"):
        one = [1, 1]
        return torch.ops.mkldnn._convolution_pointwise(x, w, b, one, one, one, groups,
                                                        "leaky_relu", [0.2], "")
    return F.leaky_relu_(F.conv2d(x, w, b, padding=1, groups=groups), 0.2)


@dataclass(frozen=True)
class _Subnet:
    """A ResnetSubnet (or G and H stacked, `groups=2`) with conv3 split into input/feature
    parts; weights in the compute dtype, channels_last."""

    w1: Tensor
    b1: Tensor
    w2: Tensor
    b2: Tensor
    w3_in: Tensor
    w3_feat: Tensor
    b3: Tensor
    groups: int

    @classmethod
    def build(cls, nets: list[ResnetSubnet], dtype: torch.dtype) -> _Subnet:
        cin = nets[0].conv1.in_channels

        def joined(f) -> Tensor:
            return _cl(torch.cat([f(n) for n in nets]).to(dtype))

        return cls(
            w1=joined(lambda n: n.conv1.weight), b1=joined(lambda n: n.conv1.bias),
            w2=joined(lambda n: n.conv2.weight), b2=joined(lambda n: n.conv2.bias),
            w3_in=joined(lambda n: n.conv3.weight[:, :cin]),
            w3_feat=joined(lambda n: n.conv3.weight[:, cin:]),
            b3=joined(lambda n: n.conv3.bias),
            groups=len(nets),
        )

    def __call__(self, x: Tensor) -> Tensor:
        """`x` float32 `(B, cin, h, w)` → float32 `(B, groups·cout, h, w)`; the convolutions
        run in the weights' dtype, the two halves of conv3 are summed in float32."""
        xc = x.to(self.w1.dtype)
        h = _conv_lrelu(xc, self.w1, self.b1, 1)
        h = _conv_lrelu(h, self.w2, self.b2, self.groups)
        out = F.conv2d(h, self.w3_feat, self.b3, padding=1, groups=self.groups)
        if out.dtype != x.dtype:
            out = out.to(x.dtype)
        return out.add_(F.conv2d(xc, self.w3_in, padding=1))


@dataclass(frozen=True)
class _Block:
    """One coupling block. `GH` holds G and H stacked (one grouped convolution each, then the
    outputs sliced) or `G` and `H` separately: on CPU oneDNN's grouped convolutions are slower
    than two plain ones and the channel slices of a channels_last tensor make every following
    elementwise operation strided, so there the two run separately."""

    F: _Subnet
    GH: _Subnet | None
    G: _Subnet | None
    H: _Subnet | None
    split_out: int  # channels of G's output (= H's)
    clamp: float

    @classmethod
    def build(cls, block: CouplingBlock, dtype: torch.dtype, stack_gh: bool) -> _Block:
        f = _Subnet.build([block.F], dtype)
        split_out = block.channels - block.split
        if stack_gh:
            return cls(f, _Subnet.build([block.G, block.H], dtype), None, None, split_out,
                       block.clamp)
        return cls(f, None, _Subnet.build([block.G], dtype), _Subnet.build([block.H], dtype),
                   split_out, block.clamp)

    def g_and_log_scale(self, y1: Tensor) -> tuple[Tensor, Tensor]:
        """G(y1) and s = clamp·(2σ(H(y1)) − 1), in float32."""
        if self.GH is not None:
            gh = self.GH(y1)
            g, h = gh[:, : self.split_out], gh[:, self.split_out :]
        else:
            g, h = self.G(y1), self.H(y1)
        return g, log_scale(h, self.clamp)

    def forward(self, x1: Tensor, x2: Tensor, need_x2: bool = True) -> tuple[Tensor, Tensor | None]:
        return coupling_forward(x1, x2, self.F, self.g_and_log_scale, need_y2=need_x2, fused=True)

    def inverse(self, y1: Tensor, y2: Tensor) -> tuple[Tensor, Tensor]:
        return coupling_inverse(y1, y2, self.F, self.g_and_log_scale)


def supports_fast_path(model) -> bool:
    """True when every block of `model` uses `resnet` sub-networks."""
    return all(isinstance(layer, HaarDownsampling) or isinstance(layer.F, ResnetSubnet)
               for layer in model.layers)


# model → (parameter signature, compute dtype, levels); weak keys: no model is kept alive.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _signature(model: nn.Module) -> tuple:
    """Changes whenever any parameter's values may have changed: in-place updates bump
    `_version`; `.to()`, `load_state_dict(assign=True)` or `p.data = …` change the storage
    (the cache keeps the old storage alive, so its address cannot be reused meanwhile)."""
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in model.parameters())


def _levels(model, dtype: torch.dtype) -> list[list[_Block]]:
    """The model's blocks re-arranged for `dtype`, per Haar level (cached, see `_CACHE`)."""
    signature = _signature(model)
    hit = _CACHE.get(model)
    if hit is not None and hit[0] == signature and hit[1] == dtype:
        return hit[2]
    stack_gh = next(model.parameters()).device.type != "cpu"
    levels: list[list[_Block]] = []
    with torch.no_grad():
        for layer in model.layers:
            if isinstance(layer, HaarDownsampling):
                levels.append([])
            else:
                levels[-1].append(_Block.build(layer, dtype, stack_gh))
    # the parameters themselves ride along so their storage outlives the signature
    _CACHE[model] = (signature, dtype, levels, [p.detach() for p in model.parameters()])
    return levels


def compute_dtype(x: Tensor) -> torch.dtype:
    """The convolutions' dtype for `x`: autocast's bf16/fp16 when autocast is on for x's
    device, else x's own dtype."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
        if dtype in REDUCED:
            return dtype
    return x.dtype


def _split(t: Tensor, k: int) -> tuple[Tensor, Tensor]:
    return _cl(t[:, :k]), _cl(t[:, k:])


def fast_path_applies(model, x: Tensor) -> bool:
    """Whether `model` may run the fast path on `x` now: inference (no autograd graph), resnet
    sub-networks, and not while being traced or compiled for export (the fused oneDNN call is
    not an exportable operator), nor on the meta device (shape-only runs such as MAC counting:
    autocast has no meta backend)."""
    return (
        not torch.is_grad_enabled()
        and x.device.type != "meta"
        and getattr(model, "fast_inference", False)
        and not torch.jit.is_tracing()
        and not torch.jit.is_scripting()
        and not torch.onnx.is_in_onnx_export()
        and not torch.compiler.is_compiling()
        and supports_fast_path(model)
    )


def _float32(t: Tensor) -> Tensor:
    return t.float() if t.dtype in REDUCED else t


@torch.no_grad()
def fast_forward(model, x: Tensor, need_latent: bool = True) -> tuple[Tensor, Tensor | None]:
    """`model(x)` → (lr, z); with `need_latent=False` z is None and the work that only feeds
    it (the last block's G and H) is skipped. Under bf16/fp16 autocast the convolutions run in
    that dtype; lr and z are float32 either way (float64 in, float64 out)."""
    k = model.in_channels
    extra = model.keep - k  # kept channels beyond the coupling's first branch
    need_latent = need_latent or extra > 0
    levels = _levels(model, compute_dtype(x))
    t = _float32(x)
    with torch.autocast(x.device.type, enabled=False):  # our dtypes are explicit
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
    """`model.inverse(lr, z)`, fast; dtypes as in :func:`fast_forward`."""
    k = model.in_channels
    levels = _levels(model, compute_dtype(lr))
    lr = _float32(lr)
    z = _float32(z).to(lr.dtype)
    a, b = _cl(lr[:, :k]), _cl(torch.cat((lr[:, k:], z), dim=1))
    with torch.autocast(lr.device.type, enabled=False):
        for i, blocks in enumerate(reversed(levels)):
            for block in reversed(blocks):
                a, b = block.inverse(a, b)
            t = haar_inverse(torch.cat((a, b), dim=1))
            if i < len(levels) - 1:
                a, b = _split(t, k)
    return t.contiguous()
