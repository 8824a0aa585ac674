"""Print the invdn version, the available torch devices and the default models' sizes."""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

HELP = "version, devices and parameter counts of the default models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def collect() -> dict:
    import torch

    from invdn import __version__
    from invdn.inference.loading import default_weights_path
    from invdn.nn.sizes import default_model_sizes

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
        "default_weights": _weights_info(default_weights_path()),
    }


def _weights_info(path: Path) -> dict:
    """Path, size and SHA-256 of the installed default weights (`installed: false` if absent)."""
    import hashlib

    if not path.is_file():
        return {"path": str(path), "installed": False}
    data = path.read_bytes()
    return {"path": str(path), "installed": True, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    p = info["parameters"]
    print(f"invdn {info['invdn']}  (torch {info['torch']}, python {info['python']})")
    print(f"devices: {', '.join(info['devices'])}  ({info['cpu_threads']} CPU threads)")
    print("trainable parameters:")
    rows = [
        ("InvDN, the paper's (2 x 8 blocks)", p["invdn"]),
        *([("InvDN, shipped default", p["invdn_default"])] if p.get("invdn_default") else []),
        ("DANet denoiser R", p["danet_denoiser"]),
        ("DANet generator G", p["danet_generator"]),
        ("DANet discriminator D", p["danet_discriminator"]),
        ("DANet total R+G+D", p["danet_total"]),
    ]
    for name, n in rows:
        print(f"  {name:<34}{n:>12,}")
    print(f"  InvDN / DANet total: {p['invdn_over_danet_percent']:.2f} % (the paper's)"
          + (f", {p['invdn_default_over_danet_percent']:.2f} % (shipped default)"
             if p.get("invdn_default") else ""))
    w = info["default_weights"]
    print(f"default weights: {w['path']} ("
          + (f"{w['bytes'] / 1e6:.1f} MB, sha256 {w['sha256'][:12]}…)" if w["installed"]
             else "not installed: pass --checkpoint to the commands)"))
    return 0
