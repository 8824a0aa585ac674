"""Reading PyTorch files the safe way (`weights_only=True`: tensors and plain containers, never
code) with the project's messages. Below the network and the file formats: `invdn.nn.official`
and `invdn.io.weights` both read through it, so a file is refused in the same words wherever it
is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from invdn.errors import InvdnError, OptionError

ACCEPTED = ("accepted: invdn weights (`invdn export --format weights`), `invdn train` "
            "checkpoints (.ckpt) and the original InvDN code's .pth files")


def why_unreadable(path: Path, err: Exception) -> str:
    """Why torch.load(weights_only=True) refused `path`, in our words. PyTorch's own message is
    never passed on: it suggests `weights_only=False`, which runs any code the file holds."""
    import pickle
    import zipfile

    text = str(err)
    with open(path, "rb") as f:
        head = f.read(2)
    looks_torch = zipfile.is_zipfile(path) or head[:1] == b"\x80"  # torch zip or raw pickle
    if isinstance(err, pickle.UnpicklingError) and looks_torch and (
            "Unsupported global" in text or "GLOBAL" in text or "not an allowed global" in text):
        return ("it stores Python objects besides tensors, and invdn does not unpickle those "
                "because that can run code from the file")
    if looks_torch:
        return "a damaged or unsupported PyTorch file"
    return "not a PyTorch file"


def load_file(path: Path) -> Any:
    """`torch.load(path, weights_only=True)` on CPU; OptionError when `path` is no file,
    InvdnError worded as the CLI words it when the file cannot be read that way (never
    PyTorch's own advice to pass `weights_only=False`, which runs code from the file)."""
    import warnings

    if not path.is_file():
        raise OptionError("checkpoint", path, "is not a file; pass an existing weights file")
    try:
        # Lightning checkpoints hold plain containers and tensors; weights_only keeps it safe.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pickle-protocol notes from the safe unpickler
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling problem is a bad file for the user
        raise InvdnError(f"{path} is not a weights file invdn can read "
                         f"({why_unreadable(path, err)}); {ACCEPTED}") from None
