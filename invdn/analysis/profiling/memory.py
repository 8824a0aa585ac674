"""Peak training memory and step time of InvDN for each depth and memory mode.

One measured step = one InvDN training step as the paper's recipe runs it: forward loss
(16 × squared L2 between the predicted low-resolution image and the clean image downsampled ×1/4,
antialiased bicubic), inverse with a freshly sampled latent, Charbonnier reconstruction loss,
backward, grad-norm clip 10, Adam step.

Memory is the peak above the resting state just before a step, after a warm-up step has created the
Adam moments and the gradient buffers (which stay allocated, `zero_grad(set_to_none=False)`), so it
is the activation memory plus the step's transient buffers. Every (depth, mode) pair is measured in
a fresh subprocess whose glibc allocator returns big blocks to the kernel from its first allocation
on, so peak RSS growth follows live memory (:mod:`invdn.analysis.profiling.rss`). On CUDA it is the growth of
`torch.cuda.max_memory_allocated`.

Time is the median of `repeats` steps, as wall-clock seconds and as CPU seconds of all the
process's threads, measured in one fresh subprocess per depth with the allocator as users run it
and the modes taking turns step by step, so a load from other work hits every mode alike.

`python -m invdn.analysis.profiling.memory memory|time --blocks 8 --modes … …` is what the subprocesses run:
it measures one depth in the current process and prints one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from invdn.nn import InvDN
from invdn.nn.reversible import MEMORY_MODES, MemoryMode
from invdn.timing import Stopwatch
from invdn.training.losses import DenoisingLoss

#: The memory modes measured by default: all of them, by the names `InvDN(memory_efficient=…)` takes.
MODES: tuple[MemoryMode, ...] = MEMORY_MODES

TARGETS = {
    "reversible_vs_standard_memory_at": 8,
    "reversible_vs_standard_memory_max": 0.35,
    "reversible_depth_growth_max": 1.3,
    "reversible_time_vs_standard_max": 1.4,
}


def training_step(
    model: InvDN,
    optimizer: torch.optim.Optimizer,
    loss_fn: DenoisingLoss,
    noisy: torch.Tensor,
    clean: torch.Tensor,
) -> float:
    """One InvDN training step with the loss `invdn train` uses (forward term against the
    ×1/4 bicubic clean image, inverse with a sampled latent, Charbonnier), grad-norm clip 10,
    optimizer step; returns the loss. noisy, clean `(B, 3, H, W)` in [0, 1]."""
    loss = loss_fn(model, noisy, clean)["loss"]
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    return float(loss.detach())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_modes(modes: Sequence[str]) -> None:
    """The profiler measures modes by name (never the config's booleans), so rows and tables
    say which one they are."""
    unknown = [m for m in modes if m not in MEMORY_MODES]
    if unknown:
        raise ValueError(f"unknown modes {unknown}; choose from {', '.join(MEMORY_MODES)}")


def _setup(blocks: int, mode: MemoryMode, batch: int, size: int, width: int, device: str,
           seed: int):
    """Model, Adam and one fixed batch; returns (model, device, step function)."""
    _check_modes([mode])
    if size % 4 or size < 4 or batch < 1 or blocks < 0:
        raise ValueError("size must be a positive multiple of 4, batch >= 1 and blocks >= 0")
    dev = torch.device(device)
    torch.manual_seed(seed)
    model = InvDN(blocks=(blocks, blocks), width=width, memory_efficient=mode).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999), weight_decay=1e-8)
    generator = torch.Generator(dev).manual_seed(seed)
    clean = torch.rand(batch, 3, size, size, generator=generator, device=dev)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=generator, device=dev)).clamp(0, 1)
    loss_fn = DenoisingLoss()

    def step() -> float:
        return training_step(model, optimizer, loss_fn, noisy, clean)

    return model, dev, step


def measure_memory_here(
    blocks: int,
    mode: MemoryMode,
    batch: int = 4,
    size: int = 144,
    width: int = 64,
    device: str = "cpu",
    seed: int = 0,
) -> dict:
    """Peak memory of one training step above the resting state, in the current process.

    A warm-up step first creates the Adam moments and gradient buffers. On CPU the process
    should have been started with :data:`invdn.analysis.profiling.rss.ALLOCATOR_ENV` (so the heap never
    caches big tensors) and is left with glibc's thresholds fixed; :func:`run_benchmark` does
    both.
    """
    model, dev, step = _setup(blocks, mode, batch, size, width, device, seed)
    step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        loss = step()
        torch.cuda.synchronize(dev)
        peak, method = torch.cuda.max_memory_allocated(dev) - before, "cuda_max_allocated"
    else:
        from invdn.analysis.profiling.rss import PeakRSS

        with PeakRSS() as probe:
            loss = step()
        peak, method = probe.peak, f"rss_{probe.method}"
    return {
        "blocks": blocks,
        "mode": mode,
        "batch": batch,
        "size": size,
        "width": width,
        "device": str(dev),
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "peak_memory_bytes": int(peak),
        "peak_memory_mib": peak / 2**20,
        "memory_method": method,
        "loss": loss,
    }


def measure_time_here(
    blocks: int,
    modes: Sequence[MemoryMode] = MODES,
    batch: int = 4,
    size: int = 144,
    repeats: int = 3,
    width: int = 64,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, dict]:
    """Median wall-clock and CPU seconds of `repeats` training steps per mode, in the current
    process, under the allocator's normal settings.

    The modes take turns step by step on one model (after one warm-up step each), so a load
    that other work puts on the machine hits them alike and their ratio stays meaningful.
    """
    if repeats < 1 or not modes:
        raise ValueError(f"repeats must be >= 1 and modes non-empty, got {repeats}, {modes}")
    _check_modes(modes)
    model, dev, step = _setup(blocks, modes[0], batch, size, width, device, seed)
    for mode in modes:  # Adam moments, gradient buffers, one-time kernel selection
        model.memory_efficient = mode
        step()
    times: dict[str, list[float]] = {m: [] for m in modes}
    cpu_times: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(repeats):
        for mode in modes:
            model.memory_efficient = mode
            _sync(dev)
            with Stopwatch() as watch:
                step()
                _sync(dev)
            times[mode].append(watch.seconds)
            cpu_times[mode].append(watch.cpu_seconds)
    return {m: {"step_seconds_median": statistics.median(times[m]), "step_seconds": times[m],
                "step_cpu_seconds_median": statistics.median(cpu_times[m])} for m in modes}


def _child(task: str, args: list[str], env: dict | None, timeout: float | None) -> dict:
    """Run `python -m invdn.analysis.profiling.memory TASK ARGS` and parse its last stdout line."""
    cmd = [sys.executable, "-m", "invdn.analysis.profiling.memory", task, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                          env=None if env is None else {**os.environ, **env})
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"measuring {task} for {' '.join(args)} failed: {tail[0]}")
    return json.loads(lines[-1])


def run_benchmark(
    blocks: Sequence[int] = (2, 4, 8, 16),
    modes: Sequence[MemoryMode] = MODES,
    batch: int = 4,
    size: int = 144,
    repeats: int = 3,
    width: int = 64,
    device: str = "cpu",
    seed: int = 0,
    threads: int | None = None,
    timeout: float | None = None,
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Memory and time of every (blocks, mode) pair; one result dict per pair, in order.

    Memory: one fresh subprocess per pair, its allocator set up for RSS measurement from the
    start (:data:`invdn.analysis.profiling.rss.ALLOCATOR_ENV`). Time: one fresh subprocess per depth, the
    modes interleaved (:func:`measure_time_here`), the allocator as users run it (serving big
    tensors from fresh mmaps would add page faults, mostly to the standard mode).
    """
    from invdn.analysis.profiling.rss import ALLOCATOR_ENV

    _check_modes(modes)
    common = ["--batch", str(batch), "--size", str(size), "--width", str(width),
              "--device", device, "--seed", str(seed)]
    if threads is not None:
        common += ["--threads", str(threads)]
    mem_env = None if device.startswith("cuda") else ALLOCATOR_ENV
    results = []
    for b in blocks:
        timing = _child("time", ["--blocks", str(b), "--modes", *modes, "--repeats", str(repeats),
                                 *common], None, timeout)
        for mode in modes:
            memory = _child("memory", ["--blocks", str(b), "--modes", mode, *common], mem_env,
                            timeout)
            results.append({**memory, **timing[mode]})
            if progress is not None:
                progress(results[-1])
    return results


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str = "cpu", threads: int | None = None) -> dict:
    """Where the numbers were taken: CPU model, cores, torch version and threads, GPU name."""
    info = {
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": threads or torch.get_num_threads(),
        "python": platform.python_version(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def _by(results: Sequence[dict]) -> dict[tuple[int, str], dict]:
    return {(r["blocks"], r["mode"]): r for r in results}


def overheads(results: Sequence[dict]) -> list[dict]:
    """Per result: memory and time relative to the standard mode at the same depth (None when
    standard was not measured there)."""
    by = _by(results)
    rows = []
    for r in results:
        ref = by.get((r["blocks"], "standard"))
        rows.append({
            **r,
            "memory_vs_standard": r["peak_memory_bytes"] / ref["peak_memory_bytes"]
            if ref and ref["peak_memory_bytes"] else None,
            "time_vs_standard": r["step_seconds_median"] / ref["step_seconds_median"] if ref else None,
        })
    return rows


def check_targets(results: Sequence[dict], time_basis: str = "wall") -> list[dict]:
    """The reversible mode's targets that the measured depths allow checking.

    - memory at 8+8 blocks ≤ 0.35 × standard's;
    - memory at the deepest measured ≤ 1.3 × at the shallowest (16+16 vs 2+2 by default);
    - step time ≤ 1.4 × standard's, at every depth measured in both modes, judged on the
      median wall-clock time (`time_basis="wall"`) or, on a machine busy with other work, on
      the median CPU time (`"cpu"`; meaningful with one torch thread, which never spin-waits).
    """
    if time_basis not in ("wall", "cpu"):
        raise ValueError(f"time_basis must be 'wall' or 'cpu', got {time_basis!r}")
    by = _by(results)
    checks = []
    at = TARGETS["reversible_vs_standard_memory_at"]
    rev, std = by.get((at, "reversible")), by.get((at, "standard"))
    if rev and std:
        ratio = rev["peak_memory_bytes"] / max(std["peak_memory_bytes"], 1)
        limit = TARGETS["reversible_vs_standard_memory_max"]
        checks.append({"name": f"reversible memory at {at}+{at} blocks <= {limit} x standard",
                       "value": ratio, "limit": limit, "passed": ratio <= limit})
    depths = sorted(b for b, m in by if m == "reversible")
    if len(depths) >= 2:
        lo, hi = by[(depths[0], "reversible")], by[(depths[-1], "reversible")]
        ratio = hi["peak_memory_bytes"] / max(lo["peak_memory_bytes"], 1)
        limit = TARGETS["reversible_depth_growth_max"]
        checks.append({
            "name": f"reversible memory at {depths[-1]}+{depths[-1]} <= {limit} x at "
                    f"{depths[0]}+{depths[0]} blocks",
            "value": ratio, "limit": limit, "passed": ratio <= limit})
    limit = TARGETS["reversible_time_vs_standard_max"]
    for b in depths:
        if (b, "standard") in by:
            rev, std = by[(b, "reversible")], by[(b, "standard")]
            ratio = rev["step_seconds_median"] / std["step_seconds_median"]
            cpu = rev["step_cpu_seconds_median"] / std["step_cpu_seconds_median"]
            judged = ratio if time_basis == "wall" else cpu
            checks.append({"name": f"reversible step time ({time_basis}) at {b}+{b} blocks "
                                   f"<= {limit} x standard",
                           "value": ratio, "limit": limit, "passed": judged <= limit,
                           "cpu_time_value": cpu})
    return checks


def format_table(results: Sequence[dict]) -> str:
    """A fixed-width table: one row per configuration."""
    head = (f"{'blocks':>9} {'mode':<11} {'params':>10} {'peak MiB':>10} {'x std':>7} "
            f"{'step s':>8} {'x std':>7} {'cpu s':>8}")
    lines = [head, "-" * len(head)]
    for r in overheads(results):
        mem = f"{r['memory_vs_standard']:.3f}" if r["memory_vs_standard"] is not None else "-"
        tim = f"{r['time_vs_standard']:.3f}" if r["time_vs_standard"] is not None else "-"
        lines.append(f"{r['blocks']:>4}+{r['blocks']:<4} {r['mode']:<11} {r['parameters']:>10,} "
                     f"{r['peak_memory_mib']:>10.1f} {mem:>7} {r['step_seconds_median']:>8.3f} "
                     f"{tim:>7} {r['step_cpu_seconds_median']:>8.3f}")
    return "\n".join(lines)


def format_checks(checks: Sequence[dict]) -> str:
    """One PASS/FAIL line per check; time checks also show the CPU-time ratio."""
    lines = []
    for c in checks:
        value = f"measured {c['value']:.3f}"
        if "cpu_time_value" in c:
            value = f"wall-clock {c['value']:.3f}, CPU time {c['cpu_time_value']:.3f}"
        lines.append(f"{'PASS' if c['passed'] else 'FAIL'}  {c['name']}  ({value})")
    return "\n".join(lines)


def _main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Measure one depth; print one JSON line.")
    p.add_argument("task", choices=["memory", "time"])
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--modes", nargs="+", choices=MEMORY_MODES, required=True,
                   help="memory: exactly one mode; time: the modes to interleave")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--size", type=int, default=144)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.task == "memory":
        if len(a.modes) != 1:
            p.error("memory measures one mode per process")
        result = measure_memory_here(a.blocks, a.modes[0], a.batch, a.size, a.width, a.device,
                                     a.seed)
    else:
        result = measure_time_here(a.blocks, a.modes, a.batch, a.size, a.repeats, a.width,
                                   a.device, a.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    _main()
