"""Training-step time (standard vs memory-efficient, fp32 vs bf16-mixed), achieved TFLOP/s
against the device's measured peak, and data-loader throughput vs demand.

    python bench/train_step.py [--batch 4] [--size 144] [--levels 2] [--blocks 8] [--steps 3]
                               [--device cpu] [--precision fp32 bf16] [--modes standard reversible]
                               [--channels-last] [--compile] [--no-loader] [--workers N]
                               [--json-out F]

Step: one InvDN step as `invdn train` runs it (the project's `DenoisingLoss`: forward loss +
inverse-with-sampled-latent loss, backward, grad-norm clip 10, Adam), median of `--steps` after a
warm-up, for each memory mode and precision (bf16: autocast to bf16 on the device, as Lightning's
`trainer.precision=bf16-mixed`; on CPU as well). The paper's batch on a GPU:
`--device cuda --batch 28`. Per row: step time, samples/s, the step's FLOPs (counted once with
`torch.utils.flop_counter`: forward, inverse and both backwards) and the achieved TFLOP/s, as a
percentage of the measured peaks (a bf16/fp32 matmul of `--matmul-size`² and the 64→64 3x3
convolution at the first Haar level's resolution, batch `--batch`, channels_last, forward only).
On CPU the process CPU time per step is reported too (`cpu_s`): with other processes on the
machine it is the steadier figure.

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
from _common import cpu_seconds, emit, machine, print_table, time_it  # noqa: E402

from invdn import InvDN  # noqa: E402
from invdn.nn.reversible import MEMORY_MODES  # noqa: E402
from invdn.training.compile import CompiledModel  # noqa: E402
from invdn.training.losses import DenoisingLoss  # noqa: E402


def blocks_of(args: argparse.Namespace) -> list[int]:
    return args.blocks * args.levels if len(args.blocks) == 1 else args.blocks


def make_step(mode: str, precision: str, args: argparse.Namespace):
    """A training step closure and its model."""
    torch.manual_seed(0)
    model = InvDN(levels=args.levels, blocks=blocks_of(args), keep=args.keep,
                  memory_efficient=mode).to(args.device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    # as system.compile does: the loss's model(x) and model.inverse(...) through torch.compile
    net = CompiledModel(model) if args.compile else model
    loss_fn = DenoisingLoss()
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999), weight_decay=1e-8)
    clean = torch.rand(args.batch, 3, args.size, args.size, device=args.device)
    clean = clean.contiguous(memory_format=fmt)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    device_type = args.device.split(":")[0]
    bf16 = precision == "bf16"

    def step() -> None:
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(net, noisy, clean)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step, model


def step_flops(args: argparse.Namespace) -> int:
    """FLOPs of one standard fp32 training step (forward, inverse, both backwards)."""
    from torch.utils.flop_counter import FlopCounterMode

    saved = args.compile
    args.compile = False
    try:
        step, _ = make_step("standard", "fp32", args)
        with FlopCounterMode(display=False) as counter:
            step()
    finally:
        args.compile = saved
    return counter.get_total_flops()


def step_time(mode: str, precision: str, args: argparse.Namespace, flops: int,
              peaks: dict) -> dict:
    step, _ = make_step(mode, precision, args)
    memory = torch.cuda if args.device.startswith("cuda") else None
    if memory:
        memory.reset_peak_memory_stats()
    t = time_it(step, args.device, args.steps)
    row = {"mode": mode, "precision": precision, "step_s": t["median_s"],
           "samples_per_s": args.batch / t["median_s"],
           "tflops": flops / t["median_s"] / 1e12}
    if args.device == "cpu":
        times = []
        for _ in range(args.steps):
            t0 = time.process_time()
            step()
            times.append(time.process_time() - t0)
        row["cpu_s"] = sorted(times)[len(times) // 2]
        row["cpu_tflops"] = flops / row["cpu_s"] / 1e12
    if memory:
        row["peak_gib"] = memory.max_memory_allocated() / 2**30
    rate = row.get("cpu_tflops", row["tflops"])
    row["pct_matmul_peak"] = 100 * rate / peaks[f"matmul_{precision}_tflops"]
    row["pct_conv_peak"] = 100 * rate / peaks[f"conv_{precision}_tflops"]
    return row


def best_seconds(fn, device: str, repeats: int = 3) -> float:
    """Least time of `fn`: process CPU time on CPU (steady when other processes share the
    machine, and what the CPU step rates are measured in), wall time on GPU."""
    if device != "cpu":
        return time_it(fn, device, repeats)["min_s"]
    return cpu_seconds(fn, repeats)


def measure_peaks(args: argparse.Namespace) -> dict:
    """TFLOP/s of a square matmul and of the 64→64 3x3 convolution at the first Haar level's
    resolution (batch `--batch`, channels_last), in bf16 and fp32; weights pre-cast."""
    n, h = args.matmul_size, args.size // 2
    peaks = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, device=args.device, dtype=dtype)
        b = torch.randn(n, n, device=args.device, dtype=dtype)
        t = best_seconds(lambda a=a, b=b: a @ b, args.device)
        peaks[f"matmul_{name}_tflops"] = 2 * n**3 / t / 1e12
        x = torch.rand(args.batch, 64, h, h, device=args.device, dtype=dtype)
        x = x.contiguous(memory_format=torch.channels_last)
        w = torch.randn(64, 64, 3, 3, device=args.device, dtype=dtype)
        w = w.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            t = best_seconds(lambda x=x, w=w: torch.nn.functional.conv2d(x, w, padding=1),
                             args.device)
        peaks[f"conv_{name}_tflops"] = 2 * 64 * 64 * 9 * args.batch * h * h / t / 1e12
    return peaks


def make_sidd_tree(root: Path, scenes: int, size: tuple[int, int]) -> None:
    """Official SIDD layout with `scenes` scenes of two full-size pairs each."""
    import skimage.data
    from skimage.transform import resize

    from invdn.io.images import from_float, write_image

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
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--blocks", type=int, nargs="+", default=[8],
                        help="coupling blocks per level (one value: the same for every level)")
    parser.add_argument("--keep", type=int, default=None)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", nargs="+", choices=["fp32", "bf16"],
                        default=["fp32", "bf16"], help="fp32 and/or bf16-mixed (autocast)")
    parser.add_argument("--bf16", action="store_true", help="only bf16 (--precision bf16)")
    parser.add_argument("--modes", nargs="+", choices=list(MEMORY_MODES),
                        default=["standard", "reversible"], help="memory modes to time")
    parser.add_argument("--channels-last", action="store_true",
                        help="model and batch in channels_last memory format")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--matmul-size", type=int, default=None,
                        help="side of the peak matmul (default 8192 on GPU, 2048 on CPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--no-loader", action="store_true", help="skip the loader measurement")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--photo-size", type=int, nargs=2, default=[3000, 4000],
                        help="height width of the synthetic full-resolution photos")
    parser.add_argument("--loader-batches", type=int, default=10)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.bf16:
        args.precision = ["bf16"]
    if args.matmul_size is None:
        args.matmul_size = 8192 if args.device.startswith("cuda") else 2048

    peaks = measure_peaks(args)
    flops = step_flops(args)
    # precisions alternate per mode, so a ratio compares runs under the same machine load
    steps = [step_time(mode, p, args, flops, peaks) for mode in args.modes for p in args.precision]
    demand = steps[0]["samples_per_s"]
    result = {"benchmark": "train_step", "machine": machine(args.device),
              "load_average": os.getloadavg(),
              "settings": {k: v for k, v in vars(args).items() if k != "json_out"},
              "step_flops": flops, "flops_per_pixel": flops / (args.batch * args.size**2),
              "peaks": peaks, "steps": steps}
    std = {r["precision"]: r for r in steps if r["mode"] == "standard"}
    if "reversible" in args.modes and "standard" in args.modes:
        rev = {r["precision"]: r for r in steps if r["mode"] == "reversible"}
        result["memory_efficient_time_ratio"] = {p: rev[p]["step_s"] / std[p]["step_s"] for p in rev}
    if len(std) == 2:
        key = "cpu_s" if args.device == "cpu" else "step_s"
        result["bf16_speedup"] = std["fp32"][key] / std["bf16"][key]
    columns = [("mode", "training step", "s"), ("precision", "precision", "s"),
               ("step_s", "s/step", ".3f"), ("samples_per_s", "samples/s", ".2f"),
               ("tflops", "TFLOP/s", ".3f"), ("cpu_s", "CPU s/step", ".3f"),
               ("pct_matmul_peak", "% matmul peak", ".1f"),
               ("pct_conv_peak", "% conv peak", ".1f"), ("peak_gib", "peak GiB", ".2f")]
    if args.no_loader:
        emit(result, args.json_out)
        print()
        print_table(steps, columns)
        return
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
    result.update(demand_samples_per_s=demand, prepare_cache_s=prepare_s, loaders=loaders)
    emit(result, args.json_out)
    print()
    print_table(steps, columns)
    print()
    print_table(loaders, [("source", "loader", "s"), ("samples_per_s", "samples/s", ".1f"),
                          ("x_demand", "x step demand", ".1f")])


if __name__ == "__main__":
    main()
