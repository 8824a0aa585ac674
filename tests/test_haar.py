import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn.nn.haar import (
    HAAR_FILTERS,
    HaarDownsampling,
    haar_forward,
    haar_forward_conv,
    haar_inverse,
)


def test_channel_order_is_filter_major():
    x = torch.rand(1, 3, 4, 6)
    y = haar_forward(x)
    # channels 0..2: 2x2 means of R, G, B
    torch.testing.assert_close(y[:, :3], torch.nn.functional.avg_pool2d(x, 2))
    # channel 3 (f1 of R) = (a - b + c - d) / 4
    a, b, c, d = x[0, 0, 0, 0], x[0, 0, 0, 1], x[0, 0, 1, 0], x[0, 0, 1, 1]
    torch.testing.assert_close(y[0, 3, 0, 0], (a - b + c - d) / 4)
    torch.testing.assert_close(y[0, 6, 0, 0], (a + b - c - d) / 4)
    torch.testing.assert_close(y[0, 9, 0, 0], (a - b - c + d) / 4)


def test_matches_official_grouped_conv():
    x = torch.randn(2, 5, 8, 12, dtype=torch.float64)
    torch.testing.assert_close(haar_forward(x), haar_forward_conv(x), rtol=0, atol=1e-14)


def test_filters_are_orthogonal():
    f = HAAR_FILTERS.reshape(4, 4)
    torch.testing.assert_close(f @ f.T, 4 * torch.eye(4))


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 3), c=st.integers(1, 6), h=st.integers(1, 9), w=st.integers(1, 9))
def test_exact_inverse(b, c, h, w):
    x = torch.randn(b, c, 2 * h, 2 * w, dtype=torch.float64)
    torch.testing.assert_close(haar_inverse(haar_forward(x)), x, rtol=0, atol=1e-14)


def test_closed_form_gradients_match_autograd():
    layer = HaarDownsampling(3)
    x = torch.randn(2, 3, 6, 8, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 12, 3, 4, dtype=torch.float64)
    (gx,) = torch.autograd.grad(layer(x), x, g)
    torch.testing.assert_close(layer.grad_of_forward(g), gx)
    y = torch.randn(2, 12, 3, 4, dtype=torch.float64, requires_grad=True)
    gi = torch.randn(2, 3, 6, 8, dtype=torch.float64)
    (gy,) = torch.autograd.grad(layer.inverse(y), y, gi)
    torch.testing.assert_close(layer.grad_of_inverse(gi), gy)


def test_odd_size_is_refused():
    import pytest

    with pytest.raises(ValueError, match="even"):
        haar_forward(torch.rand(1, 3, 5, 4))
