"""Caps on request bodies, enforced before the multipart parser spools them anywhere: their size,
and how long a client may keep the server waiting for the next piece of one."""

from __future__ import annotations

import asyncio
import json

# Form fields and multipart boundaries around the image itself.
FORM_OVERHEAD = 64 * 1024


class BodyLimit:
    """ASGI middleware: HTTP 413 for bodies above `max_bytes`, at once when `Content-Length`
    says so, else as soon as the streamed body passes the cap (chunked uploads); HTTP 408 when
    the next piece of a body takes more than `read_timeout_s` to arrive (a stalled upload
    would otherwise hold its connection, and Ctrl-C's graceful shutdown, forever); HTTP 503 for
    bodies still arriving when `closing` is set (the server stops). The answers close the
    connection."""

    def __init__(self, app, max_bytes: int, max_image_mb: float,
                 read_timeout_s: float = 30.0, closing: asyncio.Event | None = None) -> None:
        self.app, self.max_bytes, self.max_image_mb = app, max_bytes, max_image_mb
        self.read_timeout_s = read_timeout_s
        self.closing = closing or asyncio.Event()

    async def _answer(self, send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _too_large(self, size: str) -> str:
        return (f"upload of {size} is above the server's limit of {self.max_image_mb:g} MB per "
                "image; send a smaller file")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._answer(send, 413, self._too_large(f"{int(length) / 1e6:.1f} MB"))
            return
        received, complete = 0, False
        refusal: tuple[int, str] | None = None  # what to answer instead of the app
        replaced = False

        async def guarded_receive():
            nonlocal received, complete, refusal
            if complete:  # the body is in; later calls wait for a disconnect, without limit
                return await receive()
            message = asyncio.ensure_future(receive())
            closing = asyncio.ensure_future(self.closing.wait())
            try:
                await asyncio.wait((message, closing), timeout=self.read_timeout_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                closing.cancel()
                waited_out = not message.done()
                if waited_out:
                    message.cancel()
            if waited_out:
                refusal = ((503, "the server is shutting down; send the request again later")
                           if self.closing.is_set() else
                           (408, f"the upload stalled: nothing arrived for "
                                 f"{self.read_timeout_s:g} s; send the request again"))
                return {"type": "http.disconnect"}  # ends the body; the app gives up on it
            message = message.result()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    refusal = (413, self._too_large(f"more than {self.max_bytes / 1e6:.1f} MB"))
                    return {"type": "http.disconnect"}
            return message

        async def replacing_send(message):
            nonlocal replaced
            if refusal is not None and message["type"] == "http.response.start":
                replaced = True
                await self._answer(send, *refusal)
                return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, guarded_receive, replacing_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not replaced:  # the app gave up on the cut body silently
            await self._answer(send, *refusal)
