"""Generate new noisy realizations of a scene by resampling InvDN's latent.

For each input image: each realization keeps the low-resolution image of InvDN's forward pass
and draws a new latent with the input latent's own statistics (per-channel mean, local RMS
deviation): z' = s·(μ + σ_local·ε). The scale s is calibrated on the image's central 256² crop
so the generated noise level matches T times the input's own, estimated robustly from the
input where the scene is flat (the clean estimate averages --samples latent draws, and says
where that is, per brightness bin). --mode all resamples all
latent channels; --mode high only those that descend from the finest Haar scale (the coarser
noise stays the original's). bench/generate.py measures the match (docs/usage.md, generate).

Writes, per input, into -o OUT: <stem>_gen00<ext> ... (--count realizations), <stem>_clean<ext>
(the clean estimate), and a noise report <stem>_noise.json / <stem>_noise.png comparing the
generated noise with the original (per-channel std, noise std vs intensity, correlation).
The same --seed gives the same realizations.

examples:
  invdn generate noisy.png -o gen/ --checkpoint invdn.pt --count 8
  invdn generate shots/ -o gen/ --mode high --temperature 1.5 --seed 3
"""

from __future__ import annotations

import argparse

from invdn.cli.common import add_device_arguments, batch_callbacks, batch_exit, batch_outcome

HELP = "new noisy realizations of images by resampling the latent, with a noise report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders or quoted globs")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also take images in sub-folders of INPUT folders")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="InvDN weights in any format (default: the installed defaults)")
    parser.add_argument("--count", type=int, default=4, metavar="N",
                        help="realizations per image (default 4)")
    parser.add_argument("--mode", choices=("all", "high"), default="all",
                        help="resample all latent channels, or only the finest scale")
    parser.add_argument("--temperature", type=float, default=1.0, metavar="T",
                        help="generated noise level / the input's (default 1; 0: no noise)")
    parser.add_argument("--window", type=int, default=5,
                        help="odd window (latent pixels) for the local noise strength")
    parser.add_argument("--samples", type=int, default=4,
                        help="latent draws averaged for the clean estimate (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    add_device_arguments(parser, precision=False)
    parser.add_argument("--tile", type=int, default=512, help="tile size; 0 = untiled")
    parser.add_argument("--overlap", type=int, default=32, help="tile overlap in pixels")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--max-megapixels", type=float, default=100.0, metavar="MP",
                        help="refuse images larger than this (default 100)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from invdn.inference.files import resample_files
    from invdn.inference.resample import ResampleOptions

    options = ResampleOptions(count=args.count, mode=args.mode, temperature=args.temperature,
                              window=args.window, samples=args.samples, seed=args.seed,
                              tile=args.tile, overlap=args.overlap)
    result = resample_files(
        args.inputs, args.output, checkpoint=args.checkpoint, options=options,
        device=args.device, recursive=args.recursive, overwrite=args.overwrite,
        max_megapixels=args.max_megapixels, **batch_callbacks(args.quiet, "generate"))
    print(f"{result.written} images done ({args.count} realizations each), "
          f"{batch_outcome(result)} in {result.seconds:.1f} s -> {args.output}")
    return batch_exit(result, "generate")
