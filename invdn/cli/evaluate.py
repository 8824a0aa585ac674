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

from invdn.cli.common import add_model_arguments, denoise_options, progress_bar

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


def run(args: argparse.Namespace) -> int:
    from invdn.evaluation.evaluate import EvaluateOptions, evaluate

    evaluation = EvaluateOptions(method=args.method, sigma=args.sigma, limit=args.limit,
                                 submit=args.submit, name=args.name)
    result = evaluate(args.output, noisy=args.noisy, gt=args.gt, noisy_dir=args.noisy_dir,
                      clean_dir=args.clean_dir, evaluation=evaluation,
                      checkpoint=args.checkpoint, options=denoise_options(args),
                      device=args.device,
                      progress=progress_bar(args.quiet, f"evaluate {args.method}"))
    print(result.summary())
    print("wrote " + ", ".join(str(p) for p in result.written))
    return 0
