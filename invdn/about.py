"""What this installation is: version, devices, the default models' sizes and the installed
default weights (`system_info`, the library form of `invdn info`)."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any


def weights_info(path: Path) -> dict[str, Any]:
    """Path, size and SHA-256 of a weights file (`installed: false` if absent)."""
    if not path.is_file():
        return {"path": str(path), "installed": False}
    data = path.read_bytes()
    return {"path": str(path), "installed": True, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def system_info() -> dict[str, Any]:
    """Versions (invdn, torch, Python), the devices torch sees, CPU threads, the parameter
    counts of the default models (`invdn.evaluation.sizes.default_model_sizes`) and the
    installed default weights."""
    import torch

    from invdn import __version__
    from invdn.evaluation.sizes import default_model_sizes
    from invdn.inference.loading import default_weights_path

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})"
                    for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devices.append("mps")
    return {
        "invdn": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda_available": torch.cuda.is_available(),
        "devices": devices,
        "cpu_threads": torch.get_num_threads(),
        "parameters": default_model_sizes(),
        "default_weights": weights_info(default_weights_path()),
    }
