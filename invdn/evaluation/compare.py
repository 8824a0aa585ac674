"""Side-by-side cost and quality of denoisers: parameters, MACs, time, peak memory, PSNR/SSIM.

MACs are counted by `torch.utils.flop_counter.FlopCounterMode` (MACs = FLOPs / 2; convolutions
and matrix products only, element-wise ops are not counted). InvDN's denoising cost is one
forward plus one inverse pass; a plain CNN's is its forward pass.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from invdn.checks import Int, check_value
from invdn.errors import InvdnError, OptionError
from invdn.evaluation.sizes import default_model_sizes
from invdn.io.atomic import write_atomic
from invdn.io.weights import build_model
from invdn.nn.protocol import has_latent
from invdn.nn.sizes import count_parameters
from invdn.timing import Stopwatch

MAC_SIZE = 256  # MACs are reported at 256x256, the size the paper quotes
DEFAULT = "default"  # the model name that means the shipped default weights


def available_models() -> list[str]:
    """Names of the model configs shipped in `invdn.conf/model/`."""
    folder = files("invdn.conf") / "model"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def model_config_by_name(name: str) -> dict[str, Any]:
    """The composed model config `conf/model/<name>.yaml` (Hydra defaults resolved)."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    names = available_models()
    if name not in names:
        raise InvdnError(f"unknown model {name!r}; available: {', '.join([DEFAULT, *names])}")
    with initialize_config_module(config_module="invdn.conf", version_base=None):
        cfg = compose(config_name=f"model/{name}")
    return OmegaConf.to_container(cfg.model, resolve=True)


