"""The coupling step is written once (invdn.nn.coupling) and the plain, fast and reversible paths
all run it; the memory mode is one type (invdn.nn.reversible.MemoryMode)."""

from pathlib import Path

import pytest
import torch

from invdn import InvDN
from invdn.analysis.profiling import memory as profiler
from invdn.nn import coupling, fast, reversible
from invdn.nn.coupling import CouplingBlock, coupling_forward, coupling_inverse, log_scale
from invdn.nn.reversible import MEMORY_MODES, parse_memory_mode

ROOT = Path(__file__).resolve().parents[1]
MODULES = (coupling, fast, reversible)


def patch_everywhere(monkeypatch, name: str, new) -> None:
    """Replace the shared function `name` in every module of the network that imported it."""
    original = getattr(coupling, name)
    for module in MODULES:
        if getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, new)


def small_model() -> InvDN:
    torch.manual_seed(0)
    return InvDN(blocks=(1, 2), width=8).eval()


def spy(monkeypatch, name: str, record) -> None:
    """Let `record(*args, **kwargs)` see every call of the shared function `name`, wherever it
    is run."""
    original = getattr(coupling, name)

    def spied(*args, **kwargs):
        record(*args, **kwargs)
        return original(*args, **kwargs)

    patch_everywhere(monkeypatch, name, spied)


def count_calls(monkeypatch, name: str) -> list[int]:
    calls = [0]

    def record(*args, **kwargs):
        calls[0] += 1

    spy(monkeypatch, name, record)
    return calls


def test_shared_equations_written_as_documented():
    torch.manual_seed(0)
    x1 = torch.randn(2, 3, 4, 4)
    h, x2, g = (torch.randn(2, 5, 4, 4) for _ in range(3))
    f = lambda t: t[:, :3] * 0.5  # noqa: E731
    s = log_scale(h, 0.7)
    assert torch.equal(s, 0.7 * (torch.sigmoid(h) * 2 - 1)) and s.abs().max() < 0.7
    y1, y2 = coupling_forward(x1, x2, f, lambda y: (g, s))
    assert torch.equal(y1, x1 + f(x2)) and torch.equal(y2, x2 * torch.exp(s) + g)
    r1, r2 = coupling_inverse(y1, y2, f, lambda y: (g, s))
    # the inverse divides by exp(s) (multiplying by exp(-s) rounds differently)
    assert torch.equal(r2, (y2 - g) / torch.exp(s)) and torch.equal(r1, y1 - f(r2))
    assert (r1 - x1).abs().max() < 1e-6 and (r2 - x2).abs().max() < 1e-6
    called = []
    assert coupling_forward(x1, x2, f, lambda y: called.append(1), need_y2=False)[1] is None
    assert not called


def test_fused_forward_is_one_multiply_add():
    torch.manual_seed(1)
    x1, x2, g, h = torch.randn(1, 3, 16, 16), *(torch.randn(1, 9, 16, 16) for _ in range(3))
    s = log_scale(h, 1.0)
    f = lambda t: t[:, :3]  # noqa: E731
    plain = coupling_forward(x1, x2, f, lambda y: (g, s))
    fused = coupling_forward(x1, x2, f, lambda y: (g, s), fused=True)
    assert torch.equal(plain[0], fused[0])
    assert torch.equal(fused[1], torch.addcmul(g, x2, torch.exp(s)))
    torch.testing.assert_close(fused[1], plain[1], rtol=1e-6, atol=1e-6)


def test_only_the_fast_path_fuses(monkeypatch):
    """Inference keeps its fused multiply-add, training and the plain path their separate
    ones, so neither path's results changed when the step was written once."""
    fused_flags = []
    spy(monkeypatch, "coupling_forward", lambda *a, **kw: fused_flags.append(kw.get("fused", False)))
    model = small_model()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        model.fast_inference = True
        model(x)
        fast = set(fused_flags)
        fused_flags.clear()
        model.fast_inference = False
        model(x)
    plain = set(fused_flags)
    fused_flags.clear()
    model.memory_efficient = "reversible"
    xg = x.clone().requires_grad_()
    out = model.inverse(*(t.detach() for t in model(xg)))
    out.square().sum().backward()
    assert fast == {True} and plain == {False} and set(fused_flags) == {False}


def test_log_scale_keeps_autograd_intact():
    h = torch.randn(3, 4, requires_grad=True)
    log_scale(h, 2.0).sum().backward()
    sig = torch.sigmoid(h.detach())
    torch.testing.assert_close(h.grad, 4.0 * sig * (1 - sig))


