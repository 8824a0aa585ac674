"""The FastAPI application of `invdn serve`: its parts (models, limits, one inference worker,
the job store, the staging folder) in the app's state, the lifespan that starts and stops the
worker, the limits' middleware and the error handlers. The routes are `invdn.app.routes`.

Errors are JSON `{"detail": message}` with one-line messages: 413 (bytes or pixels over a limit),
415 (not an image format invdn reads), 422 (bad option or unreadable image), 404 (unknown or
expired job), 408 (an upload that stalled), 503 with `Retry-After` (queue full, or shutting
down), 500 (unexpected failure of that image only).

Work stops when nobody wants it: a job whose `POST /api/denoise` client disconnects, or that
`DELETE /api/jobs/{id}` deletes, is dropped if it waits or stopped before its next network pass
if it runs, and its staged upload removed. Uploads are staged in one private folder per server,
removed when the server stops (however it stops: Ctrl-C cancels the running job).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from invdn import __version__
from invdn.app.config import ServeConfig
from invdn.app.jobs import Job, JobStore
from invdn.app.limits import FORM_OVERHEAD, BodyLimit
from invdn.app.models import ModelRegistry
from invdn.app.process import denoise_file
from invdn.app.routes import STATIC, router
from invdn.app.uploads import UnsupportedUpload, UploadTooLarge
from invdn.app.worker import QueueFull, Worker
from invdn.errors import InvdnError


class Staging:
    """The server's private folder for uploads (one sub-folder per job), made at start and
    removed with everything left in it when the server stops."""

    def __init__(self, parent: str | None) -> None:
        self.parent, self.root = parent, None

    def job_folder(self) -> Path:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="invdn-serve-", dir=self.parent))
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.root))

    def remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


async def invdn_error(_request: Request, err: InvdnError) -> JSONResponse:
    """A problem with the request: 413 over a limit, 415 not an image, else 422."""
    status = 413 if isinstance(err, UploadTooLarge) else \
        415 if isinstance(err, UnsupportedUpload) else 422
    return JSONResponse({"detail": str(err)}, status_code=status)


async def queue_full(_request: Request, err: QueueFull) -> JSONResponse:
    """503 with the seconds to wait in `Retry-After`."""
    return JSONResponse({"detail": str(err)}, status_code=503,
                        headers={"Retry-After": str(err.retry_after)})


def create_app(models: ModelRegistry, config: ServeConfig | None = None) -> FastAPI:
    """The app serving `models` under `config`'s limits; its one inference worker starts and
    stops with the app's lifespan (use `with TestClient(app)` in tests). `app.state.shutdown()`
    cancels all work, ends the worker and removes the staging folder; the lifespan's end calls
    it, and `invdn serve` calls it again however uvicorn stopped (it is idempotent)."""
    config = config or ServeConfig()
    store = JobStore(config.result_ttl_s, config.result_budget_bytes)
    staging = Staging(config.temp_dir)

    def process(job: Job):
        job.checkpoint()
        return denoise_file(job.source, job.denoiser, config.max_megapixels,
                            config.max_untiled_megapixels, job.previews, job.progress,
                            job.checkpoint)

    worker = Worker(process, config.queue_size)

    def shutdown() -> None:
        worker.stop()
        staging.remove()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        worker.start()
        try:
            yield
        finally:
            await run_in_threadpool(shutdown)

    app = FastAPI(title="invdn", version=__version__, lifespan=lifespan,
                  description="Local image denoising with an invertible network (InvDN). "
                              "`POST /api/denoise` takes one image and returns it denoised.")
    app.state.models, app.state.config, app.state.worker, app.state.jobs = (
        models, config, worker, store)
    app.state.staging, app.state.shutdown = staging, shutdown
    app.state.closing = asyncio.Event()  # set by `invdn serve` on Ctrl-C: uploads stop at once
    app.add_middleware(BodyLimit, max_bytes=config.max_upload_bytes + FORM_OVERHEAD,
                       max_image_mb=config.max_upload_mb, read_timeout_s=config.read_timeout_s,
                       closing=app.state.closing)
    if config.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    app.add_exception_handler(InvdnError, invdn_error)
    app.add_exception_handler(QueueFull, queue_full)
    app.include_router(router)
    return app
