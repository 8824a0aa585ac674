"""Shared helpers for the benchmark scripts: machine description, timing, JSON + table output."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch


def machine(device: str = "cpu") -> dict:
    """What the numbers were measured on (the same description bench/memory.py gives)."""
    from invdn.analysis.profiling.memory import machine_info

    return machine_info(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_it(fn: Callable[[], object], device: str, repeats: int, warmup: int = 1) -> dict:
    """Median and min wall time of `fn` in seconds over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": repeats}


def cpu_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Least process CPU time of `fn` over `repeats` runs (after one warm-up): steady when
    other processes share the machine."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def counted_flops(fn: Callable[[], object]) -> int:
    """FLOPs that `fn` executes, by `torch.utils.flop_counter` (MACs = FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    import invdn.nn.fast as fast_path

    # FlopCounterMode knows aten.convolution but not oneDNN's fused conv+activation call, so
    # count with the fusion off: the convolutions executed are the same either way.
    fused, fast_path._FUSED = fast_path._FUSED, False
    try:
        with FlopCounterMode(display=False) as counter:
            fn()
    finally:
        fast_path._FUSED = fused
    return counter.get_total_flops()


def conv_rate(h: int, w: int, dtype: torch.dtype = torch.float32, repeats: int = 3,
              device: str = "cpu", cpu_time: bool = False) -> dict:
    """Best GFLOP/s of a 64→64 3x3 convolution (batch 1, h x w) in `dtype`, NCHW or
    channels_last, weights already in `dtype` (no per-call cast): the least wall time of
    `repeats` runs after a warm-up, or with `cpu_time` the least process CPU time (steady when
    other processes share the machine)."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(device, dtype).eval()
    best: dict | None = None
    for fmt, name in ((torch.contiguous_format, "NCHW"), (torch.channels_last, "channels_last")):
        x = torch.rand(1, 64, h, w, device=device).to(dtype).contiguous(memory_format=fmt)
        c = conv.to(memory_format=fmt)
        with torch.inference_mode():
            t = (cpu_seconds(lambda c=c, x=x: c(x), repeats) if cpu_time
                 else time_it(lambda c=c, x=x: c(x), device, repeats)["min_s"])
        gflops = 2 * 64 * 64 * 9 * h * w / t / 1e9
        if best is None or gflops > best["gflops"]:
            best = {"gflops": gflops, "format": name, "size": [h, w]}
    return best


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """Print `rows` as an aligned table; columns are (key, header, format spec)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([format(row[k], f) if row.get(k) is not None else "-" for k, _, f in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for j, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


def emit(result: dict, json_out: str | None) -> None:
    """Print the JSON result and optionally write it to a file."""
    text = json.dumps(result, indent=2)
    print(text)
    if json_out:
        Path(json_out).write_text(text + "\n")
