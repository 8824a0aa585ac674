"""Jobs: one uploaded image's way through the queue, and the store that keeps finished page
results downloadable for a bounded time and number of bytes."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from invdn.app.process import Outcome
from invdn.inference.pipeline import Denoiser


class JobCancelled(Exception):
    """Raised inside the worker when a job's cancellation is noticed (between network passes)."""


@dataclass(eq=False)
class Job:
    """An image to denoise: staged at `source` inside the private folder `workdir` (removed when
    the job ends), with its `denoiser`, the client's file name (`name`, for messages and the
    download name only), and state the worker updates: `status` queued → running → done |
    failed | cancelled, `tiles_done` / `tiles_total`, then `outcome` or (`http_status`,
    `error`). `future` resolves to the job itself when it ends. :meth:`cancel` (a DELETE, a
    client that went away, the server stopping) makes the worker drop it before it starts, or
    stop it before its next network pass."""

    source: Path
    workdir: Path
    denoiser: Denoiser
    model: str
    parameters: int
    name: str
    previews: bool = False
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    status: str = "queued"
    tiles_done: int = 0
    tiles_total: int = 1
    outcome: Outcome | None = None
    http_status: int = 200
    error: str | None = None
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None
    future: Future = field(default_factory=Future)
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Ask the worker to drop this job (queued) or stop it (running); a no-op once ended."""
        self.cancel_requested.set()

    def checkpoint(self) -> None:
        """JobCancelled once :meth:`cancel` was called; the worker calls it between steps and
        the denoiser before every network pass."""
        if self.cancel_requested.is_set():
            raise JobCancelled

    def progress(self, tiles: list) -> Iterable:
        """Wraps the tile list of `run_tiles` to count tiles as they finish."""
        self.tiles_total, self.tiles_done = len(tiles), 0
        for tile in tiles:
            self.checkpoint()
            yield tile
            self.tiles_done += 1  # run_tiles asks for the next tile once this one is blended

    def end(self, outcome: Outcome | None = None, status: int = 200, error: str | None = None,
            cancelled: bool = False) -> None:
        """Record the result (or the failure, or the cancellation), remove the staged files,
        resolve `future`."""
        self.outcome, self.http_status, self.error = outcome, status, error
        if outcome is not None:
            self.tiles_done = self.tiles_total
        self.status = "done" if outcome is not None else "cancelled" if cancelled else "failed"
        self.finished = time.monotonic()
        self.discard_files()
        if not self.future.done():
            self.future.set_result(self)

    def discard_files(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def describe(self) -> dict:
        """The job's state as JSON for the page."""
        info = {"id": self.id, "name": self.name, "status": self.status, "model": self.model,
                "parameters": self.parameters, "tiles_done": self.tiles_done,
                "tiles_total": self.tiles_total}
        if self.error is not None:
            info["error"] = self.error
        o = self.outcome
        if o is not None:
            info.update(seconds=round(o.seconds, 3), noise_sigma=round(o.noise_sigma, 2),
                        width=o.width, height=o.height, channels=o.channels,
                        bit_depth=o.bit_depth, format=o.suffix.lstrip("."))
        return info


class JobStore:
    """Page jobs by id. Finished ones are dropped after `ttl_s` seconds, and the oldest
    finished ones whenever their results exceed `budget_bytes` together or there are more than
    `max_finished` of them (failed jobs hold no result but still take room)."""

    def __init__(self, ttl_s: float, budget_bytes: int, max_finished: int = 1000) -> None:
        self.ttl_s, self.budget_bytes, self.max_finished = ttl_s, budget_bytes, max_finished
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
        self.evict()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def remove(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.pop(job_id, None)

    def evict(self) -> None:
        now = time.monotonic()
        with self._lock:
            done = sorted((j for j in self._jobs.values() if j.finished is not None),
                          key=lambda j: j.finished)
            total = sum(j.outcome.nbytes for j in done if j.outcome is not None)
            count = len(done)
            for job in done:
                if (now - job.finished > self.ttl_s or total > self.budget_bytes
                        or count > self.max_finished):
                    del self._jobs[job.id]
                    total -= job.outcome.nbytes if job.outcome is not None else 0
                    count -= 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)
