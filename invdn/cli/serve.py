"""Serve a local web page and HTTP API that denoise images (pip install 'invdn[app]').

The weights are loaded once: the shipped default plus every --checkpoint (the page and the
`model` form field pick among them). The page takes images by drag and drop, shows per-image
progress, a before/after slider with zoom, the estimated noise level and the time taken, and
downloads results in each input's format and bit depth (a zip for several). Scripts use
`POST /api/denoise` (multipart in, image out; options as form fields, as in `invdn denoise`);
the OpenAPI page is at /docs.

Binds to 127.0.0.1 unless --host says otherwise (then a warning is printed). One inference
worker runs one image at a time; when --queue-size images already wait, requests get HTTP 503
with Retry-After. Uploads are limited by --max-upload-mb and --max-megapixels (the size read
from the file's header before decoding; an unreadable header is refused), one network call to
4 MP (tile 0, or tiles up to 2000 px), and a client that sends nothing for --read-timeout
seconds is cut off (HTTP 408). A job whose client disconnects, or that DELETE
/api/jobs/{id} deletes, is cancelled before its next network pass. Ctrl-C cancels the running
job, gives requests 3 s, removes every staged upload and exits with status 130.

examples:
  invdn serve
  invdn serve --checkpoint invdn.pt --checkpoint runs/…/checkpoints/best.ckpt --port 8080
  curl -F file=@photo.png -F samples=4 http://127.0.0.1:8000/api/denoise -o photo-denoised.png
"""

from __future__ import annotations

import argparse

from invdn.cli.common import add_device_arguments

HELP = "web page and HTTP API for denoising (pip install 'invdn[app]')"

# ServeConfig's keywords whose flag is not their plain spelling
FLAGS = {"read_timeout_s": "--read-timeout", "header_timeout_s": "--read-timeout"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="PATH", nargs="+", action="extend", default=[],
                        help="extra weights to offer next to the shipped default: invdn export, "
                             "`invdn train` .ckpt or original InvDN .pth (repeatable)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000,
                        help="TCP port (default 8000; 0 picks a free one)")
    add_device_arguments(parser)
    parser.add_argument("--max-upload-mb", type=float, default=50.0, metavar="MB",
                        help="largest accepted upload per image in MB (default 50)")
    parser.add_argument("--max-megapixels", type=float, default=50.0, metavar="MP",
                        help="refuse images larger than this (default 50)")
    parser.add_argument("--queue-size", type=int, default=8, metavar="N",
                        help="images that may wait behind the running one; more get HTTP 503 "
                             "(default 8)")
    parser.add_argument("--read-timeout", type=float, default=30.0, metavar="S",
                        help="longest wait for a client's headers or the next piece of an "
                             "upload; then HTTP 408 and the connection is closed (default 30)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"],
                        help="uvicorn's log level; info logs every request (default info)")


def run(args: argparse.Namespace) -> int:
    from invdn.app.config import ServeConfig
    from invdn.app.server import serve

    config = ServeConfig(max_upload_mb=args.max_upload_mb, max_megapixels=args.max_megapixels,
                         queue_size=args.queue_size, precision=args.precision,
                         read_timeout_s=args.read_timeout, header_timeout_s=args.read_timeout)
    serve(args.checkpoint, args.host, args.port, args.device, config, args.log_level)
    return 0
