"""invdn.nn.protocol: what InvDN and the DANet baseline offer, checked structurally."""

from invdn.inference.pipeline import has_latent as pipeline_has_latent
from invdn.nn import InvDN
from invdn.nn.danet import DANetDenoiser
from invdn.nn.protocol import DenoisingModel, Invertible, LatentModel, has_latent


def test_invdn_and_danet_offer_what_the_protocols_say():
    invdn, danet = InvDN(blocks=(1, 1), width=8), DANetDenoiser(wf=8, depth=2)
    assert isinstance(invdn, DenoisingModel) and isinstance(danet, DenoisingModel)
    assert isinstance(invdn, Invertible) and isinstance(invdn, LatentModel)
    assert not isinstance(danet, Invertible) and not isinstance(danet, LatentModel)
    for model in (invdn, danet):  # the copy in inference/pipeline.py agrees
        assert has_latent(model) == pipeline_has_latent(model)
