"""Turning command-line inputs (files, folders, globs) into (input, output) pairs, safely.

Output names keep the input's path relative to the folder or glob base it was found under, and
its extension (unless a format is forced). The plan refuses any output that would land on an
input file, and two inputs that would write the same output.
"""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from invdn.errors import InvdnError, OptionError
from invdn.io.images import IMAGE_SUFFIXES, rescale_depth

_WILDCARDS = set("*?[")
T = TypeVar("T")
U = TypeVar("U")

# Image formats found in photo folders that invdn does not read: named when a folder or glob
# holds them, instead of leaving them out without a word.
OTHER_IMAGE_SUFFIXES = (".gif", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".j2k", ".ppm",
                        ".pgm", ".pbm", ".pnm", ".exr", ".hdr", ".pfm", ".dng", ".cr2", ".cr3",
                        ".nef", ".arw", ".raf", ".orf", ".rw2", ".psd", ".ico", ".tga", ".svg")


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _glob_base(pattern: str) -> Path:
    """The leading folders of a glob pattern that contain no wildcard."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _WILDCARDS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _inode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _other_image(path: Path) -> bool:
    return path.suffix.lower() in OTHER_IMAGE_SUFFIXES


def collect_inputs(inputs: list[str], recursive: bool = False,
                   exclude: Path | None = None,
                   passed_over: list[Path] | None = None) -> list[tuple[Path, Path]]:
    """`(file, relative output name)` for every image named by `inputs` (files, folders, globs).

    Folders give their image files (with `recursive`, also in sub-folders); files under
    `exclude` (the output folder) inside a scanned folder are left out, so a re-run never eats
    its own outputs. Files of other image formats found in folders or globs (GIF, HEIC, raw…:
    OTHER_IMAGE_SUFFIXES) are appended to `passed_over`, for the caller to name.
    Named files are taken whatever their suffix (the reader reports unreadable ones)."""
    found: list[tuple[Path, Path]] = []
    others = passed_over if passed_over is not None else []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.glob("*")
            entries = sorted(p for p in walker if p.is_file())
            files = [p for p in entries if _is_image(p)]
            others += [p for p in entries if _other_image(p)
                       and (exclude is None or not _inside(p, exclude))]
            # An output folder inside this one is skipped; the same folder is kept, so the
            # overwrite check below refuses it instead of silently finding nothing.
            skip = exclude if exclude is not None and _inside(exclude, path) and \
                exclude.resolve() != path.resolve() else None
            found += [(p, p.relative_to(path)) for p in files
                      if skip is None or not _inside(p, skip)]
        elif path.exists():
            found.append((path, Path(path.name)))
        elif _WILDCARDS & set(item):
            base = _glob_base(item)
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True))
            found += [(p, p.relative_to(base)) for p in matches
                      if p.is_file() and _is_image(p)]
            others += [p for p in matches if p.is_file() and _other_image(p)]
        else:
            raise InvdnError(f"{item}: no such file or folder; check the path")
    return found


def plan_jobs(inputs: list[str], out_dir: str | Path, recursive: bool = False,
              suffix: str | None = None, passed_over: list[Path] | None = None) -> list[Job]:
    """Pair every input image with its output path in `out_dir` (`suffix` e.g. '.png' forces a
    format). InvdnError when nothing matches, an output would overwrite an input, or two
    inputs map to one output. `passed_over` as in :func:`collect_inputs`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionError("output", out_dir, "is a file; give a folder for the outputs")
    others: list[Path] = [] if passed_over is None else passed_over
    pairs = collect_inputs(inputs, recursive, exclude=out_dir, passed_over=others)
    if not pairs:
        found = (f"; {len(others)} file(s) of formats invdn does not read, e.g. {others[0]}: "
                 "convert them to PNG" if others else "; use {on:recursive} for sub-folders")
        raise OptionError(None, None, f"no images found in {' '.join(inputs)} (suffixes: "
                                      f"{', '.join(IMAGE_SUFFIXES)}){found}")
    sources = {os.path.realpath(p) for p, _ in pairs}
    inodes = {(st.st_dev, st.st_ino) for st in (p.stat() for p, _ in pairs)}
    jobs: list[Job] = []
    targets: dict[str, Path] = {}
    for source, rel in pairs:
        target = out_dir / (rel.with_suffix(suffix) if suffix else rel)
        real = os.path.realpath(target)
        if real in sources or (target.exists() and _inode(target) in inodes):
            raise InvdnError(f"output {target} would overwrite the input {source}; "
                             "choose an output folder that is not an input folder")
        if real in targets:
            if os.path.realpath(targets[real]) == os.path.realpath(source):
                continue  # the same file named twice
            raise InvdnError(f"{targets[real]} and {source} would both be written to {target}; "
                             "denoise them into different output folders")
        targets[real] = source
        jobs.append(Job(source, target))
    return jobs


def make_output_folder(out_dir: str | Path) -> Path:
    """Create the output folder (`-o`, with parents) before any work is done; InvdnError when it
    cannot be (a parent is a file, no permission, read-only file system)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:
        raise OptionError("output", out_dir, "is a file; give a folder for the outputs") from err
    except OSError as err:
        raise OptionError("output", out_dir, f"cannot be created ({err.strerror}); choose a "
                          "writable location") from err
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise OptionError("output", out_dir, "is not writable; choose another output folder")
    return out_dir


EIGHT_BIT_SUFFIXES = (".jpg", ".jpeg", ".webp", ".bmp")


def fit_bit_depth(img: np.ndarray, target: Path) -> np.ndarray:
    """16-bit images bound for an 8-bit-only format (JPEG, WebP, BMP) rescaled to 8 bit with
    rounding; OpenCV's encoders would saturate them to white instead."""
    if img.dtype == np.uint16 and target.suffix.lower() in EIGHT_BIT_SUFFIXES:
        return rescale_depth(img, np.uint8)
    return img


