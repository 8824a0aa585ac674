"""`invdn serve`: a local web page and HTTP API that denoise images with the CLI's pipeline.

Layers, one idea per module: :mod:`~invdn.app.config` (limits), :mod:`~invdn.app.models`
(weights loaded once), :mod:`~invdn.app.uploads` (format sniffing, safe names, saving an upload
under a name of our own), :mod:`~invdn.app.process` (one image through `read_image` → `Denoiser`
→ `write_image`, exactly as `invdn denoise`), :mod:`~invdn.app.jobs` (job state, retention),
:mod:`~invdn.app.worker` (one inference thread, bounded queue), :mod:`~invdn.app.limits`
(request-body cap), :mod:`~invdn.app.api` (FastAPI routes) and :mod:`~invdn.app.server`
(uvicorn). FastAPI is imported only by the last two, so `import invdn.app` works without the
`app` extra.
"""

from invdn.app.config import ServeConfig

__all__ = ["ServeConfig"]
