"""Measuring a denoiser on SIDD `.mat` blocks or paired folders (`invdn evaluate`), scored by
the protocol of :mod:`invdn.evaluation.protocol`; the reports are :mod:`invdn.evaluation.reports`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from invdn.errors import InvdnError, OptionError
from invdn.evaluation.protocol import SSIM_MIN_SIDE, block_metrics
from invdn.io.images import from_float, to_float
from invdn.timing import Stopwatch

DenoiseFn = Callable[[np.ndarray], np.ndarray]
MODEL_METHODS = ("invdn", "danet")


@dataclass(frozen=True)
class Sample:
    """One evaluation image: `(H, W, 3)` uint8/uint16 noisy, and its clean partner if known."""

    name: str
    noisy: np.ndarray
    clean: np.ndarray | None = None


def mat_samples(noisy_mat: str | Path, gt_mat: str | Path | None = None
                ) -> tuple[tuple[int, ...], list[Sample]]:
    """SIDD blocks `(images, blocks, H, W, 3)` → (stored shape, samples named `IIII_BB`)."""
    from invdn.data.sidd import load_mat_blocks

    noisy = load_mat_blocks(noisy_mat)
    clean = load_mat_blocks(gt_mat) if gt_mat is not None else None
    if clean is not None and clean.shape != noisy.shape:
        raise InvdnError(f"{noisy_mat} holds {noisy.shape} but {gt_mat} holds {clean.shape}; "
                         "pass matching noisy and ground-truth files")
    lead = noisy.shape[:-3]
    flat_noisy = noisy.reshape(-1, *noisy.shape[-3:])
    flat_clean = clean.reshape(-1, *clean.shape[-3:]) if clean is not None else None
    names = ["_".join(f"{i:02d}" for i in idx) for idx in np.ndindex(*lead)] if lead else ["0"]
    samples = [Sample(name, flat_noisy[i], None if flat_clean is None else flat_clean[i])
               for i, name in enumerate(names)]
    return noisy.shape, samples


def folder_samples(noisy_dir: str | Path, clean_dir: str | Path) -> Iterator[Sample]:
    """Pairs of images with the same file stem in two folders, read lazily as RGB."""
    from invdn.data.files import index_by_key, list_images, match_pairs, read_pair

    noisy_dir, clean_dir = Path(noisy_dir), Path(clean_dir)
    for d in (noisy_dir, clean_dir):
        if not d.is_dir():
            raise OptionError("noisy_dir" if d == noisy_dir else "clean_dir", d,
                              "is not a folder; pass a folder of images")
    noisy = index_by_key(list_images(noisy_dir), lambda p: p.stem, noisy_dir)
    clean = index_by_key(list_images(clean_dir), lambda p: p.stem, clean_dir)
    pairs = match_pairs(noisy, clean, noisy_dir, clean_dir)
    for noisy_path, clean_path in pairs:
        noisy_img, clean_img = read_pair(noisy_path, clean_path)
        if noisy_img.dtype != clean_img.dtype:
            raise InvdnError(f"{noisy_path} is {noisy_img.dtype} but {clean_path} is "
                             f"{clean_img.dtype}; pairs must have the same bit depth")
        h, w = noisy_img.shape[:2]
        if min(h, w) < SSIM_MIN_SIDE:
            raise InvdnError(f"{noisy_path} is {w}x{h}, smaller than the {SSIM_MIN_SIDE}x"
                             f"{SSIM_MIN_SIDE} SSIM window of the protocol; remove it")
        yield Sample(noisy_path.stem, noisy_img, clean_img)


def classical_fn(method: str, sigma: float | None) -> DenoiseFn:
    """A classical denoiser on integer RGB images (`sigma` on the [0, 1] scale or None)."""
    from invdn.evaluation.classical import check_method, denoise_classical

    check_method(method)

    def run(img: np.ndarray) -> np.ndarray:
        return from_float(denoise_classical(to_float(img), method, sigma), img.dtype)

    return run


def run_evaluation(samples: Iterable[Sample], denoise: DenoiseFn, limit: int | None = None,
                   keep_outputs: bool = False,
                   progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, Any]:
    """Denoise every sample (the first `limit`), time it, and score those with a clean partner.

    Returns `records` (name, psnr, ssim, seconds, megapixels), `best`/`worst` (name, noisy,
    denoised, clean) by PSNR, and `outputs` (the denoised arrays) if `keep_outputs`."""
    records: list[dict[str, Any]] = []
    outputs: list[np.ndarray] = []
    best = worst = None
    items: Iterable[Sample] = samples
    if progress is not None:
        items = progress(items)
    for i, sample in enumerate(items):
        if limit is not None and i >= limit:
            break
        with Stopwatch() as watch:
            out = denoise(sample.noisy)
        seconds = watch.seconds
        if out.shape != sample.noisy.shape or out.dtype != sample.noisy.dtype:
            raise InvdnError(f"{sample.name}: denoiser returned {out.shape} {out.dtype} for "
                             f"{sample.noisy.shape} {sample.noisy.dtype}")
        record: dict[str, Any] = {"name": sample.name, "seconds": seconds,
                                  "megapixels": sample.noisy.shape[0] * sample.noisy.shape[1]
                                  / 1e6}
        if sample.clean is not None:
            record["psnr"], record["ssim"] = block_metrics(out, sample.clean)
            triple = (sample.name, sample.noisy, out, sample.clean)
            if best is None or record["psnr"] > best[0]:
                best = (record["psnr"], triple)
            if worst is None or record["psnr"] < worst[0]:
                worst = (record["psnr"], triple)
        records.append(record)
        if keep_outputs:
            outputs.append(out)
    if not records:
        raise InvdnError("nothing to evaluate: no images (or a limit of 0)")
    return {"records": records, "outputs": outputs,
            "best": best[1] if best else None, "worst": worst[1] if worst else None}


