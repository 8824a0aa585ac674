"""A reproducible Gaussian latent for a whole image that any tile can slice without drawing it all.

The latent grid is cut into fixed blocks; each block's N(0, I) values come from a generator
seeded by (seed, image key, draw, block position). A tile asks for its region and gets exactly the
values the untiled run would use, so tiling changes nothing but the context at tile borders, and
a given seed gives the same output on every device and for every tiling.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor

BLOCK = 32  # latent pixels per block side: small enough to waste little at tile edges


def image_key(img: np.ndarray) -> tuple[int, int]:
    """Two 32-bit words from a hash of the image's pixels, so each image gets its own latent
    independent of its name and of the order files are processed in."""
    digest = hashlib.blake2b(np.ascontiguousarray(img).data, digest_size=8).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")


class LatentField:
    """N(0, I) latent values `(channels, ·, ·)` over an unbounded latent grid, per draw.

    `seed` is any non-negative integer; `key` separates images (see :func:`image_key`).
    """

    def __init__(self, channels: int, seed: int, key: tuple[int, ...] = ()) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.channels, self.seed, self.key = channels, int(seed), tuple(int(k) for k in key)

    def _block(self, draw: tuple[int, ...], by: int, bx: int) -> Tensor:
        entropy = [self.seed, *self.key, *draw, by, bx]
        state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
        gen = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        return torch.randn((self.channels, BLOCK, BLOCK), generator=gen)

    def region(self, y0: int, x0: int, h: int, w: int, draw: tuple[int, ...] = ()) -> Tensor:
        """The latent at rows `[y0, y0+h)`, columns `[x0, x0+w)` for draw `draw`: `(1, C, h, w)`
        float32 on the CPU."""
        out = torch.empty((1, self.channels, h, w))
        for by in range(y0 // BLOCK, (y0 + h - 1) // BLOCK + 1):
            for bx in range(x0 // BLOCK, (x0 + w - 1) // BLOCK + 1):
                block = self._block(draw, by, bx)
                # intersection of the block and the region, in image-latent coordinates
                ya, yb = max(y0, by * BLOCK), min(y0 + h, (by + 1) * BLOCK)
                xa, xb = max(x0, bx * BLOCK), min(x0 + w, (bx + 1) * BLOCK)
                out[0, :, ya - y0 : yb - y0, xa - x0 : xb - x0] = block[
                    :, ya - by * BLOCK : yb - by * BLOCK, xa - bx * BLOCK : xb - bx * BLOCK]
        return out
