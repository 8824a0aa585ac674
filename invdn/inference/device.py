"""Choosing the torch device from a user's `--device` string."""

from __future__ import annotations

import re

import torch

from invdn.errors import OptionError


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' (CUDA when present, else CPU), 'cpu', 'cuda', 'cuda:N' or 'mps' → a usable device;
    InvdnError when the requested device is not available here."""
    name = name.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match:
        if not torch.cuda.is_available():
            raise OptionError("device", name, "requested but CUDA is not available; use cpu "
                              "or auto")
        index = int(match.group(1) or 0)
        if index >= torch.cuda.device_count():
            raise OptionError("device", name, f"is not present: only "
                              f"{torch.cuda.device_count()} CUDA device(s); pick a lower index")
        return torch.device("cuda", index)
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise OptionError("device", name, "requested but MPS is not available; use cpu or "
                              "auto")
        return torch.device("mps")
    raise OptionError("device", repr(name), "is unknown; use auto, cpu, cuda, cuda:N or mps")


PRECISIONS = ("auto", "bf16", "fp32")


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16), where bf16
    convolutions run several times faster than float32; elsewhere bf16 is emulated and slower."""
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if check is not None and amx is not None:
        return bool(check() or amx())
    try:  # older torch: the kernel's own flags
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """'fp32', 'bf16' or 'auto' → the dtype the network's convolutions run in on `device`.

    auto: bf16 where it is native and fast (CPUs with AVX512-BF16/AMX, CUDA GPUs that support
    bf16), float32 elsewhere (MPS, older CPUs and GPUs). The coupling arithmetic stays float32
    either way (invdn.nn.fast)."""
    name = name.strip().lower()
    if name not in PRECISIONS:
        raise OptionError("precision", repr(name), f"is unknown; use {', '.join(PRECISIONS)}")
    if name == "fp32":
        return torch.float32
    if name == "bf16":
        if device.type == "mps":
            raise OptionError("precision", name, "is not supported on MPS; use fp32 or auto")
        return torch.bfloat16
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.float32
