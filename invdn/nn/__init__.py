"""Network parts: Haar squeeze, coupling block, sub-networks, the InvDN stack, DANet."""

from invdn.nn.coupling import CouplingBlock
from invdn.nn.danet import DANetDenoiser, DANetDiscriminator, DANetGenerator, UNet
from invdn.nn.haar import HaarDownsampling, haar_forward, haar_inverse
from invdn.nn.invdn import InvDN
from invdn.nn.reversible import run_invertible
from invdn.nn.subnets import DenseSubnet, ResnetSubnet, make_subnet

__all__ = [
    "CouplingBlock", "DANetDenoiser", "DANetDiscriminator", "DANetGenerator", "DenseSubnet",
    "HaarDownsampling", "InvDN", "ResnetSubnet", "UNet", "haar_forward", "haar_inverse",
    "make_subnet", "run_invertible",
]
