"""system.compile: the training step's model calls under torch.compile equal the plain ones."""

import os

import pytest
import torch

from invdn import InvDN
from invdn.nn.danet import DANetDenoiser
from invdn.training.compile import CompiledModel, compile_mode
from invdn.training.losses import DenoisingLoss
from invdn.training.system import DenoisingSystem


def test_compile_mode_values():
    assert compile_mode(False) is None and compile_mode(None) is None
    assert compile_mode(True) == "default"
    assert compile_mode("max-autotune") == "max-autotune"
    with pytest.raises(ValueError, match="system.compile"):
        compile_mode("fast")


def loss_and_grads(model, net, x, z):
    """Forward, inverse with a fixed latent, and the gradients of a loss of both."""
    model.zero_grad(set_to_none=True)
    lr, latent = net(x)
    out = net.inverse(lr, z)
    loss = lr.square().sum() + (out - x).abs().sum() + latent.square().mean()
    loss.backward()
    return lr.detach(), latent.detach(), out.detach(), [p.grad.clone() for p in model.parameters()]


def check_equal(backend: str, memory_efficient) -> None:
    torch.manual_seed(0)
    model = InvDN(levels=1, blocks=[2], width=8, memory_efficient=memory_efficient)
    x = torch.rand(2, 3, 16, 16)
    z = torch.randn(2, model.latent_channels, 8, 8)
    plain = loss_and_grads(model, model, x, z)
    compiled = loss_and_grads(model, CompiledModel(model, backend=backend), x, z)
    for a, b in zip(plain[:3], compiled[:3], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    for a, b in zip(plain[3], compiled[3], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("memory_efficient", [False, True])
def test_compiled_equals_plain_captured_graph(memory_efficient):
    """Dynamo's captured graph (the `eager` backend runs it without code generation, which
    keeps the test quick) gives the same forward, inverse and gradients."""
    check_equal("eager", memory_efficient)


@pytest.mark.skipif(not os.environ.get("INVDN_TEST_INDUCTOR"),
                    reason="inductor code generation takes minutes on a small CPU; "
                           "set INVDN_TEST_INDUCTOR=1 (bench/gpu_check.sh does)")
def test_compiled_equals_plain_inductor():
    check_equal("inductor", False)


def test_system_compile_hook_keeps_the_module_and_its_keys():
    system = DenoisingSystem(InvDN(levels=1, blocks=[1], width=8), DenoisingLoss(),
                             compile="reduce-overhead")
    assert system.hparams.compile == "reduce-overhead"
    assert isinstance(system._compiled, CompiledModel)
    assert system._compiled.multiple == system.model.multiple
    assert all(not k.startswith("_") and "_orig_mod" not in k for k in system.state_dict())
    assert DenoisingSystem(InvDN(levels=1, blocks=[1], width=8), DenoisingLoss())._compiled is None
    # a plain denoiser has no inverse, and the wrapper must not invent one for the loss
    danet = CompiledModel(DANetDenoiser(wf=4, depth=2), backend="eager")
    assert not hasattr(danet, "inverse")


def test_channels_last_training_equals_plain():
    """system.channels_last: same forward, inverse and gradients as the NCHW model."""
    torch.manual_seed(0)
    model = InvDN(levels=1, blocks=[2], width=8)
    x = torch.rand(2, 3, 16, 16)
    z = torch.randn(2, model.latent_channels, 8, 8)
    plain = loss_and_grads(model, model, x, z)
    view = CompiledModel(model, mode=None, channels_last=True)
    assert model.layers[1].F.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    converted = loss_and_grads(model, view, x, z)
    for a, b in zip(plain[:3], converted[:3], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    for a, b in zip(plain[3], converted[3], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    system = DenoisingSystem(InvDN(levels=1, blocks=[1], width=8), DenoisingLoss(),
                             channels_last=True)
    assert system.hparams.channels_last and system._compiled.channels_last
