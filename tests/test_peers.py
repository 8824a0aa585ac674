"""The peer networks (DnCNN, FFDNet shapes) and the reader of DnCNN's MatConvNet files, on small
HDF5 files written here in the MATLAB v7.3 layout (no published weights in the tests)."""

import h5py
import numpy as np
import pytest
import torch

from invdn.errors import InvdnError
from invdn.io.matconvnet import load_dncnn, read_conv_layers
from invdn.nn.peers import DnCNN, FFDNet


def _chars(text: str) -> np.ndarray:
    return np.array([[ord(c)] for c in text], dtype=np.uint16)


def write_matconvnet(path, kernels, biases, extra_type=None):
    """A MatConvNet-style v7.3 file: `kernels` in PyTorch's (out, in, kh, kw) layout are stored
    as MATLAB would, i.e. HDF5 (out, in, kw, kh), with a trailing singleton dropped."""
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        layer_refs = []
        for i, (k, b) in enumerate(zip(kernels, biases, strict=True)):
            g = refs.create_group(f"conv{i}")
            g["type"] = _chars("conv")
            g["name"] = _chars(f"layer{i}")
            stored = k.swapaxes(2, 3)
            if stored.shape[0] == 1:
                stored = stored[0]
            kd = refs.create_dataset(f"k{i}", data=stored)
            bd = refs.create_dataset(f"b{i}", data=b[None])
            g.create_dataset("weights", data=np.array([[kd.ref], [bd.ref]], dtype=h5py.ref_dtype))
            layer_refs.append(g.ref)
            if i < len(kernels) - 1:
                r = refs.create_group(f"relu{i}")
                r["type"] = _chars(extra_type or "relu")
                layer_refs.append(r.ref)
        net = f.create_group("net")
        net.create_dataset("layers", data=np.array([[r] for r in layer_refs],
                                                   dtype=h5py.ref_dtype))


def random_dncnn_weights(channels, depth, features, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(features if i < depth - 1 else channels, channels if i == 0 else features, 3, 3)
              for i in range(depth)]
    kernels = [rng.normal(0, 0.1, s).astype(np.float32) for s in shapes]
    # asymmetric kernels, so a transposed reading would give another output
    biases = [rng.normal(0, 0.01, s[0]).astype(np.float32) for s in shapes]
    return kernels, biases


@pytest.mark.parametrize("channels", [1, 3])
def test_matconvnet_dncnn_loads_to_the_same_convolutions(tmp_path, channels):
    kernels, biases = random_dncnn_weights(channels, depth=4, features=8)
    path = tmp_path / "net.mat"
    write_matconvnet(path, kernels, biases)
    model = load_dncnn(path)
    assert (model.channels, model.depth, model.features) == (channels, 4, 8)
    x = torch.rand(1, channels, 16, 20)
    h = x
    for i, (k, b) in enumerate(zip(kernels, biases, strict=True)):
        h = torch.nn.functional.conv2d(h, torch.from_numpy(k), torch.from_numpy(b), padding=1)
        if i < len(kernels) - 1:
            h = h.relu()
    with torch.no_grad():
        assert torch.allclose(model(x), x - h, atol=1e-5)
        assert torch.equal(model.denoise(x), model(x))


def test_matconvnet_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(InvdnError, match="no such file"):
        load_dncnn(tmp_path / "missing.mat")
    (tmp_path / "text.mat").write_text("MATLAB 5.0 MAT-file")
    with pytest.raises(InvdnError, match="not a MATLAB v7.3"):
        load_dncnn(tmp_path / "text.mat")
    kernels, biases = random_dncnn_weights(3, 3, 4)
    write_matconvnet(tmp_path / "bn.mat", kernels, biases, extra_type="bnorm")
    with pytest.raises(InvdnError, match="bnorm"):
        read_conv_layers(tmp_path / "bn.mat")
    with h5py.File(tmp_path / "empty.mat", "w") as f:
        f.create_group("other")
    with pytest.raises(InvdnError, match="net.layers"):
        load_dncnn(tmp_path / "empty.mat")


def test_peer_shapes_and_sizes():
    assert sum(p.numel() for p in DnCNN(3, 20).parameters()) == 668_227  # CDnCNN-B
    assert sum(p.numel() for p in DnCNN(1, 17).parameters()) == 555_137  # DnCNN-17 gray, batch norm folded
    ffdnet = FFDNet(3)
    assert sum(p.numel() for p in ffdnet.parameters()) == 853_836
    x = torch.rand(2, 3, 12, 16)
    with torch.no_grad():
        assert ffdnet(x).shape == x.shape and DnCNN(3, 3, 8)(x).shape == x.shape
