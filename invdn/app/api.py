"""The FastAPI application: the page, the synchronous `POST /api/denoise` for scripts, the job
endpoints the page polls for progress, `GET /api/models` and `GET /health`.

Errors are JSON `{"detail": message}` with one-line messages: 413 (bytes or pixels over a limit),
415 (not an image format invdn reads), 422 (bad option or unreadable image), 404 (unknown or
expired job), 503 with `Retry-After` (queue full), 500 (unexpected failure of that image only).
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from invdn import __version__
from invdn.app.config import ServeConfig
from invdn.app.jobs import Job, JobStore
from invdn.app.limits import FORM_OVERHEAD, BodyLimit
from invdn.app.models import ModelRegistry
from invdn.app.process import denoise_file
from invdn.app.uploads import (
    FORMAT_NAMES,
    MEDIA_TYPES,
    UnsupportedUpload,
    UploadTooLarge,
    content_disposition,
    download_name,
    stage_upload,
)
from invdn.app.worker import QueueFull, Worker
from invdn.errors import InvdnError
from invdn.inference.pipeline import DenoiseOptions, Denoiser

STATIC = files("invdn.app") / "static"
CHUNK = 1 << 20

IMAGE_RESPONSES = {200: {"content": {m: {} for m in MEDIA_TYPES.values()},
                         "description": "the denoised image, in the upload's format and bit depth"},
                   413: {"description": "upload bytes or pixels above the server's limits"},
                   415: {"description": "not a PNG, JPEG, TIFF, BMP or WebP file"},
                   422: {"description": "bad option or unreadable image"},
                   503: {"description": "queue full; retry after `Retry-After` seconds"}}


@dataclass(frozen=True)
class DenoiseForm:
    file: UploadFile
    model: str | None
    samples: int
    self_ensemble: bool
    tile: int
    overlap: int
    seed: int


def denoise_form(
    file: Annotated[UploadFile, File(description="the noisy image: PNG, JPEG, TIFF, BMP or WebP, "
                                                 "8/16-bit, gray, RGB or RGBA")],
    model: Annotated[str | None, Form(description="weights name from GET /api/models "
                                                  "(default: the first)")] = None,
    samples: Annotated[int, Form(description="latent draws averaged (MC self-ensemble)")] = 1,
    self_ensemble: Annotated[bool, Form(description="also average the 8 flips/transposes "
                                                    "(x8 slower)")] = False,
    tile: Annotated[int, Form(description="tile size in pixels, a multiple of the network's "
                                          "size multiple; 0 = whole image")] = 512,
    overlap: Annotated[int, Form(description="overlap of neighbouring tiles in pixels")] = 32,
    seed: Annotated[int, Form(description="seed of the latent draws; same seed, same output as "
                                          "`invdn denoise --seed`")] = 0,
) -> DenoiseForm:
    """The multipart form of both denoise endpoints (options as form fields, like the CLI's)."""
    return DenoiseForm(file, model, samples, self_ensemble, tile, overlap, seed)


def _chunks(upload: UploadFile) -> Iterator[bytes]:
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        yield chunk


def _image_response(job: Job, inline: bool = False) -> Response:
    o = job.outcome
    headers = {"X-Invdn-Seconds": f"{o.seconds:.3f}", "X-Invdn-Noise-Sigma": f"{o.noise_sigma:.2f}",
               "X-Invdn-Model": job.model, "X-Invdn-Parameters": str(job.parameters),
               "X-Invdn-Tiles": str(job.tiles_total)}
    if not inline:
        headers["Content-Disposition"] = content_disposition(download_name(job.name, o.suffix))
    return Response(o.data, media_type=MEDIA_TYPES[o.suffix], headers=headers)


def create_app(models: ModelRegistry, config: ServeConfig | None = None) -> FastAPI:
    """The app serving `models` under `config`'s limits; its one inference worker starts and
    stops with the app's lifespan (use `with TestClient(app)` in tests)."""
    config = config or ServeConfig()
    store = JobStore(config.result_ttl_s, config.result_budget_bytes)

    def process(job: Job):
        return denoise_file(job.source, job.denoiser, config.max_megapixels,
                            config.max_untiled_megapixels, job.previews, job.progress)

    worker = Worker(process, config.queue_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        worker.start()
        try:
            yield
        finally:
            await run_in_threadpool(worker.stop)

    app = FastAPI(title="invdn", version=__version__, lifespan=lifespan,
                  description="Local image denoising with an invertible network (InvDN). "
                              "`POST /api/denoise` takes one image and returns it denoised.")
    app.state.models, app.state.config, app.state.worker, app.state.jobs = (
        models, config, worker, store)
    app.add_middleware(BodyLimit, max_bytes=config.max_upload_bytes + FORM_OVERHEAD,
                       max_image_mb=config.max_upload_mb)
    if config.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(InvdnError)
    async def invdn_error(_request: Request, err: InvdnError) -> JSONResponse:
        status = 413 if isinstance(err, UploadTooLarge) else \
            415 if isinstance(err, UnsupportedUpload) else 422
        return JSONResponse({"detail": str(err)}, status_code=status)

    @app.exception_handler(QueueFull)
    async def queue_full(_request: Request, err: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=503,
                            headers={"Retry-After": str(err.retry_after)})

    async def start_job(form: DenoiseForm, previews: bool) -> Job:
        entry = models.get(form.model)
        if form.samples > config.max_samples:
            raise InvdnError(f"samples {form.samples} is above this server's limit of "
                             f"{config.max_samples}; use fewer")
        options = DenoiseOptions(samples=form.samples, self_ensemble=form.self_ensemble,
                                 tile=form.tile, overlap=form.overlap, seed=form.seed,
                                 precision=config.precision)
        denoiser = Denoiser(entry.model, options, models.device)
        if worker.waiting >= worker.queue_size:  # refuse before staging the upload
            raise QueueFull(worker.retry_after())
        workdir = Path(tempfile.mkdtemp(prefix="invdn-serve-", dir=config.temp_dir))
        try:
            source = await run_in_threadpool(stage_upload, _chunks(form.file), workdir,
                                             config.max_upload_bytes)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        job = Job(source, workdir, denoiser, entry.name, entry.parameters,
                  form.file.filename or "upload", previews)
        worker.submit(job)
        return job

    def finished_job(job_id: str) -> Job:
        job = store.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id} (unknown, or its result expired); "
                                     "upload the image again")
        if job.status == "failed":
            raise HTTPException(job.http_status, job.error)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} is {job.status}; poll GET /api/jobs/{job_id}")
        return job

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/health", summary="liveness, queue and limits")
    async def health() -> dict:
        return {"status": "ok", "version": __version__, "device": str(models.device),
                "models": len(models),
                "queue": {"running": worker.running is not None, "waiting": worker.waiting,
                          "size": worker.queue_size},
                "limits": {"max_upload_mb": config.max_upload_mb,
                           "max_megapixels": config.max_megapixels,
                           "max_untiled_megapixels": config.max_untiled_megapixels,
                           "max_samples": config.max_samples},
                "formats": sorted(set(FORMAT_NAMES.values()))}

    @app.get("/api/models", summary="the weights this server offers")
    async def list_models() -> dict:
        return {"default": models.default.name, "device": str(models.device),
                "models": [m.describe() for m in models]}

    @app.post("/api/denoise", summary="denoise one image (multipart in, image out)",
              response_class=Response, responses=IMAGE_RESPONSES)
    async def denoise(form: Annotated[DenoiseForm, Depends(denoise_form)]) -> Response:
        """Waits for the result and returns it in the upload's format and bit depth, with
        `X-Invdn-Seconds`, `X-Invdn-Noise-Sigma` (0–255 scale), `X-Invdn-Model`,
        `X-Invdn-Parameters` and `X-Invdn-Tiles` headers."""
        job = await start_job(form, previews=False)
        await asyncio.wrap_future(job.future)
        if job.outcome is None:
            raise HTTPException(job.http_status, job.error)
        return _image_response(job)

    @app.post("/api/jobs", status_code=202, summary="queue one image; poll for progress")
    async def create_job(form: Annotated[DenoiseForm, Depends(denoise_form)]) -> dict:
        """What the page uses: returns the job at once; `GET /api/jobs/{id}` reports tiles done,
        then the result, previews and the zip are downloadable for a while."""
        job = await start_job(form, previews=True)
        store.add(job)
        return job.describe()

    @app.get("/api/jobs/{job_id}", summary="a job's state and, when done, its measurements")
    async def get_job(job_id: str) -> dict:
        job = store.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id} (unknown, or its result expired)")
        return job.describe()

    @app.get("/api/jobs/{job_id}/result", summary="the denoised image (download)",
             response_class=Response, responses=IMAGE_RESPONSES)
    async def job_result(job_id: str) -> Response:
        return _image_response(finished_job(job_id))

    @app.get("/api/jobs/{job_id}/preview/{which}", summary="8-bit PNG of the noisy or "
             "denoised image, for display", response_class=Response,
             responses={200: {"content": {"image/png": {}}}})
    async def job_preview(job_id: str, which: str) -> Response:
        if which not in ("noisy", "denoised"):
            raise HTTPException(404, "preview is 'noisy' or 'denoised'")
        job = finished_job(job_id)
        data = job.outcome.previews[which == "denoised"]
        return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.delete("/api/jobs/{job_id}", status_code=204, summary="forget a job and its result")
    async def delete_job(job_id: str) -> Response:
        store.remove(job_id)
        return Response(status_code=204)

    @app.get("/api/zip", summary="several finished results in one zip",
             response_class=Response, responses={200: {"content": {"application/zip": {}}}})
    async def zip_results(ids: Annotated[str, Query(description="comma-separated job ids")]
                          ) -> Response:
        jobs = [finished_job(i) for i in dict.fromkeys(filter(None, ids.split(",")))]
        if not jobs:
            raise HTTPException(422, "ids is empty; pass comma-separated job ids")

        def build() -> bytes:
            buf, used = io.BytesIO(), set()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                for job in jobs:
                    name = download_name(job.name, job.outcome.suffix)
                    stem, n = name, 1
                    while name in used:
                        n += 1
                        name = stem.replace("-denoised", f"-denoised-{n}", 1)
                    used.add(name)
                    zf.writestr(name, job.outcome.data)
            return buf.getvalue()

        return Response(await run_in_threadpool(build), media_type="application/zip",
                        headers={"Content-Disposition": content_disposition("invdn-denoised.zip")})

    return app
