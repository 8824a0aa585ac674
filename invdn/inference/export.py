"""Exporting InvDN's denoising pass to TorchScript or ONNX, verified against PyTorch.

The exported graph is seed-free: the latent that replaces the noise is an explicit input, so the
runtime draws it (any RNG) and the graph stays deterministic and portable.

    inputs:  noisy  (B, 3, H, W) float32 in [0, 1], H and W multiples of 4 (pad first)
             latent (B, 45, H/4, W/4) float32, N(0, I) draws (the denoising prior)
    output:  denoised (B, 3, H, W) float32 in [0, 1]

Batch, height and width are dynamic. Averaging the outputs of K latent draws is InvDN's MC
self-ensemble (`invdn denoise --samples K`).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from invdn.errors import InvdnError, OptionError
from invdn.io.weights import load_model, model_config, save_weights
from invdn.nn.protocol import has_latent

FORMATS = ("onnx", "torchscript")
TOLERANCE = 1e-4


class DenoiseGraph(nn.Module):
    """forward → keep the low-resolution image → inverse with the given latent → clamp."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not has_latent(model):
            raise InvdnError(f"export needs an InvDN model (forward, latent, inverse); "
                             f"{type(model).__name__} has no latent to replace")
        self.model = model.eval()

    def forward(self, noisy: Tensor, latent: Tensor) -> Tensor:
        lr, _ = self.model(noisy)
        return self.model.inverse(lr, latent).clamp(0.0, 1.0)


def example_inputs(model: nn.Module, batch: int, height: int, width: int,
                   seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random (noisy, latent) inputs of the graph's layout."""
    gen = torch.Generator().manual_seed(seed)
    m = model.multiple
    noisy = torch.rand((batch, 3, height, width), generator=gen)
    latent = torch.randn((batch, model.latent_channels, height // m, width // m), generator=gen)
    return noisy, latent


def _metadata(model: nn.Module) -> dict[str, str]:
    return {"invdn_model": json.dumps(model_config(model)),
            "latent_channels": str(model.latent_channels), "size_multiple": str(model.multiple),
            "inputs": "noisy (B,3,H,W) [0,1]; latent (B,C,H/m,W/m) N(0,I)",
            "outputs": "denoised (B,3,H,W) [0,1]"}


def _export_torchscript(graph: DenoiseGraph, inputs: tuple[Tensor, Tensor], path: Path) -> None:
    with warnings.catch_warnings():
        # Shape checks inside the model become constants in the trace (verification covers it),
        # and recent torch flags torch.jit as deprecated (it still works; ONNX is the
        # long-term format).
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(graph, inputs, check_trace=False)  # verified below instead
        extra = {"invdn.json": json.dumps(_metadata(graph.model))}
        torch.jit.save(traced, str(path), _extra_files=extra)


def _export_onnx(graph: DenoiseGraph, inputs: tuple[Tensor, Tensor], path: Path,
                 opset: int) -> None:
    try:
        import onnx
    except ImportError as err:
        raise OptionError(None, None, "ONNX export needs the onnx package: pip install "
                                      "'invdn[onnx]' (or use {opt:format} torchscript)") from err
    dims = {0: "batch", 2: "height", 3: "width"}
    latent_dims = {0: "batch", 2: "latent_height", 3: "latent_width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: no onnxscript dependency, and dynamic H/W just work.
        torch.onnx.export(graph, inputs, str(path), dynamo=False, opset_version=opset,
                          input_names=["noisy", "latent"], output_names=["denoised"],
                          dynamic_axes={"noisy": dims, "latent": latent_dims,
                                        "denoised": dims})
    proto = onnx.load(str(path))
    for key, value in _metadata(graph.model).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


def run_exported(path: Path, fmt: str, noisy: Tensor, latent: Tensor) -> Tensor | None:
    """Run an exported file on the inputs; None when the runtime (onnxruntime) is missing."""
    if fmt == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path))(noisy, latent)
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"noisy": noisy.numpy(), "latent": latent.numpy()})[0]
    return torch.from_numpy(out)


