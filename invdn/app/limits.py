"""A cap on request bodies, enforced before the multipart parser spools them anywhere."""

from __future__ import annotations

import json

# Form fields and multipart boundaries around the image itself.
FORM_OVERHEAD = 64 * 1024


class BodyLimit:
    """ASGI middleware: HTTP 413 for bodies above `max_bytes`, at once when `Content-Length`
    says so, else as soon as the streamed body passes the cap (chunked uploads)."""

    def __init__(self, app, max_bytes: int, max_image_mb: float) -> None:
        self.app, self.max_bytes, self.max_image_mb = app, max_bytes, max_image_mb

    async def _refuse(self, send, size: str) -> None:
        body = json.dumps({"detail": f"upload of {size} is above the server's limit of "
                                     f"{self.max_image_mb:g} MB per image; send a smaller file "
                                     "or restart with --max-upload-mb"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send, f"{int(length) / 1e6:.1f} MB")
            return
        received, over, replaced = 0, False, False

        async def counting_receive():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    # Ends the body early; the parser's error response is replaced below.
                    return {"type": "http.disconnect"}
            return message

        async def replacing_send(message):
            nonlocal replaced
            if over and message["type"] == "http.response.start":
                replaced = True
                await self._refuse(send, f"more than {self.max_bytes / 1e6:.1f} MB")
                return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, counting_receive, replacing_send)
        except Exception:
            if not over:
                raise
        if over and not replaced:  # the app gave up on the cut body without answering
            await self._refuse(send, f"more than {self.max_bytes / 1e6:.1f} MB")
