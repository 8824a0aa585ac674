import pytest
import torch

from invdn import InvDN
from invdn.nn.fast import fast_inverse, fast_lowres, supports_fast_path


@pytest.mark.parametrize(("blocks", "width", "size"), [((8, 8), 64, (32, 48)), ((2, 3), 16, (20, 12))])
def test_fast_path_equals_plain(blocks, width, size):
    model = InvDN(blocks=blocks, width=width).eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        lr, z = model(x)
        assert (fast_lowres(model, x) - lr).abs().max() <= 1e-5
        zs = torch.randn_like(z)
        plain = model.inverse(lr, zs)
        # random weights amplify a random latent (outputs reach ~±50): compare relative to it
        assert (fast_inverse(model, lr, zs) - plain).abs().max() <= 1e-5 * plain.abs().max()
        assert (fast_inverse(model, lr, z) - x).abs().max() <= 1e-5


def test_denoise_fast_matches_plain():
    model = InvDN(blocks=(2, 2), width=16).eval()
    x = torch.rand(1, 3, 16, 16)
    a = model.denoise(x, samples=2, generator=torch.Generator().manual_seed(1))
    b = model.denoise(x, samples=2, generator=torch.Generator().manual_seed(1), fast=False)
    assert (a - b).abs().max() <= 1e-5 * b.abs().max()
    assert a.is_contiguous()


def test_dense_subnets_fall_back():
    model = InvDN(blocks=(1, 1), subnet="dense").eval()
    assert not supports_fast_path(model)
    x = torch.rand(1, 3, 8, 8)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(model.denoise(x, generator=g()), model.denoise(x, generator=g(), fast=False))
