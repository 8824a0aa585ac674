import pytest
import torch

from invdn import DANetDenoiser, DANetDiscriminator, DANetGenerator
from invdn.nn.sizes import count_parameters


def test_parameter_counts():
    assert count_parameters(DANetDenoiser()) == 9_153_571
    assert count_parameters(DANetGenerator()) == 9_153_859
    assert count_parameters(DANetDiscriminator()) == 44_703_745


@pytest.mark.parametrize("size", [(5, 7), (16, 16), (37, 50), (1, 1)])
def test_denoiser_any_size(size):
    model = DANetDenoiser(wf=4)
    y = torch.rand(2, 3, *size)
    assert model(y).shape == y.shape


def test_denoiser_is_residual():
    model = DANetDenoiser(wf=4)
    torch.nn.init.zeros_(model.net.last.weight)
    torch.nn.init.zeros_(model.net.last.bias)
    y = torch.rand(1, 3, 20, 24)
    torch.testing.assert_close(model(y), y)


def test_generator_and_discriminator_shapes():
    g = torch.Generator().manual_seed(0)
    out = DANetGenerator(wf=4)(torch.rand(1, 3, 20, 20), generator=g)
    assert out.shape == (1, 3, 20, 20)
    assert DANetDiscriminator(ndf=4)(torch.rand(2, 6, 128, 128)).shape == (2, 1)
