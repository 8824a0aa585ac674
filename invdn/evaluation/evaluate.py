"""Measuring a denoiser on SIDD `.mat` blocks or paired folders: `evaluate(...)`, the library
form of `invdn evaluate`, scored by the protocol of :mod:`invdn.evaluation.protocol`; the
reports are :mod:`invdn.evaluation.reports`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from invdn.checks import Checked, Choice, Int, Number, Rule
from invdn.errors import InvdnError, OptionError
from invdn.evaluation.protocol import SSIM_MIN_SIDE, block_metrics
from invdn.io.images import from_float, to_float
from invdn.timing import Stopwatch

if TYPE_CHECKING:  # torch is imported when a network is evaluated, not for the classical methods
    import torch
    from torch import nn

    from invdn.inference.pipeline import DenoiseOptions

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




METHODS = (*MODEL_METHODS, "noisy", "nlm", "wavelet", "bm3d")


@dataclass(frozen=True)
class EvaluateOptions(Checked):
    """What `evaluate` measures: `method` (a network: invdn, danet; or a classical baseline:
    nlm, wavelet, bm3d, noisy = the input itself), `sigma` the noise σ in 8-bit levels for the
    classical methods (None: estimated per image), `limit` the first N images only, `submit`
    also writes SIDD's SubmitSrgb.mat, `name` the run's name in the report (default: the
    method)."""

    method: str = "invdn"
    sigma: float | None = None
    limit: int | None = None
    submit: bool = False
    name: str | None = None

    RULES: ClassVar[dict[str, Rule]] = {
        "method": Choice(METHODS), "sigma": Number(at_least=0, noun="", null=True,
                                                   fix=" (8-bit levels)"),
        "limit": Int(1, noun="", null=True),
    }


@dataclass
class EvaluateResult:
    """The JSON report (`report`: name, means, per-image rows, seconds per megapixel) and the
    files written."""

    report: dict[str, Any]
    written: list[Path]

    def summary(self) -> str:
        """The line `invdn evaluate` prints: the means (or the count when nothing is scored)."""
        r = self.report
        if r["mean_psnr"] is None:
            return (f"{r['name']}: {len(r['per_image'])} images denoised, "
                    f"{r['seconds_per_megapixel']:.3f} s/MP")
        return (f"{r['name']}: PSNR {r['mean_psnr']:.2f} dB, SSIM {r['mean_ssim']:.4f} over "
                f"{r['count']} images, {r['seconds_per_megapixel']:.3f} s/MP")


def _check_data(noisy: Any, gt: Any, noisy_dir: Any, clean_dir: Any, options: EvaluateOptions
                ) -> None:
    """The data options go together one way or the other (before anything is loaded)."""
    mat, folders = noisy is not None, noisy_dir is not None or clean_dir is not None
    if mat == folders:
        raise OptionError(None, None, "give either {opt:noisy} (with {opt:gt} or {on:submit}) "
                                      "or {opt:noisy_dir} and {opt:clean_dir}")
    if folders and (noisy_dir is None or clean_dir is None):
        raise OptionError(None, None, "{opt:noisy_dir} and {opt:clean_dir} go together; pass "
                                      "both folders")
    for key, folder in (("noisy_dir", noisy_dir), ("clean_dir", clean_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise OptionError(key, folder, "is not a folder; pass a folder of images")
    if mat and gt is None and not options.submit:
        raise OptionError("noisy", noisy, "without {opt:gt} has nothing to score; add "
                                          "{opt:gt} or {on:submit}")
    if options.submit and (not mat or options.limit is not None):
        raise OptionError(None, None, "{on:submit} needs the full {opt:noisy} benchmark .mat "
                                      "and no {opt:limit}")


def _denoiser(method: str, checkpoint: str | Path | nn.Module | None,
              options: DenoiseOptions | None, device: str | torch.device, sigma: float | None
              ) -> tuple[DenoiseFn, dict[str, Any]]:
    """(denoise function, report fields describing it)."""
    if method not in MODEL_METHODS:
        scale = None if sigma is None else sigma / 255.0
        return classical_fn(method, scale), {"sigma_levels": sigma, "device": "cpu"}
    from torch import nn

    from invdn.inference.loading import load_checkpoint_or_default
    from invdn.inference.pipeline import Denoiser
    from invdn.nn.protocol import has_latent

    if method == "danet" and checkpoint is None:
        raise OptionError("method", "danet", "needs {opt:checkpoint} with trained DANet weights")
    denoiser = Denoiser(load_checkpoint_or_default(checkpoint), options, device)
    if has_latent(denoiser.model) != (method == "invdn"):
        raise OptionError("checkpoint", checkpoint, f"holds a {type(denoiser.model).__name__}, "
                          f"not a {method} model; pass the matching {{opt:method}}")
    o = denoiser.options
    named = None if checkpoint is None or isinstance(checkpoint, nn.Module) else str(checkpoint)
    fields = {"checkpoint": named, "device": str(denoiser.device), "samples": o.samples,
              "self_ensemble": o.self_ensemble, "seed": o.seed, "tile": o.tile}
    return denoiser, fields


def evaluate(output: str | Path, *, noisy: str | Path | None = None,
             gt: str | Path | None = None, noisy_dir: str | Path | None = None,
             clean_dir: str | Path | None = None, evaluation: EvaluateOptions | None = None,
             checkpoint: str | Path | nn.Module | None = None,
             options: DenoiseOptions | None = None, device: str | torch.device = "auto",
             progress: Callable[[Iterable, int | None], Iterable] | None = None
             ) -> EvaluateResult:
    """Denoise and score SIDD blocks (`noisy` .mat, with `gt` .mat or `evaluation.submit`) or
    the images of two folders paired by file stem (`noisy_dir`, `clean_dir`), and write
    evaluate.json, evaluate.md, best_worst.png (and SubmitSrgb.mat) into the folder `output`.

    `checkpoint` (weights in any format, a model, or None for the shipped default), `options`
    and `device` as in `denoise_files`, for the network methods. `progress(items, total)` wraps
    the images (total None when unknown). Option combinations are checked before any work."""
    from invdn.evaluation.reports import summarize, write_reports, write_submission
    from invdn.inference.batch import make_output_folder

    e = evaluation or EvaluateOptions()
    _check_data(noisy, gt, noisy_dir, clean_dir, e)
    denoise, fields = _denoiser(e.method, checkpoint, options, device, e.sigma)
    if noisy is not None:
        shape, samples = mat_samples(noisy, gt)
        source = f"{noisy}" + (f" + {gt}" if gt else "")
        total: int | None = len(samples)
    else:
        shape, samples = None, folder_samples(noisy_dir, clean_dir)
        source, total = f"{noisy_dir} + {clean_dir}", None
    out = make_output_folder(output)
    if e.limit is not None and total is not None:
        total = min(total, e.limit)
    wrap = None if progress is None else (lambda items: progress(items, total))
    result = run_evaluation(samples, denoise, e.limit, keep_outputs=e.submit, progress=wrap)
    info = {"name": e.name or e.method, "method": e.method, "source": source, **fields}
    report = summarize(result["records"], info)
    written = write_reports(report, result, out)
    if e.submit:
        path = out / "SubmitSrgb.mat"
        write_submission(path, result["outputs"], shape, report["seconds_per_megapixel"])
        written.append(path)
    return EvaluateResult(report, written)