# Out of space (ENOSPC) or over quota (EDQUOT): every later write would fail the same way.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass
class BatchResult:
    """How a batch ended: outputs `written`, `failed` (reported, the batch went on),
    `not_done` (never attempted, or stopped mid-way), why it `stopped` early (None: it
    didn't), inputs `skipped` (their outputs existed), files `not_read` (found in a folder or
    glob, of an image format invdn does not read, e.g. GIF; each reported) and the wall time in
    `seconds`."""

    written: int = 0
    failed: int = 0
    not_done: int = 0
    stopped: str | None = None
    skipped: int = 0
    seconds: float = 0.0
    not_read: int = 0

    @property
    def ok(self) -> bool:
        """No image failed and the batch was not stopped."""
        return not (self.failed or self.stopped)


def run_batch(jobs: Sequence[Job], process: Callable[[Job], None],
              report: Callable[[str], None],
              progress: Callable[[Sequence[Job]], Iterable[Job]] | None = None) -> BatchResult:
    """`process(job)` for every job. A failing job is reported (`report(line)`) and the batch
    goes on; a full disk stops it at once, since every later write would fail too (what was
    written stays; the failed output's temporary file is already gone)."""
    result = BatchResult()
    for i, job in enumerate(progress(jobs) if progress is not None else jobs):
        try:
            process(job)
            result.written += 1
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
            if not _record_failure(result, jobs, i, err, report):
                break
    return result


def run_pipelined(jobs: Sequence[Job], load: Callable[[Job], T], compute: Callable[[Job, T], U],
                  save: Callable[[Job, U], None], report: Callable[[str], None],
                  progress: Callable[[Sequence[Job]], Iterable[Job]] | None = None
                  ) -> BatchResult:
    """:func:`run_batch` with each job in three steps, `load(job)` → `compute(job, loaded)` →
    `save(job, computed)`, where the next job's load and the previous job's save run on their
    own threads while a job computes (decoding and encoding overlap the network).

    Failures as in :func:`run_batch`, reported in job order: a failing step is reported and
    the batch goes on; a full disk stops it. A save's outcome is known after the next job has
    computed, so that job's result is then dropped (reported as not done) and nothing after it
    starts."""
    result = BatchResult()
    with ThreadPoolExecutor(1, thread_name_prefix="invdn-load") as loader, \
            ThreadPoolExecutor(1, thread_name_prefix="invdn-save") as saver:
        loads: dict[int, Future] = {}
        saving: tuple[int, Future] | None = None

        def load_ahead(i: int) -> None:
            if i < len(jobs):
                loads[i] = loader.submit(load, jobs[i])

        def settle() -> bool:
            """Count the save in flight; False when the disk is full (stop)."""
            nonlocal saving
            if saving is None:
                return True
            i, future = saving
            saving = None
            try:
                future.result()
                result.written += 1
            except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
                return _record_failure(result, jobs, i, err, report)
            return True

        load_ahead(0)
        for i, job in enumerate(progress(jobs) if progress is not None else jobs):
            load_ahead(i + 1)
            failure: Exception | None = None
            try:
                computed = compute(job, loads.pop(i).result())
            except Exception as err:  # noqa: BLE001 - reported below, in job order
                failure = err
            if not settle():
                break
            if failure is not None:
                _count_failed(result, failure, job.source, report)
                continue
            saving = (i, saver.submit(save, job, computed))
        else:
            settle()
        for future in loads.values():
            future.cancel()
    return result


def _record_failure(result: BatchResult, jobs: Sequence[Job], i: int, err: Exception,
                    report: Callable[[str], None]) -> bool:
    """Record that job `i` failed with `err`; False when the batch must stop (a full disk:
    every later write would fail too; what was written stays)."""
    if isinstance(err, OSError) and err.errno in DISK_FULL:
        _stop_full(result, jobs, i, err)
        return False
    _count_failed(result, err, jobs[i].source, report)
    return True


def _count_failed(result: BatchResult, err: Exception, source: Path,
                  report: Callable[[str], None]) -> None:
    result.failed += 1
    report(f"failed: {_one_line(err, source)}")


def _stop_full(result: BatchResult, jobs: Sequence[Job], i: int, err: OSError) -> None:
    """Record that the disk filled up writing job `i`'s output."""
    result.not_done = len(jobs) - i
    result.stopped = (f"stopped: no space left on the device writing {jobs[i].target} "
                      f"({err.strerror}); {result.written} written, {result.not_done} "
                      "not done; free some space and run the same command again "
                      "(finished outputs are skipped)")


def report_passed_over(files: Sequence[Path], report: Callable[[str], None]) -> None:
    """One `report` line per file of a format invdn does not read (from :func:`plan_jobs`)."""
    for path in files:
        kind = path.suffix.lstrip(".").upper()
        report(f"not read: {path}: {kind} is not a format invdn reads (PNG, JPEG, TIFF, BMP, "
               "WebP); convert it to PNG to denoise it")


def _one_line(err: Exception, source: Path) -> str:
    """The error's first line, prefixed with the input's name unless it already has it."""
    text = (str(err).splitlines() or [type(err).__name__])[0]
    return text if str(source) in text else f"{source}: {text}"