def _denoise_pass(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """One denoising pass: forward + inverse with a fresh latent (InvDN) or forward."""
    if has_latent(model):
        def run(x: torch.Tensor) -> torch.Tensor:
            lr, _ = model(x)
            return model.inverse(lr, model.sample_latent(lr))
        return run
    return model


@torch.no_grad()
def count_macs(model: nn.Module, size: int = MAC_SIZE, channels: int = 3) -> dict[str, float]:
    """Multiply-accumulates of one forward pass and of one denoising pass at size x size
    (`channels` input channels).

    Counted on a copy on the meta device: shapes only, no arithmetic, no memory."""
    meta = copy.deepcopy(model).to("meta").eval()
    x = torch.empty(1, channels, size, size, device="meta")
    with FlopCounterMode(display=False) as counter:
        meta(x)
    forward = counter.get_total_flops() / 2
    with FlopCounterMode(display=False) as counter:
        _denoise_pass(meta)(x)
    return {"forward_macs": forward, "denoise_macs": counter.get_total_flops() / 2}


def _time_runs(run: Callable, x: torch.Tensor, repeats: int, sync: Callable) -> float:
    times = []
    for _ in range(max(1, repeats)):
        with Stopwatch() as watch:
            run(x)
            sync()
        times.append(watch.seconds * 1e3)
    return statistics.median(times)


@torch.no_grad()
def _measure_cpu_memory(model: nn.Module, size: int, threads: int) -> float | None:
    """Runs in a fresh process started with `invdn.analysis.profiling.rss.ALLOCATOR_ENV`: the peak-RSS
    growth (MiB) of its first pass, before allocator caches hide it (`PeakRSS`); None where RSS
    cannot be read (not Linux)."""
    from invdn.analysis.profiling.rss import PeakRSS

    torch.set_num_threads(threads)
    run = _denoise_pass(model.eval())
    x = torch.rand(1, 3, size, size)
    try:
        probe = PeakRSS()
    except RuntimeError:  # no /proc/self/status
        return None
    with probe:
        run(x)
    return probe.peak / 2**20


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """`os.environ` updated with `values` inside the block (for processes started in it)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _cpu_peak_memory(model: nn.Module, size: int) -> float | None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from invdn.analysis.profiling.rss import ALLOCATOR_ENV

    # glibc reads its allocator settings when the process starts, so the child must be
    # spawned with them (see invdn.analysis.profiling.rss).
    ctx = multiprocessing.get_context("spawn")
    with _environment(ALLOCATOR_ENV), ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(_measure_cpu_memory, model.cpu(), size,
                           torch.get_num_threads()).result()


@torch.no_grad()
def measure(model: nn.Module, size: int, device: torch.device, repeats: int = 3
            ) -> dict[str, float | None]:
    """Median wall time (ms) of one denoising pass on a size x size image after a warm-up, and
    the peak memory the pass adds (MiB): the CUDA allocator's peak on GPUs; on CPUs the peak-RSS
    increase of a fresh process's first pass, measured as `invdn.analysis.profiling.rss` explains
    (Linux; None elsewhere; nothing on other devices)."""
    peak = _cpu_peak_memory(model, size) if device.type == "cpu" else None
    model = model.to(device).eval()
    run = _denoise_pass(model)
    x = torch.rand(1, 3, size, size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    run(x)  # warm-up: allocator, kernels, lazy init
    sync()
    ms = _time_runs(run, x, repeats, sync)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        run(x)
        sync()
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    return {"time_ms": ms, "peak_memory_mib": peak}


def read_report(spec: str) -> tuple[str, dict[str, Any]]:
    """`PATH` or `NAME=PATH` of an `invdn evaluate` JSON → (row name, report)."""
    name, sep, path = spec.partition("=")
    if not sep:
        name, path = "", spec
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise InvdnError(f"cannot read report {path}: {err}; pass an `invdn evaluate` "
                         "JSON") from err
    if "mean_psnr" not in report:
        raise InvdnError(f"{path} is not an `invdn evaluate` report (no mean_psnr)")
    return name or report.get("name") or Path(path).stem, report


def score_on_test_set(model: nn.Module, settings: list[str] | None, crop: int | None,
                      device: torch.device) -> dict[str, Any]:
    """PSNR/SSIM of `model` (one latent sample, seed 0, untiled) on the built-in test set
    (`invdn.evaluation.testset`): per setting and their mean."""
    from invdn.evaluation.testset import score
    from invdn.inference.pipeline import DenoiseOptions, Denoiser

    denoiser = Denoiser(model, DenoiseOptions(tile=0), device=device)
    return score(denoiser, settings, crop=crop)


def compare(models: dict[str, nn.Module], reports: dict[str, dict[str, Any]], size: int,
            device: torch.device, repeats: int = 3, quality: list[str] | None = None,
            quality_crop: int | None = 256, trained: set[str] | None = None) -> dict[str, Any]:
    """Rows for each model (parameters, MACs at 256², time and memory at `size`) and quality
    columns from evaluate reports matched by name; reports without a model get their own row.
    With `quality` (noise-setting names of `invdn.evaluation.testset`; [] for all of them) the
    models named in `trained` are also scored on the built-in test set (centre crops of
    `quality_crop`², whole images when None) — models with random weights are not scored."""
    if quality:
        from invdn.evaluation.testset import check_settings

        check_settings(quality)  # before any model is measured
    sizes = default_model_sizes()
    rows = []
    for name, model in models.items():
        model = model.eval()
        params = count_parameters(model)
        row: dict[str, Any] = {
            "name": name, "architecture": type(model).__name__, "parameters": params,
            "percent_of_danet_total": 100.0 * params / sizes["danet_total"],
            **{k: v / 1e9 for k, v in count_macs(model).items()},
            **measure(model, size, device, repeats),
        }
        row["forward_gmacs"] = row.pop("forward_macs")
        row["denoise_gmacs"] = row.pop("denoise_macs")
        if quality is not None and name in (trained or set()):
            scored = score_on_test_set(model, quality or None, quality_crop, device)
            row.update(psnr=scored["psnr"], ssim=scored["ssim"],
                       quality_settings=scored["settings"])
        rows.append(row)
    for name, report in reports.items():
        row = next((r for r in rows if r["name"] == name), None)
        if row is None:
            row = {"name": name, "architecture": report.get("method", "")}
            rows.append(row)
        row.update(psnr=report["mean_psnr"], ssim=report.get("mean_ssim"),
                   report_images=report.get("count"))
    return {
        "reference_parameters": sizes,
        "mac_size": MAC_SIZE, "time_size": size, "device": str(device),
        "torch_threads": torch.get_num_threads(), "repeats": repeats, "rows": rows,
        "quality": None if quality is None else {
            "test_set": "invdn.evaluation.testset (bundled photos never trained on)",
            "settings": quality or "all", "crop": quality_crop},
        "notes": "MACs = FLOPs/2 from torch.utils.flop_counter (conv/matmul only); denoise = "
                 "forward + inverse for InvDN, forward for CNNs; time = median of repeats "
                 "after a warm-up; peak memory = CUDA allocator peak, or on CPU the peak-RSS "
                 "increase of a fresh process during its first pass (invdn.analysis.profiling.rss).",
    }


def _fmt(value: Any, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def to_markdown(result: dict[str, Any]) -> str:
    """The comparison as a Markdown document."""
    s = result["reference_parameters"]
    size = result["time_size"]
    lines = [
        "# InvDN vs DANet-sized baseline", "",
        f"Trainable parameters: InvDN (the paper's) {s['invdn']:,}; "
        + (f"InvDN (shipped default) {s['invdn_default']:,}; " if s.get("invdn_default") else "")
        + f"DANet denoiser R {s['danet_denoiser']:,}; "
        f"DANet R+G+D {s['danet_total']:,}; InvDN / DANet(R+G+D) = "
        f"{s['invdn_over_danet_percent']:.2f} %.", "",
        f"| model | parameters | % of DANet R+G+D | GMACs forward @{result['mac_size']}² | "
        f"GMACs denoise @{result['mac_size']}² | time ms @{size}² | peak MiB @{size}² | "
        "PSNR dB | SSIM |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['name']} | {_fmt(r.get('parameters'), ',')} | "
            f"{_fmt(r.get('percent_of_danet_total'), '.2f')} | "
            f"{_fmt(r.get('forward_gmacs'), '.2f')} | {_fmt(r.get('denoise_gmacs'), '.2f')} | "
            f"{_fmt(r.get('time_ms'), '.1f')} | {_fmt(r.get('peak_memory_mib'), '.1f')} | "
            f"{_fmt(r.get('psnr'), '.2f')} | {_fmt(r.get('ssim'), '.4f')} |")
    scored = [r for r in result["rows"] if r.get("quality_settings")]
    if scored:
        from invdn.evaluation.testset import HEADS

        names = list(scored[0]["quality_settings"])
        q = result["quality"]
        crop = f"centre {q['crop']}² crops" if q["crop"] else "whole images"
        lines += ["", f"PSNR dB / SSIM on the built-in test set ({crop}, one latent sample, "
                  "seed 0):", "",
                  "| model | " + " | ".join(HEADS.get(n, n) for n in names) + " | mean |",
                  "|---|" + "---:|" * (len(names) + 1)]
        for r in scored:
            cells = [f"{r['quality_settings'][n]['psnr']:.2f} / {r['quality_settings'][n]['ssim']:.3f}"
                     for n in names]
            lines.append(f"| {r['name']} | " + " | ".join(cells)
                         + f" | {r['psnr']:.2f} / {r['ssim']:.3f} |")
    lines += ["", f"Device: {result['device']} ({result['torch_threads']} threads). "
              + result["notes"], ""]
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    """Bar charts of parameters, denoise GMACs, time and PSNR (those present) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("parameters", "parameters (M)", 1e-6), ("denoise_gmacs", "GMACs / denoise", 1),
              ("time_ms", f"ms @ {result['time_size']}²", 1), ("psnr", "PSNR (dB)", 1)]
    panels = [p for p in panels if any(r.get(p[0]) is not None for r in result["rows"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    for ax, (key, label, scale) in zip(axes[0], panels, strict=True):
        rows = [r for r in result["rows"] if r.get(key) is not None]
        names, values = [r["name"] for r in rows], [r[key] * scale for r in rows]
        if key == "parameters":  # the total InvDN's "4.2 % of DANet" refers to
            names.append("DANet R+G+D")
            values.append(result["reference_parameters"]["danet_total"] * scale)
        ax.bar(names, values, color="tab:blue")
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        for i, v in enumerate(values):
            ax.annotate(f"{v:,.0f}" if v >= 1000 else f"{v:.3g}", (i, v), ha="center",
                        va="bottom", fontsize=8)
        if key == "psnr":
            ax.set_ylim(min(values) - 1, max(values) + 1)
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def build_named_model(name: str) -> nn.Module:
    """A randomly initialised model from `conf/model/<name>.yaml` (for cost columns)."""
    return build_model(model_config_by_name(name))


@dataclass
class CompareResult:
    """The comparison (`table`: rows and settings, as compare.json holds them), its Markdown and
    the files written."""

    table: dict[str, Any]
    markdown: str
    written: list[Path]


def compare_models(output: str | Path, *, models: Sequence[str] | None = None,
                   checkpoints: Sequence[str | Path] = (), reports: Sequence[str] = (),
                   quality: Sequence[str] | None = None, quality_crop: int = 256,
                   size: int = 256, repeats: int = 3, device: str | torch.device = "auto"
                   ) -> CompareResult:
    """Compare denoisers side by side and write compare.json, compare.md and compare.png into the
    folder `output`: the library form of `invdn compare`.

    `models`: model config names (`conf/model/<name>.yaml`, random weights: cost columns only)
    or `default` for the shipped weights (None: default, invdn and danet unless `checkpoints`
    are given); `checkpoints`: weights files, named by their stem; `reports`: `invdn evaluate`
    JSON reports (`PATH` or `NAME=PATH`) for the PSNR/SSIM columns; `quality`: score the
    trained models on the built-in test set (noise-setting names, [] for all of them) on
    centre crops of `quality_crop`² (0: whole images); time and memory at `size`² (a multiple of
    4), the median of `repeats` runs."""
    from invdn.inference.device import resolve_device
    from invdn.inference.loading import load_checkpoint_or_default
    from invdn.io.atomic import write_text
    from invdn.io.weights import load_model

    check_value("size", size, Int(1, multiple=4))
    check_value("repeats", repeats, Int(1, noun=""))
    check_value("quality_crop", quality_crop, Int(0, noun="", fix=" (0: whole images)"))
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise OptionError("output", out, "is a file; give a folder")
    names = list(models) if models else ([] if checkpoints else [DEFAULT, "invdn", "danet"])
    built = {name: load_checkpoint_or_default(None) if name == DEFAULT else build_named_model(name)
             for name in names}
    trained = {DEFAULT} & set(names)
    for path in checkpoints:
        name = Path(path).stem
        if name in built:
            raise OptionError("checkpoint", path, f"is a second model named {name!r}; rename "
                                                  "one of the checkpoint files")
        built[name] = load_model(path)
        trained.add(name)
    scores = dict(read_report(spec) for spec in reports)
    table = compare(built, scores, size, resolve_device(device), repeats,
                    quality=None if quality is None else list(quality),
                    quality_crop=quality_crop or None, trained=trained)
    markdown = to_markdown(table)
    written = [out / "compare.json", out / "compare.md", out / "compare.png"]
    write_text(written[0], json.dumps(table, indent=2))
    write_text(written[1], markdown)
    plot(table, written[2])
    return CompareResult(table, markdown, written)
