"""Running a stack of invertible layers, optionally without storing activations.

In the reversible mode only the stack's output is kept. During backward each layer's input is
rebuilt from its output through the exact inverse (RevNet), and the sub-network evaluations made
for that reconstruction are the very ones differentiated, so backward costs about one extra
forward. Gradients reach the parameters through each layer's autograd Function return values
(no nested `backward()` that would accumulate into `.grad`), which keeps DDP's hooks and
autocast intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, get_args

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from invdn.nn.coupling import CouplingBlock, coupling_forward, coupling_inverse
from invdn.nn.haar import HaarDownsampling

#: How the invertible stack trades memory for compute in training (see :func:`run_invertible`).
MemoryMode = Literal["standard", "reversible", "checkpoint"]
MEMORY_MODES: tuple[MemoryMode, ...] = get_args(MemoryMode)


def parse_memory_mode(value: bool | str, key: str = "memory mode") -> MemoryMode:
    """The mode that a config value names: one of :data:`MEMORY_MODES`, or a boolean as the
    `memory_efficient` key has always taken it (false: "standard", true: "reversible").
    Anything else raises ValueError, one line naming `key` and the allowed values."""
    if isinstance(value, bool):
        return "reversible" if value else "standard"
    if isinstance(value, str) and value in MEMORY_MODES:
        return value
    raise ValueError(f"{key} must be false, true or one of {', '.join(MEMORY_MODES)}, "
                     f"got {value!r}")


def _grads(outputs: Sequence[Tensor], inputs: Sequence[Tensor], grad_outputs: Sequence[Tensor]):
    """`autograd.grad` that gives None for inputs that need no gradient (frozen weights)."""
    grad_outputs = [g.to(o.dtype) for o, g in zip(outputs, grad_outputs, strict=True)]
    wanted = [t for t in inputs if t.requires_grad]
    found = iter(torch.autograd.grad(outputs, wanted, grad_outputs))
    return [next(found) if t.requires_grad else None for t in inputs]


class _Recorded:
    """A sub-network call for the reconstruction that also records what the gradient equations
    differentiate: `fn` runs with autograd on a detached copy of its input (`self.input`, a
    leaf), its outputs are kept (`self.outputs`) and handed back detached."""

    def __init__(self, fn: Callable[[Tensor], Tensor | tuple[Tensor, ...]]) -> None:
        self.fn = fn
        self.input: Tensor | None = None
        self.outputs: tuple[Tensor, ...] = ()

    def __call__(self, x: Tensor) -> Tensor | tuple[Tensor, ...]:
        with torch.enable_grad():
            self.input = x.detach().requires_grad_()
            out = self.fn(self.input)
        self.outputs = out if isinstance(out, tuple) else (out,)
        detached = tuple(t.detach() for t in self.outputs)
        return detached if isinstance(out, tuple) else detached[0]


def _coupling_backward_of_forward(block: CouplingBlock, y: Tensor, gy: Tensor):
    """Layer ran forward, `y = block(x)`: rebuild x and return (x, dL/dx, dL/dparams)."""
    k = block.split
    gy1, gy2 = gy[:, :k], gy[:, k:]
    f, g_and_s = _Recorded(block.F), _Recorded(block.g_and_log_scale)
    x1, x2 = coupling_inverse(y[:, :k], y[:, k:], f, g_and_s)
    (g, s), y1_, x2_ = g_and_s.outputs, g_and_s.input, f.input
    es = torch.exp(s.detach())
    # y2 = x2·exp(s) + G(y1): pull gy2 back into y1 and the H, G weights.
    hg_params = [*block.H.parameters(), *block.G.parameters()]
    gy1_extra, *g_hg = _grads((s, g), (y1_, *hg_params), (gy2 * x2 * es, gy2))
    gy1_total = gy1 + gy1_extra
    # y1 = x1 + F(x2)
    gx2_extra, *g_f = _grads(f.outputs, (x2_, *block.F.parameters()), (gy1_total,))
    gx = torch.cat((gy1_total, gy2 * es + gx2_extra), dim=1)
    return torch.cat((x1, x2), dim=1), gx, _param_grads(block, g_f, g_hg)


def _coupling_backward_of_inverse(block: CouplingBlock, x: Tensor, gx: Tensor):
    """Layer ran inverse, `x = block.inverse(y)`: rebuild y and return (y, dL/dy, dL/dparams)."""
    k = block.split
    x2 = x[:, k:]
    gx1, gx2 = gx[:, :k], gx[:, k:]
    f, g_and_s = _Recorded(block.F), _Recorded(block.g_and_log_scale)
    y1, y2 = coupling_forward(x[:, :k], x2, f, g_and_s)
    (g, s), y1_, x2_ = g_and_s.outputs, g_and_s.input, f.input
    es = torch.exp(s.detach())
    # x1 = y1 − F(x2)
    gx2_extra, *g_f = _grads(f.outputs, (x2_, *block.F.parameters()), (-gx1,))
    gx2_total = gx2 + gx2_extra
    # x2 = (y2 − G(y1)) / exp(s(y1))
    gy2 = gx2_total / es
    hg_params = [*block.H.parameters(), *block.G.parameters()]
    gy1_extra, *g_hg = _grads((s, g), (y1_, *hg_params), (-gx2_total * x2, -gy2))
    gy = torch.cat((gx1 + gy1_extra, gy2), dim=1)
    return torch.cat((y1, y2), dim=1), gy, _param_grads(block, g_f, g_hg)


def _param_grads(block: CouplingBlock, g_f, g_hg) -> list[Tensor]:
    """Order the gradients like `block.parameters()`."""
    by_param = dict(zip([*block.F.parameters(), *block.H.parameters(), *block.G.parameters()],
                        [*g_f, *g_hg], strict=True))
    return [by_param[p] for p in block.parameters()]


def _layer_backward(layer: nn.Module, reverse: bool, out: Tensor, grad_out: Tensor):
    if isinstance(layer, HaarDownsampling):
        if reverse:
            return layer.forward(out), layer.grad_of_inverse(grad_out), []
        return layer.inverse(out), layer.grad_of_forward(grad_out), []
    if isinstance(layer, CouplingBlock):
        fn = _coupling_backward_of_inverse if reverse else _coupling_backward_of_forward
        return fn(layer, out, grad_out)
    raise TypeError(f"no reversible backward for {type(layer).__name__}")


def _run(layers: Sequence[nn.Module], x: Tensor, reverse: bool) -> Tensor:
    for layer in reversed(layers) if reverse else layers:
        x = layer.inverse(x) if reverse else layer(x)
    return x


class _Tape:
    """Hands each layer its output during backward: the layer after it rebuilds that tensor
    (its own input) and leaves it here, so only the chain's final output is ever stored."""

    value: Tensor | None = None


