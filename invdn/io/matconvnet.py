"""DnCNN's published MatConvNet models (repository cszn/DnCNN, `model/*.mat`) as torch modules.

The files are MATLAB v7.3, i.e. HDF5: `net/layers` holds references to one struct per layer,
`conv` layers with `weights = {kernel, bias}` and `relu` layers between (batch norm already
folded into the convolutions). MATLAB stores a kernel as `(kh, kw, in, out)` in column-major
order, which HDF5 shows reversed as `(out, in, kw, kh)`: swapping the last two axes gives
PyTorch's `(out, in, kh, kw)`. MatConvNet convolutions are correlations with zero padding 1,
like `nn.Conv2d(padding=1)`, and the networks predict the noise (`invdn.nn.peers.DnCNN`).

These weights are a yardstick only (`bench/standard.py`): the project never trains on them,
distils from them or ships them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from invdn.errors import InvdnError
from invdn.nn.peers import DnCNN


def _text(dataset) -> str:
    return "".join(chr(c) for c in np.asarray(dataset).ravel())


def read_conv_layers(path: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """`(kernel (out, in, kh, kw), bias (out,))` float32 of every conv layer, in order; every
    other layer must be a ReLU."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InvdnError(f"{path}: no such file; give DnCNN's model file, e.g. "
                         "model/GD_Color_Blind.mat from github.com/cszn/DnCNN")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise InvdnError(f"{path}: not a MATLAB v7.3 (HDF5) file; give one of DnCNN's "
                         "model/*.mat files") from None
    with f:
        if "net" not in f or "layers" not in f["net"]:
            raise InvdnError(f"{path}: no net.layers inside; not a MatConvNet model")
        convs = []
        for ref in np.asarray(f["net"]["layers"]).ravel():
            layer = f[ref]
            kind = _text(layer["type"])
            if kind == "conv":
                kernel_ref, bias_ref = np.asarray(layer["weights"]).ravel()
                kernel = np.asarray(f[kernel_ref], dtype=np.float32)
                if kernel.ndim == 3:  # MATLAB drops a trailing singleton: one output channel
                    kernel = kernel[None]
                kernel = kernel.swapaxes(2, 3)
                bias = np.asarray(f[bias_ref], dtype=np.float32).ravel()
                convs.append((np.ascontiguousarray(kernel), bias))
            elif kind != "relu":
                raise InvdnError(f"{path}: layer type {kind!r} is not conv or relu; only the "
                                 "batch-norm-folded DnCNN models (GD_*_Blind.mat) are read")
    return convs


def load_dncnn(path: str | Path) -> DnCNN:
    """The DnCNN of a MatConvNet model file (e.g. CDnCNN-B, `GD_Color_Blind.mat`: 20 layers,
    colour), in eval mode."""
    convs = read_conv_layers(path)
    if len(convs) < 2:
        raise InvdnError(f"{path}: {len(convs)} conv layer(s); a DnCNN has at least 2")
    channels, features = convs[0][0].shape[1], convs[0][0].shape[0]
    model = DnCNN(channels=channels, depth=len(convs), features=features)
    layers = [m for m in model.body if isinstance(m, torch.nn.Conv2d)]
    for conv, (kernel, bias) in zip(layers, convs, strict=True):
        if tuple(conv.weight.shape) != kernel.shape:
            raise InvdnError(f"{path}: a kernel of shape {kernel.shape} where a DnCNN of "
                             f"{features} features needs {tuple(conv.weight.shape)}")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(kernel))
            conv.bias.copy_(torch.from_numpy(bias))
    return model.eval()


__all__ = ["load_dncnn", "read_conv_layers"]
