"""Train InvDN (or the DANet baseline) with Lightning, configured by Hydra overrides.

Without overrides this is a short CPU demo: a small InvDN on scikit-image photos with
synthetic Gaussian noise; it prints the validation PSNR reached next to the noisy input's.

examples:
  invdn train                                    # the demo (a few minutes on a CPU)
  invdn train --cfg model=danet                  # print the resolved config and exit
  invdn train model=invdn trainer.max_steps=5000 system.lr=2e-4
  invdn train experiment=sidd_paper data.root=/data/SIDD_Medium_Srgb \\
      data.val_noisy_mat=/data/ValidationNoisyBlocksSrgb.mat \\
      data.val_gt_mat=/data/ValidationGtBlocksSrgb.mat
  invdn train experiment=sidd_paper trainer=ddp trainer.devices=4 ...   # 4 GPUs
  invdn train resume=runs/2025-01-01_12-00-00 trainer.max_steps=2000    # continue a run
  invdn train experiment=shipped init_weights=runs/a/checkpoints/last.ckpt  # start from weights

Groups: data= synthetic|sidd|folders, model= invdn|invdn_small|danet, trainer= cpu|gpu|ddp,
logger= csv|tensorboard, callbacks= default, experiment= sidd_paper|quick. Each run writes
<run_dir>/config.yaml, logs/metrics.csv, checkpoints/{last,best}.ckpt and previews/*.png.

Resuming: `resume=RUN` continues the run in RUN with its saved config.yaml (plus key=value
overrides), appending to its logs and keeping its best checkpoint. `ckpt_path=RUN/checkpoints/
last.ckpt` does the same when run_dir is left at its default or is RUN; with another run_dir it
starts a new run folder from that checkpoint. `init_weights=FILE` is not a resume: it loads
FILE's weights (same architecture) and starts a new run at step 0 with a fresh optimizer and
schedule, e.g. to fine-tune or to give a finished run a second, longer schedule.

Faults: checkpoints are written atomically; last.ckpt is refreshed every
callbacks.checkpoint.save_last_every_n_steps steps, so a killed run resumes exactly (same
weights as an uninterrupted run) from its last.ckpt. Ctrl+C (SIGINT) or SIGTERM finishes the
current step, saves last.ckpt and exits with 130 / 143. A step with a non-finite loss is
skipped; system.max_nonfinite_steps of them in a row stop the run (exit 2).
"""

from __future__ import annotations

import argparse
import sys

HELP = "train a denoiser with Lightning (Hydra overrides: key=value …)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cfg", action="store_true",
                        help="print the resolved configuration and exit")
    parser.add_argument("overrides", nargs=argparse.REMAINDER, metavar="KEY=VALUE",
                        help="Hydra overrides, e.g. model=danet trainer.max_steps=1000")


def run(args: argparse.Namespace) -> int:
    from invdn.training.config import compose_config, config_yaml
    from invdn.training.run import train
    from invdn.training.signals import TrainingInterrupted

    # argparse's REMAINDER keeps a --cfg given after the first override among them
    show = args.cfg or "--cfg" in args.overrides
    cfg = compose_config([o for o in args.overrides if o != "--cfg"])
    if show:
        print(config_yaml(cfg), end="")
        return 0
    try:
        result = train(cfg, log=lambda line: print(line, flush=True))
    except TrainingInterrupted as stop:
        if stop.rank == 0:
            print(f"invdn train: {stop}", file=sys.stderr, flush=True)
        return stop.exit_code
    if result.rank == 0:
        print(result.summary(), flush=True)
    sys.stdout.flush()
    return 0
