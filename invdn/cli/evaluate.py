"""Measure PSNR/SSIM on SIDD validation blocks or paired folders; write SIDD submissions.

Data: SIDD `.mat` blocks (`--noisy ValidationNoisyBlocksSrgb.mat --gt
ValidationGtBlocksSrgb.mat`, MATLAB v5 or v7.3) or two folders of images paired by file stem
(`--noisy-dir --clean-dir`). Protocol (SIDD PSNR/SSIM as scikit-image computes them):
outputs rounded to uint8, per-block skimage PSNR (data_range 255) and SSIM (gaussian_weights,
sigma 1.5, no sample covariance), averaged. Writes evaluate.json, evaluate.md (means,
per-image table, seconds per megapixel) and best_worst.png (noisy | denoised | clean of the
best and worst block) into -o DIR.

Methods: invdn / danet (weights from --checkpoint; invdn defaults to the installed weights),
and classical baselines without training: nlm (scikit-image non-local means), wavelet
(scikit-image BayesShrink), bm3d (optional package: pip install 'invdn[classical]'), noisy
(the input itself). Their noise σ comes from --sigma (8-bit levels) or is estimated per image.

--submit on BenchmarkNoisyBlocksSrgb.mat writes SubmitSrgb.mat (DenoisedBlocksSrgb, uint8 in
the benchmark's shape, and TimeMPSrgb, seconds per megapixel) for the SIDD server.

examples:
  invdn evaluate --noisy ValidationNoisyBlocksSrgb.mat --gt ValidationGtBlocksSrgb.mat \\
      --checkpoint invdn.pt -o eval/invdn
  invdn evaluate --noisy-dir val/noisy --clean-dir val/clean --method bm3d -o eval/bm3d
  invdn evaluate --noisy BenchmarkNoisyBlocksSrgb.mat --submit --checkpoint invdn.pt -o sub/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from invdn.cli.denoise import add_model_arguments

HELP = "PSNR/SSIM on SIDD .mat blocks or paired folders; SIDD submission files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--noisy", metavar="MAT", help="noisy SIDD blocks .mat")
    data.add_argument("--gt", metavar="MAT", help="ground-truth SIDD blocks .mat")
    data.add_argument("--noisy-dir", metavar="DIR", help="folder of noisy images")
    data.add_argument("--clean-dir", metavar="DIR", help="folder of clean images (same stems)")
    parser.add_argument("--method", default="invdn",
                        choices=("invdn", "danet", "nlm", "wavelet", "bm3d", "noisy"))
    add_model_arguments(parser)
    parser.add_argument("--sigma", type=float, metavar="LEVELS",
                        help="noise σ for classical methods in 8-bit levels (0-255); "
                             "default: estimated per image")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N images")
    parser.add_argument("--submit", action="store_true",
                        help="also write SubmitSrgb.mat for the SIDD benchmark server")
    parser.add_argument("--name", help="name of this run in the report (default: the method)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder for evaluate.json/.md, best_worst.png, SubmitSrgb.mat")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _check(args: argparse.Namespace) -> None:
    from invdn.errors import InvdnError

    mat, folders = args.noisy is not None, args.noisy_dir is not None or args.clean_dir is not None
    if mat == folders:
        raise InvdnError("give either --noisy MAT (with --gt MAT or --submit) or --noisy-dir "
                         "and --clean-dir")
    if folders and (args.noisy_dir is None or args.clean_dir is None):
        raise InvdnError("--noisy-dir and --clean-dir go together; pass both folders")
    for flag, folder in (("--noisy-dir", args.noisy_dir), ("--clean-dir", args.clean_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise InvdnError(f"{flag} {folder}: no such folder")
    if mat and args.gt is None and not args.submit:
        raise InvdnError("--noisy without --gt has nothing to score; add --gt MAT or --submit")
    if args.submit and (not mat or args.limit is not None):
        raise InvdnError("--submit needs the full --noisy benchmark .mat and no --limit")
    if args.limit is not None and args.limit < 1:
        raise InvdnError(f"--limit must be >= 1, got {args.limit}")
    if args.sigma is not None and args.sigma < 0:
        raise InvdnError(f"--sigma must be >= 0 (8-bit levels), got {args.sigma}")


def _denoiser(args: argparse.Namespace):
    """(denoise function, report fields describing it)."""
    from invdn.errors import InvdnError
    from invdn.evaluation.evaluate import MODEL_METHODS, classical_fn

    if args.method not in MODEL_METHODS:
        sigma = None if args.sigma is None else args.sigma / 255.0
        return classical_fn(args.method, sigma), {"sigma_levels": args.sigma, "device": "cpu"}
    from invdn.cli.denoise import make_denoiser
    from invdn.nn.protocol import has_latent

    if args.method == "danet" and args.checkpoint is None:
        raise InvdnError("--method danet needs --checkpoint with trained DANet weights")
    denoiser = make_denoiser(args)
    if has_latent(denoiser.model) != (args.method == "invdn"):
        raise InvdnError(f"--checkpoint holds a {type(denoiser.model).__name__}, not a "
                         f"{args.method} model; pass the matching --method")
    o = denoiser.options
    fields = {"checkpoint": args.checkpoint, "device": str(denoiser.device), "samples": o.samples,
              "self_ensemble": o.self_ensemble, "seed": o.seed, "tile": o.tile}
    return denoiser, fields


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from invdn.evaluation.evaluate import folder_samples, mat_samples, run_evaluation
    from invdn.evaluation.reports import summarize, write_reports, write_submission
    from invdn.inference.batch import make_output_folder

    _check(args)
    denoise, fields = _denoiser(args)
    if args.noisy is not None:
        shape, samples = mat_samples(args.noisy, args.gt)
        source = f"{args.noisy}" + (f" + {args.gt}" if args.gt else "")
        total = len(samples)
    else:
        shape, samples = None, folder_samples(args.noisy_dir, args.clean_dir)
        source, total = f"{args.noisy_dir} + {args.clean_dir}", None
    out = make_output_folder(args.output)
    if args.limit is not None and total is not None:
        total = min(total, args.limit)

    def bar(items):
        return tqdm(items, total=total, desc=f"evaluate {args.method}", unit="img",
                    disable=True if args.quiet else None)

    result = run_evaluation(samples, denoise, args.limit, keep_outputs=args.submit,
                            progress=bar)
    info = {"name": args.name or args.method, "method": args.method, "source": source,
            **fields}
    report = summarize(result["records"], info)
    written = write_reports(report, result, out)
    if args.submit:
        path = out / "SubmitSrgb.mat"
        write_submission(path, result["outputs"], shape, report["seconds_per_megapixel"])
        written.append(path)
    if report["mean_psnr"] is not None:
        print(f"{report['name']}: PSNR {report['mean_psnr']:.2f} dB, SSIM "
              f"{report['mean_ssim']:.4f} over {report['count']} images, "
              f"{report['seconds_per_megapixel']:.3f} s/MP")
    else:
        print(f"{report['name']}: {len(report['per_image'])} images denoised, "
              f"{report['seconds_per_megapixel']:.3f} s/MP")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
