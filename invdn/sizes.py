"""Parameter counts of the default models, computed from the modules themselves."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter elements of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def default_model_sizes() -> dict[str, float]:
    """Trainable parameters of InvDN and DANet's R, G, D, and InvDN / DANet(R+G+D) in percent."""
    from invdn.nn import DANetDenoiser, DANetDiscriminator, DANetGenerator, InvDN

    invdn = count_parameters(InvDN())
    r, g, d = (count_parameters(m()) for m in (DANetDenoiser, DANetGenerator, DANetDiscriminator))
    return {
        "invdn": invdn,
        "danet_denoiser": r,
        "danet_generator": g,
        "danet_discriminator": d,
        "danet_total": r + g + d,
        "invdn_over_danet_percent": round(100.0 * invdn / (r + g + d), 2),
    }
