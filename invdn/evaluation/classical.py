"""Classical (training-free) denoisers with one signature, for baselines and benchmarks.

`denoise_classical(img, method, sigma=None)`: img `(H, W, C)` float in [0, 1], C ∈ {1, 3}
→ same shape, float in [0, 1]. `sigma` is the noise standard deviation on that [0, 1] scale;
None estimates it with `skimage.restoration.estimate_sigma` (wavelet-based, per channel,
averaged).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from invdn.errors import InvdnError, OptionError

METHODS = ("noisy", "nlm", "wavelet", "bm3d")


def estimate_noise_sigma(img: np.ndarray) -> float:
    """Gaussian noise σ of `(H, W, C)` float [0, 1] image, averaged over channels."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(img, channel_axis=-1, average_sigmas=True))


def _nlm(img: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    # scikit-image's recommended setting for fast mode: h slightly below σ, σ passed too
    gray = img.shape[2] == 1
    out = denoise_nl_means(img[..., 0] if gray else img, h=0.8 * sigma, sigma=sigma,
                           fast_mode=True, patch_size=5, patch_distance=6,
                           channel_axis=None if gray else -1)
    return out[..., None] if gray else out


def _wavelet(img: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_wavelet

    color = img.shape[2] == 3
    return denoise_wavelet(img, sigma=sigma, channel_axis=-1, convert2ycbcr=color,
                           method="BayesShrink", mode="soft", rescale_sigma=True)


def _import_bm3d():
    try:
        import bm3d
    except ImportError as err:
        raise OptionError("method", "bm3d", "needs the optional bm3d package: "
                          "pip install 'invdn[classical]'") from err
    return bm3d


def _bm3d(img: np.ndarray, sigma: float) -> np.ndarray:
    bm3d = _import_bm3d()
    if img.shape[2] == 3:
        return bm3d.bm3d_rgb(img, sigma_psd=sigma)
    return np.asarray(bm3d.bm3d(img[..., 0], sigma_psd=sigma))[..., None]


_DENOISERS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "noisy": lambda img, sigma: img.copy(), "nlm": _nlm, "wavelet": _wavelet, "bm3d": _bm3d,
}


def check_method(method: str) -> None:
    """InvdnError now (not at the first image) for an unknown method or a missing package;
    also loads the method's code so its first call is not slowed by imports."""
    if method not in _DENOISERS:
        raise InvdnError(f"unknown classical method {method!r}; use one of {', '.join(METHODS)}")
    if method == "bm3d":
        _import_bm3d()
    import skimage.restoration  # noqa: F401 - lazy-loaded submodules are slow on first use

    estimate_noise_sigma(np.random.default_rng(0).random((16, 16, 3), np.float32))


def denoise_classical(img: np.ndarray, method: str, sigma: float | None = None) -> np.ndarray:
    """Denoise `(H, W, C)` float [0, 1] (C = 1 or 3) with a classical `method` (see METHODS);
    `sigma` on the [0, 1] scale, estimated when None. Returns float32 in [0, 1]."""
    if method not in _DENOISERS:
        raise InvdnError(f"unknown classical method {method!r}; use one of {', '.join(METHODS)}")
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise InvdnError(f"expected an (H, W, 1|3) image, got {img.shape}")
    img = img.astype(np.float32)
    if sigma is None and method != "noisy":
        sigma = estimate_noise_sigma(img)
    out = _DENOISERS[method](img, max(float(sigma or 0.0), 1e-6))
    return np.clip(out, 0.0, 1.0).astype(np.float32)