@pytest.mark.parametrize("name", ["coupling_forward", "coupling_inverse", "log_scale"])
def test_every_path_calls_the_shared_function(monkeypatch, name):
    model = small_model()
    blocks = sum(isinstance(layer, CouplingBlock) for layer in model.layers)
    calls = count_calls(monkeypatch, name)
    x = torch.rand(1, 3, 8, 8)
    z = torch.randn(1, 45, 2, 2)

    def counted(run) -> int:
        before = calls[0]
        run()
        return calls[0] - before

    with torch.no_grad():
        model.fast_inference = True
        fast_fwd = counted(lambda: model(x))
        fast_inv = counted(lambda: model.inverse(x[:, :, :2, :2], z))
        model.fast_inference = False
        plain_fwd = counted(lambda: model(x))
        plain_inv = counted(lambda: model.inverse(x[:, :, :2, :2], z))
    model.memory_efficient = "reversible"
    xg = x.clone().requires_grad_()
    lr, latent = model(xg)
    rev_fwd = counted(lambda: (lr.square().sum() + latent.square().sum()).backward())
    out = model.inverse(lr.detach(), z)
    rev_inv = counted(lambda: out.square().sum().backward())
    per_direction = {  # which shared function each direction runs once per block
        "coupling_forward": (fast_fwd, plain_fwd, rev_inv),  # reversible: rebuilding inverse's input
        "coupling_inverse": (fast_inv, plain_inv, rev_fwd),
        "log_scale": (fast_fwd, fast_inv, plain_fwd, plain_inv, rev_fwd, rev_inv),
    }[name]
    assert per_direction == (blocks,) * len(per_direction)


def test_fast_path_keeps_coupling_arithmetic_in_float32_under_bf16(monkeypatch):
    seen = set()

    def record(*args, **kwargs):
        seen.update(a.dtype for a in args if isinstance(a, torch.Tensor))

    for name in ("coupling_forward", "coupling_inverse", "log_scale"):
        spy(monkeypatch, name, record)
    model = small_model()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        lr, z = model(torch.rand(1, 3, 8, 8))
        model.inverse(lr, z)
    assert seen == {torch.float32}


def test_every_path_sees_a_changed_log_scale(monkeypatch):
    """Swap in another bounded log-scale: fast, plain and reversible must all change alike."""
    model = small_model()
    x = torch.rand(2, 3, 8, 12)
    z = torch.randn(2, 45, 2, 3)

    def run(mode):
        model.memory_efficient = mode
        model.zero_grad()
        xg = x.clone().requires_grad_()
        lr, latent = model(xg)
        rec = model.inverse(lr, z)
        (lr.square().sum() + latent.sin().sum() + rec.square().mean()).backward()
        return [lr.detach(), rec.detach(), xg.grad, *(p.grad.clone() for p in model.parameters())]

    def fast_and_plain():
        with torch.no_grad():
            model.fast_inference = True
            lr_fast, _ = model(x)
            inv_fast = model.inverse(lr_fast, z)
            model.fast_inference = False
            lr, _ = model(x)
            return lr_fast, inv_fast, lr, model.inverse(lr, z)

    before_std = run("standard")
    patch_everywhere(monkeypatch, "log_scale", lambda h, clamp: clamp * torch.tanh(h))
    std, rev = run("standard"), run("reversible")
    assert (std[0] - before_std[0]).abs().max() > 1e-3  # the plain path changed
    for a, b in zip(rev, std, strict=True):  # the reversible backward rebuilt the same layers
        assert (a - b).norm() <= 1e-4 * b.norm()
    lr_fast, inv_fast, lr, inv = fast_and_plain()
    assert (lr_fast - lr).abs().max() <= 1e-5
    assert (inv_fast - inv).abs().max() <= 1e-5 * inv.abs().max()


@pytest.mark.parametrize(("value", "mode"), [(False, "standard"), (True, "reversible"),
                                             ("standard", "standard"), ("reversible", "reversible"),
                                             ("checkpoint", "checkpoint")])
def test_memory_mode_accepts_config_values(value, mode):
    assert parse_memory_mode(value) == mode
    model = InvDN(blocks=(1, 1), width=8, memory_efficient=value)
    assert model.memory_mode == mode and model.memory_efficient is value


@pytest.mark.parametrize("value", ["sometimes", "Reversible", None, 1, [True]])
def test_memory_mode_rejects_other_values_in_one_line(value):
    with pytest.raises(ValueError) as info:
        InvDN(blocks=(1, 1), width=8, memory_efficient=value)
    message = str(info.value)
    assert "\n" not in message and message.startswith("memory_efficient must be")
    assert all(m in message for m in MEMORY_MODES)


def test_one_memory_mode_vocabulary():
    assert MEMORY_MODES == ("standard", "reversible", "checkpoint")
    assert profiler.MODES == MEMORY_MODES
    comment = next(line for line in (ROOT / "conf/model/invdn.yaml").read_text().splitlines()
                   if line.startswith("memory_efficient:"))
    assert "MemoryMode" in comment
    bench = (ROOT / "bench/memory.py").read_text()
    assert "choices=MEMORY_MODES" in bench
