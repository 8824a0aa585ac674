"""Model sizes against the paper's yardstick: the parameters of the paper's InvDN, of the
shipped default and of DANet (denoiser, generator, discriminator), counted from the modules."""

from __future__ import annotations

from invdn.nn.sizes import count_parameters


def shipped_model_parameters() -> int | None:
    """Trainable parameters of the shipped default weights' architecture (None if absent)."""
    from invdn.inference.loading import default_weights_path
    from invdn.io.weights import load_model

    path = default_weights_path()
    return count_parameters(load_model(path)) if path.is_file() else None


def default_model_sizes() -> dict[str, float]:
    """Trainable parameters of the paper's InvDN, of the shipped default model and of DANet's
    R, G, D, and InvDN / DANet(R+G+D) in percent (the paper's model)."""
    from invdn.nn import DANetDenoiser, DANetDiscriminator, DANetGenerator, InvDN

    invdn = count_parameters(InvDN())
    r, g, d = (count_parameters(m()) for m in (DANetDenoiser, DANetGenerator, DANetDiscriminator))
    shipped = shipped_model_parameters()
    return {
        "invdn": invdn,
        "invdn_default": shipped,
        "invdn_default_over_danet_percent": None if shipped is None
        else round(100.0 * shipped / (r + g + d), 2),
        "danet_denoiser": r,
        "danet_generator": g,
        "danet_discriminator": d,
        "danet_total": r + g + d,
        "invdn_over_danet_percent": round(100.0 * invdn / (r + g + d), 2),
    }
