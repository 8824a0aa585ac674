"""Limits and knobs of a running `invdn serve`, in one frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from invdn.checks import Checked, Choice, Int, Number, Rule
from invdn.inference.device import PRECISIONS


@dataclass(frozen=True)
class ServeConfig(Checked):
    """`max_upload_mb`: bytes of one uploaded image (MB = 10^6 bytes); `max_megapixels`: the
    decompression-bomb guard of :func:`invdn.io.images.read_image`, as in `invdn denoise`;
    `max_untiled_megapixels`: largest image allowed with tile 0 (whole image at once, memory
    grows with the image); `max_samples`: cap on latent draws per request; `queue_size`: jobs
    waiting behind the one running (more → HTTP 503); `result_ttl_s` / `result_budget_mb`: how
    long and how many bytes of finished page results stay downloadable; `temp_dir`: where uploads
    are staged (None: the system's temporary folder); `allowed_hosts`: accepted `Host` headers
    (None: any), which stops DNS-rebinding pages from reaching a loopback server;
    `precision`: the networks' convolutions, as `invdn denoise --precision`;
    `read_timeout_s`: longest wait for the next piece of a request body (a stalled upload then
    gets HTTP 408 and its connection is closed); `header_timeout_s`: longest wait for a new
    connection's request line and headers; `shutdown_grace_s`: how long Ctrl-C waits for
    requests in progress before cancelling them (the running job is cancelled at once)."""

    max_upload_mb: float = 50.0
    max_megapixels: float = 50.0
    max_untiled_megapixels: float = 4.0
    max_samples: int = 32
    queue_size: int = 8
    result_ttl_s: float = 3600.0
    result_budget_mb: float = 1024.0
    temp_dir: str | None = None
    allowed_hosts: tuple[str, ...] | None = None
    precision: str = "auto"
    read_timeout_s: float = 30.0
    header_timeout_s: float = 30.0
    shutdown_grace_s: float = 3.0

    RULES: ClassVar[dict[str, Rule]] = {
        key: Int(1, noun="") if key in ("queue_size", "max_samples") else Number(above=0, noun="")
        for key in ("max_upload_mb", "max_megapixels", "queue_size", "max_untiled_megapixels",
                    "max_samples", "result_ttl_s", "result_budget_mb", "read_timeout_s",
                    "header_timeout_s", "shutdown_grace_s")
    } | {"precision": Choice(PRECISIONS)}

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)

    @property
    def result_budget_bytes(self) -> int:
        return int(self.result_budget_mb * 1e6)

    def max_tile(self, multiple: int = 1) -> int:
        """The largest tile (a multiple of `multiple`) whose square fits the one-call limit
        `max_untiled_megapixels`: larger tiles are refused up front, since on a large image
        they are one whole-image call (2000 for 4 MP and InvDN's multiple of 4)."""
        return int(math.isqrt(int(self.max_untiled_megapixels * 1e6)) // multiple * multiple)
