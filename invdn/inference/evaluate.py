"""Measuring a denoiser on SIDD `.mat` blocks or paired folders, and SIDD submission files.

Protocol (SIDD PSNR/SSIM as scikit-image computes them): the output is rounded to the input's
integer type first, then per image the values of `skimage.metrics.peak_signal_noise_ratio(
data_range=255)` and `structural_similarity(channel_axis=-1, data_range=255,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` (data_range 65535 for 16-bit
folders), averaged over images; computed by `invdn.metrics`, which equals those functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from invdn.errors import InvdnError, OptionError
from invdn.io.atomic import write_atomic, write_text
from invdn.io.images import from_float, rescale_depth, to_float
from invdn.timing import Stopwatch

DenoiseFn = Callable[[np.ndarray], np.ndarray]
MODEL_METHODS = ("invdn", "danet")
PSNR_CAP = 100.0  # identical images have infinite PSNR; JSON needs a number
SSIM_MIN_SIDE = 11  # the protocol's Gaussian SSIM window (sigma 1.5, truncated at 3.5 sigma)
PROTOCOL = ("PSNR/SSIM per image on integer-rounded outputs: skimage peak_signal_noise_ratio("
            "data_range=255) and structural_similarity(channel_axis=-1, data_range=255, "
            "gaussian_weights=True, sigma=1.5, use_sample_covariance=False), averaged "
            "(data_range 65535 for 16-bit images; PSNR capped at 100 dB)")


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
    from invdn.inference.classical import check_method, denoise_classical

    check_method(method)

    def run(img: np.ndarray) -> np.ndarray:
        return from_float(denoise_classical(to_float(img), method, sigma), img.dtype)

    return run


def block_metrics(denoised: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    """(PSNR dB, SSIM) of `(H, W, C)` integer images under the protocol above, computed by
    `invdn.metrics` (equal to scikit-image's functions to ~1e-15; `tests/test_metrics.py`)."""
    import torch

    from invdn.metrics import psnr, ssim

    data_range = float(np.iinfo(clean.dtype).max)
    if np.array_equal(denoised, clean):
        return PSNR_CAP, 1.0
    if denoised.shape != clean.shape:
        raise ValueError(f"denoised {denoised.shape} and clean {clean.shape} differ in shape")
    pred, target = (torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].double()
                    for a in (denoised, clean))
    return (min(float(psnr(pred, target, data_range)), PSNR_CAP),
            float(ssim(pred, target, data_range)))


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


def summarize(records: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """The JSON report: `info` (name, method, source, options), means, per-image rows."""
    scored = [r for r in records if "psnr" in r]
    seconds = sum(r["seconds"] for r in records)
    megapixels = sum(r["megapixels"] for r in records)
    report = {
        **info,
        "count": len(scored),
        "mean_psnr": float(np.mean([r["psnr"] for r in scored])) if scored else None,
        "mean_ssim": float(np.mean([r["ssim"] for r in scored])) if scored else None,
        "seconds_per_megapixel": seconds / megapixels,
        "total_seconds": seconds,
        "protocol": PROTOCOL,
        "per_image": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()}
                      for r in records],
    }
    return report


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: summary, then one row per image."""
    lines = [f"# invdn evaluate: {report['name']}", "",
             f"- method: {report['method']}" + (f", weights: {report['checkpoint']}"
                                                 if report.get("checkpoint") else ""),
             f"- data: {report['source']}",
             f"- images: {report['count']}"]
    if report["mean_psnr"] is not None:
        lines.append(f"- mean PSNR: **{report['mean_psnr']:.2f} dB**, mean SSIM: "
                     f"**{report['mean_ssim']:.4f}**")
    lines += [f"- time: {report['seconds_per_megapixel']:.3f} s per megapixel on "
              f"{report.get('device', '?')}", f"- protocol: {report['protocol']}", "",
              "best_worst.png: the best and the worst image by PSNR, each as noisy | denoised | "
              "clean.", "", "| image | PSNR dB | SSIM | ms |", "|---|---:|---:|---:|"]
    for r in report["per_image"]:
        psnr = f"{r['psnr']:.2f}" if "psnr" in r else "–"
        ssim = f"{r['ssim']:.4f}" if "ssim" in r else "–"
        lines.append(f"| {r['name']} | {psnr} | {ssim} | {r['seconds'] * 1e3:.1f} |")
    return "\n".join(lines) + "\n"


def _to_display(img: np.ndarray) -> np.ndarray:
    img = rescale_depth(img, np.uint8)
    return np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img[:, :, :3]


def best_worst_image(best: tuple, worst: tuple, psnrs: dict[str, float]) -> np.ndarray:
    """Two rows (best, worst by PSNR) of noisy | denoised | clean, each under a caption."""
    import cv2

    rows = []
    for label, (name, noisy, denoised, clean) in (("best", best), ("worst", worst)):
        tiles = [_to_display(a) for a in (noisy, denoised, clean)]
        h = max(t.shape[0] for t in tiles)
        tiles = [np.pad(t, ((0, h - t.shape[0]), (0, 4), (0, 0)), constant_values=255)
                 for t in tiles]
        strip = np.concatenate(tiles, axis=1)
        caption = np.full((22, strip.shape[1], 3), 255, np.uint8)
        text = f"{label} {name} {psnrs[name]:.2f} dB"
        cv2.putText(caption, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
        rows += [caption, strip]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    return np.concatenate(rows, axis=0)


def write_reports(report: dict[str, Any], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """evaluate.json, evaluate.md and (with ground truth) best_worst.png into `out_dir`."""
    from invdn.io.images import write_image

    written = [out_dir / "evaluate.json", out_dir / "evaluate.md"]
    write_text(written[0], json.dumps(report, indent=2))
    write_text(written[1], to_markdown(report))
    if result["best"] is not None:
        psnrs = {r["name"]: r["psnr"] for r in report["per_image"] if "psnr" in r}
        written.append(out_dir / "best_worst.png")
        write_image(written[2], best_worst_image(result["best"], result["worst"], psnrs))
    return written


def write_submission(path: Path, outputs: list[np.ndarray], shape: tuple[int, ...],
                     seconds_per_megapixel: float) -> None:
    """SIDD's `SubmitSrgb.mat`: `DenoisedBlocksSrgb` (uint8, the benchmark file's shape) and
    `TimeMPSrgb` (seconds per megapixel)."""
    import scipy.io

    blocks = np.stack(outputs).astype(np.uint8).reshape(shape)
    data = {"DenoisedBlocksSrgb": blocks, "TimeMPSrgb": np.float64(seconds_per_megapixel)}
    write_atomic(path, lambda p: scipy.io.savemat(str(p), data, do_compression=False))
