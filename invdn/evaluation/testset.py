"""The built-in test set: bundled photos that no training set uses (`QUALITY_TEST`), each with
its own fixed-seed synthetic noise per setting, quantized to 8 bits like a real photo.

One home for `bench/quality.py` and `invdn compare --quality`: the same images, settings and
seeds give the same noisy inputs everywhere. Scores follow the SIDD protocol of
`invdn.evaluation.protocol.block_metrics` (uint8, all channels, Gaussian-window SSIM).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from invdn.data.noise import CameraNoise, GaussianNoise, PoissonGaussianNoise
from invdn.data.storage import SavedAsJpeg
from invdn.data.synthetic import QUALITY_TEST, bundled_image
from invdn.errors import InvdnError


@dataclass(frozen=True)
class Setting:
    name: str
    noise: GaussianNoise | PoissonGaussianNoise | CameraNoise | SavedAsJpeg
    sigma: float | None  # the true σ on the [0, 1] scale (Gaussian only)


SETTINGS = (
    Setting("gauss15", GaussianNoise(15.0), 15 / 255),
    Setting("gauss25", GaussianNoise(25.0), 25 / 255),
    Setting("gauss50", GaussianNoise(50.0), 50 / 255),
    # variance 4e-3·x + 4e-4: σ ≈ 12.5 levels at mid-gray, 5 in the shadows, 17 in highlights
    Setting("poisson_gaussian", PoissonGaussianNoise(shot=4e-3, read=4e-4), None),
    # raw shot variance in [1e-3, 3e-3] (read from the paper's fit), one camera per image;
    # last in the list so the other settings keep their seeds
    Setting("camera", CameraNoise(camera_shot=(1e-3, 3e-3)), None),
    # σ = 20 saved as the JPEG most photos are: quality 95, chroma subsampled 4:2:0 (σ unknown
    # to the blind methods: JPEG changed it)
    Setting("jpeg", SavedAsJpeg(GaussianNoise(20.0), quality=95, subsampling="420"), None),
)
HEADS = {"gauss15": "σ=15", "gauss25": "σ=25", "gauss50": "σ=50",
         "poisson_gaussian": "Poisson–Gaussian", "camera": "camera",
         "jpeg": "σ=20 JPEG q95 4:2:0"}


def setting_names() -> list[str]:
    return [s.name for s in SETTINGS]


def check_settings(names: Sequence[str]) -> list[str]:
    """`names` as a list; InvdnError naming the first that is not a setting."""
    unknown = [n for n in names if n not in setting_names()]
    if unknown:
        raise InvdnError(f"unknown noise setting {unknown[0]!r}; choose from "
                         f"{', '.join(setting_names())}")
    return list(names)


def noise_seed(image_index: int, setting_index: int) -> int:
    return 1000 * image_index + setting_index


def noisy_copy(clean: np.ndarray, setting: Setting, seed: int) -> np.ndarray:
    """`(H, W, 3)` uint8 clean → uint8 noisy, the noise fixed by `seed`."""
    from invdn.io.images import image_to_tensor, tensor_to_image

    noisy = setting.noise(image_to_tensor(clean), torch.Generator().manual_seed(seed))
    return tensor_to_image(noisy, clean)


def camera_params(names: Sequence[str]) -> dict[str, dict]:
    """The camera each image gets in the camera setting (drawn first from its noise seed)."""
    j, setting = next((j, s) for j, s in enumerate(SETTINGS) if s.name == "camera")
    return {name: setting.noise.draw(1, torch.Generator().manual_seed(noise_seed(i, j))).as_dict()
            for i, name in enumerate(names)}


def center(img: np.ndarray, crop: int | None) -> np.ndarray:
    """The central `crop`² window (the whole image when `crop` is None or 0)."""
    if not crop:
        return img
    h, w = img.shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return np.ascontiguousarray(img[top:top + crop, left:left + crop])


def test_cases(settings: Sequence[str] | None = None, images: Sequence[str] = QUALITY_TEST,
               crop: int | None = None
               ) -> Iterator[tuple[str, Setting, np.ndarray, np.ndarray]]:
    """(image name, setting, clean uint8, noisy uint8) for every image × chosen setting;
    seeds depend on the image's and the setting's position in the full lists, so a subset
    yields exactly the inputs the full benchmark uses."""
    wanted = setting_names() if settings is None else check_settings(settings)
    for i, name in enumerate(images):
        clean = center(bundled_image(name), crop)
        for j, setting in enumerate(SETTINGS):
            if setting.name in wanted:
                yield name, setting, clean, noisy_copy(clean, setting, noise_seed(i, j))


def score(denoise: Callable[[np.ndarray], np.ndarray], settings: Sequence[str] | None = None,
          images: Sequence[str] = QUALITY_TEST, crop: int | None = None) -> dict:
    """Mean PSNR/SSIM of `denoise` (uint8 `(H, W, 3)` → uint8) per setting over the test
    images, and over all settings: `{"settings": {name: {"psnr", "ssim"}}, "psnr", "ssim"}`."""
    from invdn.evaluation.protocol import block_metrics

    per: dict[str, list[tuple[float, float]]] = {}
    for _, setting, clean, noisy in test_cases(settings, images, crop):
        per.setdefault(setting.name, []).append(block_metrics(denoise(noisy), clean))
    cells = {k: {"psnr": float(np.mean([p for p, _ in v])), "ssim": float(np.mean([s for _, s in v]))}
             for k, v in per.items()}
    return {"settings": cells, "images": list(images), "crop": crop,
            "psnr": float(np.mean([c["psnr"] for c in cells.values()])),
            "ssim": float(np.mean([c["ssim"] for c in cells.values()]))}
