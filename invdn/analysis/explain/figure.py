"""Writing matplotlib figures atomically."""

from __future__ import annotations

import os
from pathlib import Path

from invdn.io.atomic import write_atomic


def save_figure(fig, path: str | os.PathLike, dpi: int = 90) -> Path:
    """Save `fig` to `path` (format from the suffix) through a temporary file and a rename, so
    a crash never leaves a half-written figure; closes the figure. Returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi,
                                                   format=path.suffix.lstrip(".").lower()))
    finally:
        plt.close(fig)
    return path
