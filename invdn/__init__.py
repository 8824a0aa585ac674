"""invdn: real-world image denoising with an invertible network (InvDN, CVPR 2021)."""

from importlib.metadata import PackageNotFoundError, version

from invdn.errors import InvdnError
from invdn.nn import DANetDenoiser, DANetDiscriminator, DANetGenerator, InvDN

try:
    __version__ = version("invdn")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.0.0+local"

__all__ = ["DANetDenoiser", "DANetDiscriminator", "DANetGenerator", "InvDN", "InvdnError",
           "__version__"]
