import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn import InvDN


def invdn_loss(model, x, z):
    """Both directions, like InvDN's training loss."""
    lr, zz = model(x)
    rec = model.inverse(lr, z)
    return (lr - 0.3).pow(2).sum() + zz.sin().sum() + ((rec - x) ** 2 + 1e-3).sqrt().sum()


def gradients(model, x, z, mode, autocast=None):
    model.memory_efficient = mode
    model.zero_grad()
    x = x.detach().clone().requires_grad_()
    if autocast:
        with torch.autocast("cpu", dtype=autocast):
            loss = invdn_loss(model, x, z)
    else:
        loss = invdn_loss(model, x, z)
    loss.backward()
    return [x.grad, *(p.grad for p in model.parameters())]


def max_rel(a, b):
    return max(((u - v).norm() / v.norm()).item() for u, v in zip(a, b, strict=True))


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-4), (torch.float64, 1e-8)])
@pytest.mark.parametrize("mode", [True, "checkpoint"])
def test_gradients_equal_standard(dtype, tol, mode):
    model = InvDN(blocks=(2, 3), width=16).to(dtype)
    x = torch.rand(2, 3, 16, 20, dtype=dtype)
    z = torch.randn(2, 45, 4, 5, dtype=dtype)
    ref = gradients(model, x, z, False)
    assert max_rel(gradients(model, x, z, mode), ref) <= tol


def test_gradients_under_autocast():
    model = InvDN(blocks=(2, 2), width=16)
    x, z = torch.rand(1, 3, 16, 16), torch.randn(1, 45, 4, 4)
    ref = gradients(model, x, z, False, autocast=torch.bfloat16)
    # bf16 sub-networks make the reconstruction itself inexact; the gradients stay close
    assert max_rel(gradients(model, x, z, True, autocast=torch.bfloat16), ref) <= 0.05


def test_frozen_parameters_and_no_input_grad():
    model = InvDN(blocks=(1, 1), width=8, memory_efficient=True)
    for p in model.layers[1].parameters():
        p.requires_grad_(False)
    lr, z = model(torch.rand(1, 3, 8, 8))
    (lr.sum() + z.sum()).backward()
    assert all(p.grad is None for p in model.layers[1].parameters())
    assert all(p.grad is not None for p in model.layers[3].parameters())


def test_matches_forward_values():
    model = InvDN(blocks=(2, 2), width=8)
    x = torch.rand(1, 3, 8, 8)
    lr_a, z_a = model(x)
    model.memory_efficient = True
    lr_b, z_b = model(x)
    assert torch.equal(lr_a, lr_b) and torch.equal(z_a, z_b)


def saved_bytes(model, x, z):
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    # Only what the forward graph keeps for backward; backward's own transients are per block.
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = invdn_loss(model, x, z)
    loss.backward()
    return total


def test_saved_activations_do_not_grow_with_depth():
    x, z = torch.rand(1, 3, 16, 16), torch.randn(1, 45, 4, 4)
    std = {n: saved_bytes(InvDN(blocks=n, width=8), x, z) for n in (1, 4)}
    rev = {n: saved_bytes(InvDN(blocks=n, width=8, memory_efficient=True), x, z) for n in (1, 4)}
    assert std[4] > 3 * std[1]
    assert rev[4] == rev[1]
    assert rev[4] < std[4] / 10


@settings(max_examples=8, deadline=None)
@given(b=st.integers(1, 2), h=st.integers(1, 4), w=st.integers(1, 4), seed=st.integers(0, 50))
def test_gradients_random_shapes(b, h, w, seed):
    torch.manual_seed(seed)
    model = InvDN(blocks=(1, 2), width=8).double()
    x = torch.rand(b, 3, 4 * h, 4 * w, dtype=torch.float64)
    z = torch.randn(b, 45, h, w, dtype=torch.float64)
    assert max_rel(gradients(model, x, z, True), gradients(model, x, z, False)) <= 1e-8
