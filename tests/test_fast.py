import pytest
import torch

from invdn import InvDN
from invdn.nn.fast import fast_forward, fast_inverse, fast_path_applies, supports_fast_path


def plain(model: InvDN) -> InvDN:
    model.fast_inference = False
    return model


@pytest.mark.parametrize(("blocks", "width", "size"), [((8, 8), 64, (32, 48)), ((2, 3), 16, (20, 12))])
def test_fast_path_equals_plain(blocks, width, size):
    model = plain(InvDN(blocks=blocks, width=width).eval())
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        lr, z = model(x)
        lr_fast, z_fast = fast_forward(model, x)
        assert (lr_fast - lr).abs().max() <= 1e-5 and (z_fast - z).abs().max() <= 1e-5
        assert fast_forward(model, x, need_latent=False)[1] is None
        assert torch.equal(fast_forward(model, x, need_latent=False)[0], lr_fast)
        zs = torch.randn_like(z)
        reference = model.inverse(lr, zs)
        # random weights amplify a random latent (outputs reach ~±50): compare relative to it
        assert (fast_inverse(model, lr, zs) - reference).abs().max() <= 1e-5 * reference.abs().max()
        assert (fast_inverse(model, lr, z) - x).abs().max() <= 1e-5


def test_forward_and_inverse_dispatch():
    model = InvDN(blocks=(1, 1), width=8)
    x = torch.rand(1, 3, 8, 8)
    assert not fast_path_applies(model, x)  # grad enabled: the differentiable path
    with torch.no_grad():
        assert fast_path_applies(model, x)
        fast = model(x)
        plain(model)
        assert not fast_path_applies(model, x)
        ref = model(x)
    for a, b in zip(fast, ref, strict=True):
        assert (a - b).abs().max() <= 1e-5


def test_denoise_fast_matches_plain():
    model = InvDN(blocks=(2, 2), width=16).eval()
    x = torch.rand(1, 3, 16, 16)
    a = model.denoise(x, samples=2, generator=torch.Generator().manual_seed(1))
    b = plain(model).denoise(x, samples=2, generator=torch.Generator().manual_seed(1))
    assert (a - b).abs().max() <= 1e-5 * b.abs().max()
    assert a.is_contiguous()


def test_dense_subnets_fall_back():
    model = InvDN(blocks=(1, 1), subnet="dense").eval()
    assert not supports_fast_path(model)
    x = torch.rand(1, 3, 8, 8)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(model.denoise(x, generator=g()), plain(model).denoise(x, generator=g()))


def test_torchscript_trace_uses_plain_ops():
    class LowRes(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = InvDN(blocks=(1, 1), width=8).eval()

        def forward(self, x):
            return self.model(x)[0]

    with torch.no_grad():
        traced = torch.jit.trace(LowRes(), torch.rand(1, 3, 8, 8))
    assert "mkldnn" not in str(traced.graph)
