"""Finding the weights a command should use: `--checkpoint`, else the installed defaults."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from torch import nn

from invdn.errors import OptionError
from invdn.io.weights import load_model


def default_weights_path() -> Path:
    """Where the trained default InvDN weights are installed (`invdn/pretrained/default_invdn.pt`,
    float16, trained by `conf/experiment/shipped.yaml` then its stages `shipped_stage2`,
    `shipped_stage3` and `shipped_stage4`; docs/pretrained.md)."""
    return Path(str(files("invdn"))) / "pretrained" / "default_invdn.pt"


def load_checkpoint_or_default(checkpoint: str | Path | nn.Module | None) -> nn.Module:
    """The model from `checkpoint` (any format of `invdn.io.weights.load_model`, or a model
    already built, returned as it is), or from the default weights; InvdnError when neither is
    available. Eval mode, CPU (a given model stays where it is)."""
    if isinstance(checkpoint, nn.Module):
        return checkpoint
    if checkpoint is not None:
        return load_model(checkpoint)
    path = default_weights_path()
    if not path.is_file():
        raise OptionError(None, None, f"no default weights are installed ({path} is missing); "
                                      "pass {opt:checkpoint} with trained weights")
    return load_model(path)
