"""The one stopwatch: wall-clock seconds (`time.perf_counter`) and this process's CPU seconds
(`time.process_time`, all threads) since it started.

    watch = Stopwatch()          # running from here; `watch.seconds` reads it
    with Stopwatch() as watch:   # or frozen at the end of the block
        work()
    watch.seconds, watch.cpu_seconds
"""

from __future__ import annotations

import time


class Stopwatch:
    """Starts when made (again on `with` entry); a `with` block's exit freezes the readings."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self._start = (time.perf_counter(), time.process_time())
        self._stop: tuple[float, float] | None = None

    def __enter__(self) -> Stopwatch:
        self.restart()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = (time.perf_counter(), time.process_time())

    @property
    def seconds(self) -> float:
        """Wall-clock seconds from the start to the block's exit (or to now while running)."""
        end = self._stop[0] if self._stop is not None else time.perf_counter()
        return end - self._start[0]

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds of this process over the same span."""
        end = self._stop[1] if self._stop is not None else time.process_time()
        return end - self._start[1]
