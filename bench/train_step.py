"""Training-step time (standard vs memory-efficient) and data-loader throughput vs demand.

    python bench/train_step.py [--batch 4] [--size 144] [--blocks 8] [--steps 3] [--device cpu]
                               [--workers N] [--json-out F]

Step: one InvDN step as `invdn train` runs it (the project's `DenoisingLoss`: forward loss +
inverse-with-sampled-latent loss, backward, grad-norm clip 10, Adam), median of `--steps` after a
warm-up, for `memory_efficient` off and on. The paper's batch on a GPU: `--device cuda --batch 28`.

Loader: a synthetic SIDD tree (official layout, full-resolution PNGs made from scikit-image photos
with noise) is read two ways through `SIDDDataModule`: from the PNGs directly and from the crop
cache of `invdn prepare sidd`. Samples/s of each is compared with the step's demand
(batch / step time): a loader above 1x keeps the model busy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine, print_table, time_it  # noqa: E402

from invdn import InvDN  # noqa: E402
from invdn.losses import DenoisingLoss  # noqa: E402


def step_time(mode: bool, args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    model = InvDN(blocks=(args.blocks, args.blocks), memory_efficient=mode).to(args.device)
    loss_fn = DenoisingLoss()
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999), weight_decay=1e-8)
    clean = torch.rand(args.batch, 3, args.size, args.size, device=args.device)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    ctx = (torch.autocast("cuda", dtype=torch.bfloat16) if args.bf16
           else torch.autocast(args.device.split(":")[0], enabled=False))

    def step() -> None:
        with ctx:
            loss = loss_fn(model, noisy, clean)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    t = time_it(step, args.device, args.steps)
    return {"mode": "memory_efficient" if mode else "standard", "step_s": t["median_s"],
            "samples_per_s": args.batch / t["median_s"]}


def make_sidd_tree(root: Path, scenes: int, size: tuple[int, int]) -> None:
    """Official SIDD layout with `scenes` scenes of two full-size pairs each."""
    import skimage.data
    from skimage.transform import resize

    from invdn.imageio import from_float, write_image

    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()]
    rng = np.random.default_rng(0)
    for i in range(scenes):
        scene = root / "Data" / f"{i + 1:04d}_001_S6_00100_00060_3200_L"
        clean = resize(photos[i % len(photos)], size, anti_aliasing=True).astype(np.float32)
        for k in ("010", "011"):
            noisy = clean + rng.normal(0, 0.05, clean.shape).astype(np.float32)
            write_image(scene / f"{i + 1:04d}_GT_SRGB_{k}.PNG", from_float(clean))
            write_image(scene / f"{i + 1:04d}_NOISY_SRGB_{k}.PNG", from_float(noisy))


def loader_rate(args: argparse.Namespace, root: Path, cache: Path | None) -> dict:
    from invdn.data import SIDDDataModule

    dm = SIDDDataModule(root=str(root), cache=str(cache) if cache else None, val_scenes=1,
                        patch_size=args.size, batch_size=args.batch, num_workers=args.workers,
                        samples_per_epoch=args.batch * (args.loader_batches + 2))
    dm.setup("fit")
    batches = iter(dm.train_dataloader())
    next(batches)  # worker start-up is not throughput
    t0 = time.perf_counter()
    n = 0
    for _ in range(args.loader_batches):
        n += next(batches)["noisy"].shape[0]
    dt = time.perf_counter() - t0
    return {"source": "crop cache" if cache else "full PNGs", "samples_per_s": n / dt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=144)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--photo-size", type=int, nargs=2, default=[3000, 4000],
                        help="height width of the synthetic full-resolution photos")
    parser.add_argument("--loader-batches", type=int, default=10)
    parser.add_argument("--json-out")
    args = parser.parse_args()

    steps = [step_time(mode, args) for mode in (False, True)]
    demand = steps[0]["samples_per_s"]
    with tempfile.TemporaryDirectory() as tmp:
        from invdn.data.cache import prepare_sidd_cache

        root, cache = Path(tmp) / "SIDD_Medium_Srgb", Path(tmp) / "crops"
        make_sidd_tree(root, args.scenes, tuple(args.photo_size))
        t0 = time.perf_counter()
        prepare_sidd_cache(root, cache, log=lambda _: None)
        prepare_s = time.perf_counter() - t0
        loaders = [loader_rate(args, root, None), loader_rate(args, root, cache)]
    for row in loaders:
        row["x_demand"] = row["samples_per_s"] / demand
    result = {"benchmark": "train_step", "machine": machine(args.device),
              "settings": {k: v for k, v in vars(args).items() if k != "json_out"},
              "steps": steps,
              "memory_efficient_time_ratio": steps[1]["step_s"] / steps[0]["step_s"],
              "demand_samples_per_s": demand, "prepare_cache_s": prepare_s, "loaders": loaders}
    emit(result, args.json_out)
    print()
    print_table(steps, [("mode", "training step", "s"), ("step_s", "s/step", ".2f"),
                        ("samples_per_s", "samples/s", ".2f")])
    print()
    print_table(loaders, [("source", "loader", "s"), ("samples_per_s", "samples/s", ".1f"),
                          ("x_demand", "x step demand", ".1f")])


if __name__ == "__main__":
    main()
