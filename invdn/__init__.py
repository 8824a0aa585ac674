"""invdn: real-world image denoising with an invertible network (InvDN, CVPR 2021)."""

from importlib.metadata import PackageNotFoundError, version

from invdn.errors import InvdnError

try:
    __version__ = version("invdn")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.0.0+local"

__all__ = ["DANetDenoiser", "DANetDiscriminator", "DANetGenerator", "InvDN", "InvdnError",
           "__version__"]

_MODELS = {"DANetDenoiser", "DANetDiscriminator", "DANetGenerator", "InvDN"}


def __getattr__(name: str):
    # The models need torch; importing them lazily keeps `invdn --help` (which imports this
    # package) free of torch's start-up time.
    if name in _MODELS:
        import invdn.nn

        return getattr(invdn.nn, name)
    raise AttributeError(f"module 'invdn' has no attribute {name!r}")
