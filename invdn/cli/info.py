"""Print the invdn version, the available torch devices and the default models' sizes."""

from __future__ import annotations

import argparse
import json

HELP = "version, devices and parameter counts of the default models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    from invdn.about import system_info

    info = system_info()
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
