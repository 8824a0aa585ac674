"""The tile overlap a network needs, measured on the network itself.

A tile lacks the image beyond its border, so its outputs near that border differ from the
untiled run's. :func:`seam_profile` measures by how much, against the distance from a cut: a
probe image is denoised whole and cut in two, in the deterministic path (one fixed latent,
sliced for the cut as :class:`~invdn.inference.latent.LatentField` slices it for every tile),
and `e[d]` is the largest difference (gray levels of 255, over rows and channels) `d` pixels
from the cut. That is the network's effective receptive field as tiling meets it: all the
context beyond a border missing at once (it reaches further than one pixel's influence).

:func:`overlap_from_profile` turns it into the smallest overlap whose blended seam (the
cross-fade of :mod:`invdn.inference.tiling`, each tile weighted by its ramp and carrying its
own error) stays under `SEAM_TOLERANCE` gray levels; :func:`context_overlap` measures and
caches it per model (a fraction of a second on a CPU, once per model and weights, and only
when an image is actually tiled).
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invdn.inference.tiling import ramp
from invdn.nn.protocol import has_latent

SEAM_TOLERANCE = 0.1  # gray levels (of 255): the largest blended seam error allowed
PROBE_HEIGHT = 48     # rows of the probe image
PROBE_REACH = 128     # pixels probed on each side of the cut: the largest overlap derived

# model → (parameter signature, overlap); weak keys: no model is kept alive
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def probe_image(height: int, width: int, seed: int = 0) -> Tensor:
    """A seeded photo-like probe `(1, 3, height, width)` in [0, 1]: smooth random shapes
    (bilinear from an eighth of the size) plus Gaussian noise of σ ≈ 25 gray levels."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand((1, 3, max(height // 8, 1), max(width // 8, 1)), generator=g)
    smooth = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return (smooth + 0.1 * torch.randn((1, 3, height, width), generator=g)).clamp(0, 1)


def _run(model: nn.Module, x: Tensor, z: Tensor | None) -> Tensor:
    """The deterministic denoise of `x` (a fixed latent `z` for InvDN) in float32."""
    if z is None:
        return model(x)
    lr, _ = model(x)
    return model.inverse(lr, z)


@torch.no_grad()
def seam_profile(model: nn.Module, reach: int = PROBE_REACH, height: int = PROBE_HEIGHT,
                 seed: int = 0) -> Tensor:
    """`e` `(reach,)`: the largest |cut − whole| in gray levels at `d` = 0…reach−1 pixels
    from a vertical cut through a `height` x `2·reach` probe (float32, the model's device)."""
    m = int(getattr(model, "multiple", 1))
    reach, height = -(-reach // m) * m, -(-height // m) * m
    device = next(model.parameters()).device
    x = probe_image(height, 2 * reach, seed).to(device)
    z = None
    if has_latent(model):
        g = torch.Generator().manual_seed(seed + 1)
        z = torch.randn((1, model.latent_channels, height // m, 2 * reach // m), generator=g)
        z = z.to(device)
    with torch.autocast(device.type, enabled=False):
        whole = _run(model, x, z)[..., :reach]
        cut = _run(model, x[..., :reach], None if z is None else z[..., : reach // m])
    diff = (whole.float() - cut.float()).abs().amax(dim=(0, 1, 2)).cpu() * 255
    return diff.flip(0)  # index = distance from the cut


def overlap_from_profile(e: Tensor, multiple: int = 1,
                         tolerance: float = SEAM_TOLERANCE) -> int:
    """The smallest overlap (a multiple of `multiple`, at most `len(e)`) whose blended seam
    error bound `max_k w(k)·e[k] + (1 − w(k))·e[n−1−k]` is under `tolerance` (w: the rising
    ramp of the tile whose border is at k = 0); `len(e)` rounded down when none is."""
    e = e.double()
    if float(e[0]) < tolerance:  # no reach at all: tiles need no overlap
        return 0
    for n in range(multiple, len(e) + 1, multiple):
        w, k = ramp(n), torch.arange(n)
        if float((w * e[k] + (1 - w) * e[n - 1 - k]).max()) < tolerance:
            return n
    return len(e) // multiple * multiple


def _signature(model: nn.Module) -> tuple:
    """Changes whenever a parameter may have changed (in-place updates bump `_version`)."""
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in model.parameters())


def context_overlap(model: nn.Module) -> int:
    """The tile overlap in pixels `model` needs for seams under `SEAM_TOLERANCE` (a multiple
    of its size multiple), measured once per model and weights (:func:`seam_profile`)."""
    signature = _signature(model)
    hit = _CACHE.get(model)
    if hit is not None and hit[0] == signature:
        return hit[1]
    was_training = model.training
    model.eval()
    try:
        overlap = overlap_from_profile(seam_profile(model), int(getattr(model, "multiple", 1)))
    finally:
        model.train(was_training)
    _CACHE[model] = (signature, overlap)
    return overlap
