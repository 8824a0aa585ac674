"""One inference thread fed by a bounded queue: the model runs one image at a time, and a full
queue is refused at once (the API answers HTTP 503 with Retry-After) instead of piling up work
and memory."""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable

import torch

from invdn.app.jobs import Job, JobCancelled
from invdn.app.process import error_status, error_text

log = logging.getLogger("invdn.serve")


def release_free_memory() -> None:
    """Hand freed heap memory back to the system (glibc's malloc_trim), so a job's memory
    leaves the server's RSS when it ends, and at once when it is cancelled, instead of staying
    with the allocator (measured: 517 MiB after a cancelled job without it, idle 269 MiB)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the allocator keeps what it keeps


class QueueFull(Exception):
    """The queue has no room (or the server is stopping: `why`); `retry_after` is a guess in
    whole seconds."""

    def __init__(self, retry_after: int, why: str = "the server is busy (queue full)") -> None:
        super().__init__(f"{why}; retry in {retry_after} s")
        self.retry_after = retry_after


class Worker:
    """Runs `process(job) -> Outcome` for submitted jobs on one thread, in order. At most
    `queue_size` jobs wait behind the running one. Any exception fails that job alone; a
    cancelled job (:meth:`Job.cancel`) is dropped before it starts or stopped before its next
    network pass, its staged files removed. `completed`, `failed`, `cancelled` count jobs."""

    def __init__(self, process: Callable, queue_size: int) -> None:
        self.process = process
        self.queue_size = queue_size
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self.running: Job | None = None
        self.mean_seconds = 1.0  # running mean of job time, for Retry-After
        self.completed = self.failed = self.cancelled = 0
        self.stopping = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="invdn-inference", daemon=True)
            self._thread.start()

    def cancel_all(self) -> None:
        """Refuse new jobs, end the waiting ones (503, files removed) and cancel the running one;
        returns at once (the running job stops before its next network pass)."""
        self.stopping = True
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.end(status=503, error="the server is shutting down; nothing was denoised")
        running = self.running
        if running is not None:
            running.cancel()

    def stop(self, timeout: float = 30.0) -> None:
        """:meth:`cancel_all`, then end the thread (waiting at most `timeout` s for the running
        job's current network pass)."""
        self.cancel_all()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained by one job (1 to 60)."""
        busy = self.waiting + (self.running is not None)
        return max(1, min(60, math.ceil(self.mean_seconds * max(busy, 1))))

    def submit(self, job: Job) -> None:
        """Queue `job`; QueueFull (its files removed) when `queue_size` jobs already wait."""
        if self.stopping:
            job.end(status=503, error="the server is shutting down; nothing was denoised")
            return
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            job.discard_files()
            raise QueueFull(self.retry_after()) from None

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            if job.cancel_requested.is_set() or self.stopping:  # client gone, DELETE, or Ctrl-C
                self.cancelled += 1
                job.end(status=499, error="cancelled before it started", cancelled=True)
                continue
            self.running = job
            job.status = "running"
            try:
                outcome = self.process(job)
            except JobCancelled:
                self.cancelled += 1
                job.end(status=499, error=f"cancelled after {job.tiles_done} of "
                        f"{job.tiles_total} tiles", cancelled=True)
            except Exception as err:  # noqa: BLE001 - a bad image fails its own request only
                self.failed += 1
                status = error_status(err)
                if status == 500:
                    log.exception("job %s (%s) failed", job.id, job.name)
                job.end(status=status, error=error_text(err, job.source, job.name))
            else:
                self.completed += 1
                self.mean_seconds += (outcome.seconds - self.mean_seconds) / min(self.completed, 20)
                job.end(outcome)
            finally:
                self.running = None
                del job  # nothing of it is kept here: its arrays go now
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()  # a failed or cancelled job's tensors are gone
                release_free_memory()
