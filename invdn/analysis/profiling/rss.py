"""Peak resident memory (RSS) of this process over a block of code, on Linux.

Two things make a naive "peak RSS minus RSS before" wrong, and both are handled here:

- `resource.getrusage().ru_maxrss` is the peak over the whole process life, so an earlier,
  larger event (a warm-up step) hides the one measured. The kernel's high-water mark `VmHWM`
  can be reset by writing "5" to `/proc/self/clear_refs`; where that is not allowed a thread
  samples `VmRSS` instead (it can miss a peak shorter than its interval).
- glibc keeps freed heap memory for reuse, so RSS tracks what was ever allocated, not what is
  live. Inside :class:`PeakRSS` every allocation of 64 KiB or more (all tensors that matter) is
  served by its own `mmap` and returned to the kernel when freed, and free heap is trimmed
  before the baseline is read, so the difference is the live memory the code needed. For
  repeatable numbers the process should run with :data:`ALLOCATOR_ENV` from its start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_FROM = 64 * 1024

#: glibc settings for a process whose RSS should follow its live memory from the first
#: allocation on: big blocks get their own mmap and free heap is returned. :class:`PeakRSS`
#: sets the same at entry, but glibc serves big requests from free heap chunks before it ever
#: mmaps, so a heap that earlier work left large and fragmented keeps the pages the measured
#: code touches there resident after it frees them (seen: 144 vs 206 MiB in two identical
#: runs).
#: Start measuring processes with this environment.
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(_MMAP_FROM), "MALLOC_TRIM_THRESHOLD_": str(_MMAP_FROM)}


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from {_STATUS}")


def current_rss() -> int:
    """Resident set size of this process now, in bytes (Linux)."""
    return _status_kib("VmRSS") * 1024


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc only; musl and macOS lack them
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakRSS:
    """Context manager: `peak` is the largest RSS growth (bytes) above the RSS on entry.

    `method` says how the peak was read: "vmhwm" (kernel high-water mark, exact) or
    "sampled" (a thread reading VmRSS every `interval` seconds).
    """

    def __init__(self, interval: float = 0.0005) -> None:
        if not _STATUS.is_file():
            raise RuntimeError("CPU memory measurement reads /proc/self/status and needs Linux")
        self.interval = interval
        self.peak = 0
        self.baseline = 0
        self.method = ""
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._max_sampled = 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._max_sampled = max(self._max_sampled, current_rss())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        libc = _glibc()
        if libc is not None:
            # Fixed thresholds also switch off glibc's dynamic threshold, which would otherwise
            # move big tensors back into the (retained) heap after the first one is freed.
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)
            libc.mallopt(_M_TRIM_THRESHOLD, _MMAP_FROM)
            libc.malloc_trim(0)
        self.baseline = current_rss()
        if _reset_hwm():
            self.method = "vmhwm"
        else:
            self.method = "sampled"
            self._max_sampled = self.baseline
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._sampler is not None:
            self._stop.set()
            self._sampler.join()
            top = max(self._max_sampled, current_rss())
        else:
            top = _status_kib("VmHWM") * 1024
        self.peak = max(top - self.baseline, 0)
