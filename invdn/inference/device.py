"""Choosing the torch device from a user's `--device` string."""

from __future__ import annotations

import re

import torch

from invdn.errors import InvdnError


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
            raise InvdnError(f"--device {name} requested but CUDA is not available; "
                             "use --device cpu or auto")
        index = int(match.group(1) or 0)
        if index >= torch.cuda.device_count():
            raise InvdnError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) "
                             "present; pick an index below that")
        return torch.device("cuda", index)
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InvdnError("--device mps requested but MPS is not available; use cpu or auto")
        return torch.device("mps")
    raise InvdnError(f"unknown --device {name!r}; use auto, cpu, cuda, cuda:N or mps")
