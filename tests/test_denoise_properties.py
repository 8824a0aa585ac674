"""Property: any image (1x1 and odd sizes, 8/16 bit, gray/RGB/RGBA, any value range) goes
through the whole denoise pipeline (pad, tile, network, crop, write, read back) with its shape
and dtype unchanged and its alpha channel untouched."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from invdn.inference.batch import fit_bit_depth
from invdn.inference.pipeline import DenoiseOptions, Denoiser
from invdn.io.images import read_image, write_image
from invdn.nn import InvDN


@pytest.fixture(scope="module")
def model():
    # Tiny convolutions run far faster on one thread than on a contended pool.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield InvDN(blocks=(1, 1), width=8).eval()
    torch.set_num_threads(threads)


@st.composite
def images(draw):
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    top = int(np.iinfo(dtype).max)
    h, w = draw(st.integers(1, 37)), draw(st.integers(1, 37))
    channels = draw(st.sampled_from([1, 3, 4]))
    lo = draw(st.integers(0, top))
    hi = draw(st.integers(lo, top))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.integers(lo, hi, (h, w, channels), dtype=dtype, endpoint=True)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(img=np.full((1, 1, 4), 7, np.uint8), tile=8, overlap=4, samples=1, suffix=".png")
@example(img=np.full((1, 1, 1), 65535, np.uint16), tile=0, overlap=0, samples=2, suffix=".tif")
@example(img=np.zeros((3, 37, 3), np.uint16), tile=16, overlap=4, samples=1, suffix=".jpg")
@given(img=images(), tile=st.sampled_from([0, 8, 16]), overlap=st.sampled_from([0, 4]),
       samples=st.sampled_from([1, 2]), suffix=st.sampled_from([".png", ".tif", ".jpg"]))
def test_shape_dtype_and_alpha_survive_the_pipeline(model, img, tile, overlap, samples, suffix):
    original = img.copy()
    denoiser = Denoiser(model, DenoiseOptions(tile=tile, overlap=min(overlap, tile // 2),
                                              samples=samples), "cpu")
    out = denoiser(img)
    np.testing.assert_array_equal(img, original)  # the input array is not modified
    assert out.shape == img.shape and out.dtype == img.dtype
    if img.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])
    if suffix == ".jpg" and img.shape[2] == 4:
        suffix = ".png"  # JPEG has no alpha channel
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"out{suffix}"
        write_image(path, fit_bit_depth(out, path))
        back = read_image(path)
        assert sorted(p.name for p in Path(tmp).iterdir()) == [path.name]  # no temp files
    expected = np.uint8 if suffix == ".jpg" else img.dtype
    assert back.shape == img.shape and back.dtype == expected
    if suffix != ".jpg":  # lossless formats give back exactly what was written
        np.testing.assert_array_equal(back, out)
