"""The routes of `invdn serve` (a FastAPI router): the page, the synchronous `POST /api/denoise`
for scripts, the job endpoints the page polls for progress, `GET /api/models` and
`GET /health`. Each handler reads the server's parts (models, limits, worker, jobs, staging
folder) from the application's state, set by :func:`invdn.app.api.create_app`.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import State

from invdn import __version__
from invdn.app.jobs import Job
from invdn.app.uploads import (
    FORMAT_NAMES,
    MEDIA_TYPES,
    content_disposition,
    download_name,
    stage_upload,
)
from invdn.app.worker import QueueFull
from invdn.errors import InvdnError, OptionError
from invdn.inference.pipeline import DenoiseOptions, Denoiser

STATIC = files("invdn.app") / "static"
CHUNK = 1 << 20

IMAGE_RESPONSES = {200: {"content": {m: {} for m in MEDIA_TYPES.values()},
                         "description": "the denoised image, in the upload's format and bit depth"},
                   408: {"description": "the upload stalled (nothing arrived for the read "
                                          "timeout)"},
                   413: {"description": "upload bytes or pixels above the server's limits"},
                   415: {"description": "not a PNG, JPEG, TIFF, BMP or WebP file"},
                   422: {"description": "bad option or unreadable image"},
                   503: {"description": "queue full; retry after `Retry-After` seconds"}}

router = APIRouter()


def server_state(request: Request) -> State:
    """The application's state: `models`, `config`, `worker`, `jobs`, `staging`."""
    return request.app.state


Server = Annotated[State, Depends(server_state)]  # a handler's view of its server


@dataclass(frozen=True)
class DenoiseForm:
    file: UploadFile
    model: str | None
    samples: int
    self_ensemble: bool
    tile: int
    overlap: int
    seed: int