class _ReversibleLayer(torch.autograd.Function):
    """One layer of a reversible chain. A Function per layer lets autograd take each layer's
    parameter gradients as soon as they exist, instead of holding all of them to the end."""

    @staticmethod
    def forward(ctx, layer, reverse, tape, is_last, x, *params):
        ctx.layer, ctx.reverse, ctx.tape, ctx.is_last = layer, reverse, tape, is_last
        device = x.device.type
        ctx.autocast = (device, torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
        out = layer.inverse(x) if reverse else layer(x)
        if is_last:
            ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out = ctx.saved_tensors[0] if ctx.is_last else ctx.tape.value
        device, enabled, dtype = ctx.autocast
        with torch.autocast(device, dtype=dtype, enabled=enabled):
            inp, grad_in, grads = _layer_backward(ctx.layer, ctx.reverse, out, grad_out)
        ctx.tape.value = inp
        return (None, None, None, None, grad_in, *grads)


def run_invertible(
    layers: Sequence[nn.Module], x: Tensor, reverse: bool = False, mode: MemoryMode = "standard"
) -> Tensor:
    """Apply `layers` in order (or their inverses in reverse order when `reverse`).

    `mode`: "standard" keeps every activation for autograd; "reversible" keeps only the output
    and recomputes inputs from outputs in backward (memory constant in depth); "checkpoint" is
    `torch.utils.checkpoint` per layer (stores each layer's input; for comparison).
    """
    mode = parse_memory_mode(mode)
    params = [p for layer in layers for p in layer.parameters()]
    needs_graph = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
    if mode == "standard" or not needs_graph:
        return _run(layers, x, reverse)
    if mode == "checkpoint":
        for layer in reversed(layers) if reverse else layers:
            fn = layer.inverse if reverse else layer
            x = checkpoint(fn, x, use_reentrant=False) if list(layer.parameters()) else fn(x)
        return x
    tape = _Tape()
    order = list(reversed(layers)) if reverse else list(layers)
    for i, layer in enumerate(order):
        x = _ReversibleLayer.apply(layer, reverse, tape, i == len(order) - 1, x, *layer.parameters())
    return x
