"""Writing files atomically: a temporary file in the target folder, then one rename.

A reader (or a crash) sees either the old file or the complete new one, never a partial one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, write: Callable[[Path], Any], durable: bool = False) -> None:
    """Call `write(tmp_path)` on a temporary file next to `path`, then rename it to `path`.

    The file gets the permissions of any new file (mkstemp's are private); `durable` fsyncs it
    before the rename (checkpoints, caches). Nothing is left behind if `write` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if durable:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, durable: bool = False) -> None:
    """Atomically write UTF-8 text."""
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"), durable)


def write_json(path: str | Path, obj: Any, durable: bool = False) -> None:
    """Atomically write `obj` as indented JSON."""
    write_text(path, json.dumps(obj, indent=1) + "\n", durable)