async def denoise_form(
    request: Request,
    file: Annotated[UploadFile, File(description="the noisy image: PNG, JPEG, TIFF, BMP or WebP, "
                                                 "8/16-bit, gray, RGB or RGBA; one per request")],
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
    """The multipart form of both denoise endpoints (options as form fields, like the CLI's).
    Two `file` parts are refused (one would be dropped without a word)."""
    files_sent = (await request.form()).getlist("file")  # parsed once; this reads the cache
    if len(files_sent) > 1:
        raise InvdnError(f"{len(files_sent)} parts named 'file'; send one image per request "
                         "(the page queues several: drop them all on it)")
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


async def _disconnected(request: Request) -> None:
    """Returns when the client of `request` (whose body was read) goes away."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def start_job(server: State, form: DenoiseForm, previews: bool) -> Job:
    """Check the options, stage the upload and queue the job (refused before staging when the
    queue is full or the server is stopping)."""
    models, config, worker = server.models, server.config, server.worker
    entry = models.get(form.model)
    if form.samples > config.max_samples:
        raise InvdnError(f"samples {form.samples} is above this server's limit of "
                         f"{config.max_samples}; use fewer")
    max_tile = config.max_tile(int(getattr(entry.model, "multiple", 1)))
    if form.tile > max_tile:
        # Checked before the tile's other checks, whose suggested values could be above it.
        raise OptionError("tile", form.tile, f"is above this server's largest tile, "
                          f"{max_tile} px (one tile of at most "
                          f"{config.max_untiled_megapixels:g} MP); use 0 to {max_tile} "
                          "(0: the whole image, up to that size)")
    options = DenoiseOptions(samples=form.samples, self_ensemble=form.self_ensemble,
                             tile=form.tile, overlap=form.overlap, seed=form.seed,
                             precision=config.precision)
    # one tile per network call: a job's progress and cancellation go tile by tile, and no
    # call is larger than the one-call limit checked on the tile
    denoiser = Denoiser(entry.model, options, models.device, per_call=1)
    if worker.stopping:
        raise QueueFull(1, "the server is shutting down")
    if worker.waiting >= worker.queue_size:  # refuse before staging the upload
        raise QueueFull(worker.retry_after())
    workdir = server.staging.job_folder()
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

def finished_job(server: State, job_id: str) -> Job:
    """The job `job_id` with its result; HTTP errors for unknown, failed, cancelled or
    unfinished jobs."""
    job = server.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id} (unknown, or its result expired); "
                                 "upload the image again")
    if job.status == "failed":
        raise HTTPException(job.http_status, job.error)
    if job.status == "cancelled":
        raise HTTPException(410, f"job {job_id} was cancelled; upload the image again")
    if job.status != "done":
        raise HTTPException(409, f"job {job_id} is {job.status}; poll GET /api/jobs/{job_id}")
    return job


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse,
                  include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


@router.get("/health", summary="liveness, queue and limits")
async def health(server: Server) -> dict:
    models, config, worker = server.models, server.config, server.worker
    return {"status": "ok", "version": __version__, "device": str(models.device),
            "models": len(models),
            "queue": {"running": worker.running is not None, "waiting": worker.waiting,
                      "size": worker.queue_size},
            "jobs": {"completed": worker.completed, "failed": worker.failed,
                     "cancelled": worker.cancelled},
            "limits": {"max_upload_mb": config.max_upload_mb,
                       "max_megapixels": config.max_megapixels,
                       "max_untiled_megapixels": config.max_untiled_megapixels,
                       "max_tile": config.max_tile(int(getattr(models.default.model,
                                                               "multiple", 1))),
                       "read_timeout_s": config.read_timeout_s,
                       "max_samples": config.max_samples},
            "formats": sorted(set(FORMAT_NAMES.values()))}


@router.get("/api/models", summary="the weights this server offers")
async def list_models(server: Server) -> dict:
    models = server.models
    return {"default": models.default.name, "device": str(models.device),
            "models": [m.describe() for m in models]}


@router.post("/api/denoise", summary="denoise one image (multipart in, image out)",
             response_class=Response, responses=IMAGE_RESPONSES)
async def denoise(request: Request, form: Annotated[DenoiseForm, Depends(denoise_form)],
                  server: Server) -> Response:
    """Waits for the result and returns it in the upload's format and bit depth, with
    `X-Invdn-Seconds`, `X-Invdn-Noise-Sigma` (0–255 scale), `X-Invdn-Model`,
    `X-Invdn-Parameters` and `X-Invdn-Tiles` headers. A client that disconnects first
    cancels its job (dropped while it waits, stopped before its next network pass)."""
    job = await start_job(server, form, previews=False)
    result = asyncio.ensure_future(asyncio.wrap_future(job.future))
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((result, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not result.done():  # the client went away, or this request was cancelled
            job.cancel()
        gone.cancel()
    if not result.done():
        return Response(status_code=499)  # nobody reads it
    if job.status == "cancelled" and server.worker.stopping:
        raise HTTPException(503, "the server is shutting down; send the request again later")
    if job.outcome is None:
        raise HTTPException(job.http_status, job.error)
    return _image_response(job)


@router.post("/api/jobs", status_code=202, summary="queue one image; poll for progress")
async def create_job(form: Annotated[DenoiseForm, Depends(denoise_form)],
                     server: Server) -> dict:
    """What the page uses: returns the job at once; `GET /api/jobs/{id}` reports tiles done,
    then the result, previews and the zip are downloadable for a while."""
    job = await start_job(server, form, previews=True)
    server.jobs.add(job)
    return job.describe()


@router.get("/api/jobs/{job_id}", summary="a job's state and, when done, its measurements")
async def get_job(job_id: str, server: Server) -> dict:
    job = server.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id} (unknown, or its result expired)")
    return job.describe()


@router.get("/api/jobs/{job_id}/result", summary="the denoised image (download)",
            response_class=Response, responses=IMAGE_RESPONSES)
async def job_result(job_id: str, server: Server) -> Response:
    return _image_response(finished_job(server, job_id))


@router.get("/api/jobs/{job_id}/preview/{which}", summary="8-bit PNG of the noisy or "
            "denoised image, for display", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
async def job_preview(job_id: str, which: str, server: Server) -> Response:
    if which not in ("noisy", "denoised"):
        raise HTTPException(404, "preview is 'noisy' or 'denoised'")
    job = finished_job(server, job_id)
    data = job.outcome.previews[which == "denoised"]
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.delete("/api/jobs/{job_id}", status_code=204,
               summary="cancel a job (if it waits or runs) and forget it and its result")
async def delete_job(job_id: str, server: Server) -> Response:
    job = server.jobs.remove(job_id)
    if job is not None:
        job.cancel()  # dropped if queued, stopped before its next network pass if running
    return Response(status_code=204)


@router.get("/api/zip", summary="several finished results in one zip",
            response_class=Response, responses={200: {"content": {"application/zip": {}}}})
async def zip_results(ids: Annotated[str, Query(description="comma-separated job ids")],
                      server: Server) -> Response:
    jobs = [finished_job(server, i) for i in dict.fromkeys(filter(None, ids.split(",")))]
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