def export_model(model: nn.Module, path: str | Path, fmt: str, height: int = 64,
                 width: int = 64, opset: int = 17) -> dict[str, Any]:
    """Export `model`'s denoising pass to `path` and verify it on inputs of another batch size
    and shape than the traced example. Written atomically; a file that fails verification
    (max |diff| > 1e-4) is not kept. Returns a report dict."""
    if fmt not in FORMATS:
        raise InvdnError(f"unknown export format {fmt!r}; use onnx or torchscript")
    m = model.multiple
    if height % m or width % m or height <= 0 or width <= 0:
        raise InvdnError(f"example size must be positive multiples of {m}, got {height}x{width}")
    graph = DenoiseGraph(model.cpu().float())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with torch.no_grad():
            if fmt == "torchscript":
                _export_torchscript(graph, example_inputs(model, 1, height, width), tmp)
            else:
                _export_onnx(graph, example_inputs(model, 1, height, width), tmp, opset)
            check = example_inputs(model, 2, height + 2 * m, width + m, seed=1)
            expected = graph(*check)
        got = run_exported(tmp, fmt, *check)
        report: dict[str, Any] = {
            "path": str(path), "format": fmt, "model": model_config(model),
            "inputs": {"noisy": "(B, 3, H, W) float32 in [0, 1], H and W multiples of "
                                f"{m}",
                       "latent": f"(B, {model.latent_channels}, H/{m}, W/{m}) float32 N(0, I)"},
            "output": "denoised (B, 3, H, W) float32 in [0, 1]",
            "verified_shape": list(check[0].shape), "tolerance": TOLERANCE,
        }
        if got is None:
            report.update(verified=False, max_abs_diff=None,
                          note="onnxruntime is not installed; verification skipped "
                               "(pip install 'invdn[onnx]')")
        else:
            diff = float((got - expected).abs().max())
            report.update(verified=diff <= TOLERANCE, max_abs_diff=diff)
            if diff > TOLERANCE:
                raise InvdnError(f"exported {fmt} differs from PyTorch by {diff:.2e} "
                                 f"(> {TOLERANCE:g}); not written, try another --opset")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; an export is for sharing
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    report["bytes"] = path.stat().st_size
    return report


def export_weights(model: nn.Module, path: str | Path, half: bool = False, size: int = 128
                   ) -> dict[str, Any]:
    """Write `model` as an invdn weights file (float16 when `half`, for shipping) and measure
    what the rounding costs: the reloaded model and `model` denoise the same noisy `size`²
    example with the same latent; the report gives max |diff| and the PSNR between the two
    outputs (None when identical). Written atomically."""
    from invdn.inference.pipeline import DenoiseOptions, Denoiser
    from invdn.metrics import psnr

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, path, half=half)
    reloaded = load_model(path)
    noisy = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    options = DenoiseOptions(tile=0)
    a = Denoiser(model, options, "cpu").denoise_tensor(noisy).clamp(0, 1)
    b = Denoiser(reloaded, options, "cpu").denoise_tensor(noisy).clamp(0, 1)
    return {"path": str(path), "format": "weights", "dtype": "float16" if half else "float32",
            "model": model_config(model), "bytes": path.stat().st_size,
            "verified_shape": list(noisy.shape),
            "max_abs_diff": float((a - b).abs().max()),
            "psnr_vs_float32": None if torch.equal(a, b) else float(psnr(b, a))}


EXPORT_FORMATS = (*FORMATS, "weights")


def export_checkpoint(output: str | Path, *, format: str,
                      checkpoint: str | Path | nn.Module | None = None, half: bool = False,
                      example_size: tuple[int, int] = (64, 64), opset: int = 17,
                      overwrite: bool = False) -> dict[str, Any]:
    """Export the weights of `checkpoint` (any format, a model, or None for the shipped default)
    to `output`: the library form of `invdn export`. `format` 'onnx' | 'torchscript' writes the
    denoising graph (traced at `example_size` (H, W), verified against PyTorch), 'weights' an
    invdn weights file (float16 with `half`). Returns the report of :func:`export_model` or
    :func:`export_weights`. An existing `output` is kept unless `overwrite`."""
    from invdn.checks import Choice, check_value
    from invdn.errors import OptionError
    from invdn.inference.loading import load_checkpoint_or_default

    check_value("format", format, Choice(EXPORT_FORMATS))
    out = Path(output)
    if out.exists() and not overwrite:
        raise OptionError("output", out, "exists; pass {on:overwrite} to replace it")
    if isinstance(checkpoint, str | Path) and out.resolve() == Path(checkpoint).resolve():
        raise OptionError("output", out, "is the checkpoint itself; choose another output file")
    if half and format != "weights":
        raise OptionError(None, None, "{on:half} applies to {opt:format} weights only; drop it "
                                      "or use {opt:format} weights")
    model = load_checkpoint_or_default(checkpoint)
    if format == "weights":
        return export_weights(model, out, half=half)
    return export_model(model, out, format, *example_size, opset=opset)
