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

from invdn.app.jobs import Job
from invdn.app.process import error_status

log = logging.getLogger("invdn.serve")


class QueueFull(Exception):
    """The queue has no room; `retry_after` is a guess in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy (queue full); retry in {retry_after} s")
        self.retry_after = retry_after


class Worker:
    """Runs `process(job) -> Outcome` for submitted jobs on one thread, in order. At most
    `queue_size` jobs wait behind the running one. Any exception fails that job alone."""

    def __init__(self, process: Callable, queue_size: int) -> None:
        self.process = process
        self.queue_size = queue_size
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self.running: Job | None = None
        self.mean_seconds = 1.0  # running mean of job time, for Retry-After
        self.completed = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="invdn-inference", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the running job, fail the waiting ones (their files removed), end the thread."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.end(status=503, error="the server is shutting down")
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
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            job.discard_files()
            raise QueueFull(self.retry_after()) from None

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            if job.future.cancelled():  # its client went away while it waited
                job.discard_files()
                continue
            self.running = job
            job.status = "running"
            try:
                outcome = self.process(job)
            except Exception as err:  # noqa: BLE001 - a bad image fails its own request only
                status = error_status(err)
                if status == 500:
                    log.exception("job %s (%s) failed", job.id, job.name)
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()  # after an out-of-memory, free the cache
                text = (str(err).splitlines() or [type(err).__name__])[0]
                text = text.replace(str(job.source), job.name)  # our staging path is ours
                if status == 500:
                    text = f"internal error while denoising {job.name}: {type(err).__name__}: {text}"
                job.end(status=status, error=text)
            else:
                self.completed += 1
                self.mean_seconds += (outcome.seconds - self.mean_seconds) / min(self.completed, 20)
                job.end(outcome)
            finally:
                self.running = None
