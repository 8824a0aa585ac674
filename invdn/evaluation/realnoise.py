"""Real camera noise with ground truth: pairs of a camera's noisy JPEG and the mean of hundreds
of shots of the same static scene (PolyU, Xu et al. 2018, arXiv 1804.02603; 512² crops named
`<camera>_<f>_<shutter>_<iso>_<scene>_<crop>_real.JPG` and `..._mean.JPG`).

The noise is mild (about 36 dB) and spatially correlated by demosaicing, in-camera denoising and
JPEG, so an output below its noisy input is a regression a user sees: besides the mean PSNR the
score counts the outputs that fall below their input. Scored on uint8 against the mean image
(`invdn.evaluation.standard.score`). The pairs are not part of the project: `root` is a folder
of them (evaluation only, never trained on).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from invdn.errors import InvdnError
from invdn.evaluation.standard import Method, Timer, run_timed, score


def load_pairs(root: str | Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """`(name, noisy uint8, clean uint8)` `(H, W, 3)` for every `*_real.*` file of `root` with
    a `*_mean.*` partner, sorted by name."""
    from invdn.io.images import read_image

    root = Path(root)
    noisy_files = sorted(p for p in root.glob("*") if p.stem.endswith("_real"))
    pairs = []
    for noisy_path in noisy_files:
        stem = noisy_path.stem[: -len("_real")]
        partner = noisy_path.with_name(f"{stem}_mean{noisy_path.suffix}")
        if partner.is_file():
            pairs.append((stem, read_image(noisy_path)[:, :, :3], read_image(partner)[:, :, :3]))
    if not pairs:
        raise InvdnError(f"{root}: no <name>_real / <name>_mean image pairs; give the folder "
                         "of PolyU crops (e.g. ../shared/realnoise/polyu_canon)")
    return pairs


def evaluate_pairs(method: Method, pairs: list[tuple[str, np.ndarray, np.ndarray]],
                   timer: Timer | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Mean PSNR/SSIM of `method` and of the noisy inputs, and how many outputs fall below
    their input: `{"psnr", "ssim", "noisy_psnr", "noisy_ssim", "below_input", "images"}`."""
    timer = timer if timer is not None else Timer()
    records = []
    for name, noisy, clean in pairs:
        out = run_timed(method, noisy.astype(np.float32) / 255.0, timer)
        psnr, ssim = score(out, clean)
        noisy_psnr, noisy_ssim = score(noisy.astype(np.float32) / 255.0, clean)
        records.append({"name": name, "psnr": psnr, "ssim": ssim, "noisy_psnr": noisy_psnr,
                        "noisy_ssim": noisy_ssim})
        if log is not None:
            log(f"{name}: {noisy_psnr:.2f} → {psnr:.2f} dB")
    mean = {key: float(np.mean([r[key] for r in records]))
            for key in ("psnr", "ssim", "noisy_psnr", "noisy_ssim")}
    return {**mean, "below_input": sum(r["psnr"] < r["noisy_psnr"] for r in records),
            "images": records}


__all__ = ["evaluate_pairs", "load_pairs"]
