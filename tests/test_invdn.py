import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn import InvDN
from invdn.evaluation.sizes import default_model_sizes
from invdn.nn.coupling import CouplingBlock
from invdn.nn.sizes import count_parameters


def test_default_parameter_count():
    model = InvDN()
    assert count_parameters(model) == 2_640_960
    assert count_parameters(model.layers[1]) == 132_462
    assert count_parameters(model.layers[10]) == 197_658


def test_dense_subnet_size_and_identity_init():
    model = InvDN(subnet="dense")
    assert round(count_parameters(model) / 1e6, 2) == 4.36
    x = torch.rand(1, 3, 8, 8)
    lr, _ = model(x)
    # zero last conv: every block starts as the identity, so lr is the 4x4 mean
    torch.testing.assert_close(lr, torch.nn.functional.avg_pool2d(x, 4), rtol=0, atol=1e-6)


def test_shapes_and_channels():
    model = InvDN(blocks=(1, 1), width=8)
    lr, z = model(torch.rand(2, 3, 16, 12))
    assert lr.shape == (2, 3, 4, 3) and z.shape == (2, 45, 4, 3)
    assert model.latent_channels == 45 and model.multiple == 4


@pytest.mark.parametrize("shape", [(1, 3, 18, 16), (1, 3, 16, 6), (1, 4, 16, 16)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="multiples of 4|expected"):
        InvDN(blocks=(1, 1), width=8)(torch.rand(shape))


@pytest.mark.parametrize("kwargs", [{"levels": 0}, {"blocks": (1, 2, 3)}, {"subnet": "transformer"},
                                    {"memory_efficient": "sometimes"}, {"width": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        InvDN(**kwargs)


@settings(max_examples=12, deadline=None)
@given(
    b=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
    levels=st.integers(1, 3), subnet=st.sampled_from(["resnet", "dense"]), seed=st.integers(0, 99),
)
def test_invertibility(b, h, w, levels, subnet, seed):
    torch.manual_seed(seed)
    model = InvDN(levels=levels, blocks=2, width=16, subnet=subnet)
    if subnet == "dense":  # its zero init is the identity; perturb so the test means something
        for p in model.parameters():
            p.data.add_(0.05 * torch.randn_like(p))
    m = model.multiple
    x = torch.rand(b, 3, m * h, m * w)
    with torch.no_grad():
        lr, z = model(x)
        torch.testing.assert_close(model.inverse(lr, z), x, rtol=0, atol=1e-5)


def test_coupling_block_is_pure():
    block = CouplingBlock(12, 3, width=8)
    before = set(vars(block))
    x = torch.randn(1, 12, 4, 4)
    block.inverse(block(x))
    assert set(vars(block)) == before


def test_denoise_reproducible_and_averaged():
    model = InvDN(blocks=(1, 1), width=8).eval()
    x = torch.rand(1, 3, 8, 8)
    a = model.denoise(x, generator=torch.Generator().manual_seed(3))
    b = model.denoise(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(5)
    lr, _ = model(x)
    manual = sum(model.inverse(lr, model.sample_latent(lr, g)) for _ in range(3)) / 3
    torch.testing.assert_close(model.denoise(x, 3, torch.Generator().manual_seed(5)), manual)
    with pytest.raises(ValueError):
        model.denoise(x, samples=0)


def test_default_sizes_from_code():
    sizes = default_model_sizes()
    assert sizes["danet_denoiser"] == 9_153_571
    assert sizes["danet_generator"] == 9_153_859
    assert sizes["danet_discriminator"] == 44_703_745
    assert sizes["danet_total"] == 63_011_175
    assert sizes["invdn_over_danet_percent"] == 4.19
