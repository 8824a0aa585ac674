"""Processing a large image tile by tile with overlapping, smoothly blended tiles.

Peak memory then depends on the tile size, not the image size. Tiles form a regular grid whose
starts and sizes are multiples of the network's size multiple, so a tile's latent region lines up
with the latent grid of the whole image. The tile size is the largest allowed (`tile`) shrunk to
what the image needs with that many tiles (:func:`fit_tile`), so neighbours share about the
overlap asked for, not whatever a last full-size tile leaves (2048 px at tile 512 and overlap 32
are five tiles of 440 px for a network of multiple 4, 7 % more pixels, not five of 512, 25 %).
In each overlap the two tiles are cross-faded with a raised-cosine ramp over the middle half of
the overlap; the outer quarter of each tile's overlap (where its missing context disturbs it
most) gets zero weight.
Tiles of one grid have one size, so several can go through the network in one call
(:func:`run_tiles`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from invdn.errors import OptionError

TileFn = Callable[[Tensor, int, int], Tensor]
# patches `(B, C, th, tw)` and their `(y0, x0)` → outputs `(B, C', th, tw)`
BatchFn = Callable[[Tensor, list[tuple[int, int]]], Tensor]

# Beyond these a tiling is a mistake, not a choice: `--tile 8 --overlap 4` on a 1024² photo is
# 65,025 tiles that compute every pixel 4 times (about ten minutes of nothing useful).
MAX_TILES = 10_000
MAX_WORK_FACTOR = 3.0   # processed pixels / image pixels (512/32 tiles: 1.1 to 2.3)
SMALL_GRID = 64         # grids this small are never refused: the waste is bounded


def tile_starts(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Starts of tiles of size `min(tile, length)` covering `[0, length)` with at least `overlap`
    shared pixels between neighbours, evenly spread, each a multiple of `multiple`."""
    if tile <= 0 or tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile), got overlap={overlap}, tile={tile}")
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    last = (length - tile) // multiple
    return [round(i * last / (count - 1)) * multiple for i in range(count)]


def fit_tile(length: int, tile: int, overlap: int, multiple: int = 1) -> int:
    """The tile size along an axis of `length`: with as many tiles as tiles of `tile` need
    (overlapping by at least `overlap`), the smallest multiple of `multiple` that still covers
    it with that overlap once the starts are rounded to `multiple`; at most `tile`."""
    if tile <= 0 or tile >= length:
        return length
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    need = -(-(length + (count - 1) * (overlap + multiple)) // count)
    return min(-(-need // multiple) * multiple, tile)


def ramp(n: int) -> Tensor:
    """Rising weights over an overlap of `n` pixels: 0 on the first quarter, a raised cosine over
    the middle half, 1 on the last quarter. `ramp + ramp.flip(0) == 1`."""
    u = (torch.arange(n, dtype=torch.float64) + 0.5 - n / 4) / max(n / 2, 1e-9)
    return 0.5 - 0.5 * torch.cos(math.pi * u.clamp(0, 1))


def axis_weights(starts: list[int], size: int, length: int) -> list[Tensor]:
    """Per-tile 1-D blending weights along one axis, normalised so they sum to 1 everywhere."""
    weights = []
    for i, s in enumerate(starts):
        w = torch.ones(size, dtype=torch.float64)
        if i > 0:
            n = starts[i - 1] + size - s
            w[:n] *= ramp(n)
        if i < len(starts) - 1:
            n = s + size - starts[i + 1]
            w[size - n :] *= ramp(n).flip(0)
        weights.append(w)
    total = torch.zeros(length, dtype=torch.float64)
    for s, w in zip(starts, weights, strict=True):
        total[s : s + size] += w
    return [(w / total[s : s + size]).float() for s, w in zip(starts, weights, strict=True)]


def tile_grid(height: int, width: int, tile: int, overlap: int, multiple: int = 1
              ) -> list[tuple[int, int, int, int]]:
    """`(y0, x0, th, tw)` of every tile for an image of `height` x `width`: tiles of at most
    `tile` (0: one tile), fitted to the image (:func:`fit_tile`)."""
    th, tw = (fit_tile(height, tile, overlap, multiple), fit_tile(width, tile, overlap, multiple))
    return [(y, x, th, tw) for y in tile_starts(height, th, overlap, multiple)
            for x in tile_starts(width, tw, overlap, multiple)]


@dataclass(frozen=True)
class TileWork:
    """How much computing a tiling costs: `tiles` network calls processing `factor` times the
    image's pixels (1.0: no overlap)."""

    tiles: int
    factor: float


def tile_work(height: int, width: int, tile: int, overlap: int, multiple: int = 1) -> TileWork:
    """The :class:`TileWork` of tiling a `height` x `width` image."""
    grid = tile_grid(height, width, tile, overlap, multiple)
    th, tw = grid[0][2:]
    return TileWork(len(grid), len(grid) * th * tw / max(height * width, 1))


def check_tile_work(height: int, width: int, tile: int, overlap: int, multiple: int = 1) -> TileWork:
    """The tiling's :class:`TileWork`; InvdnError when it is absurd (more than MAX_TILES tiles,
    or overlap making up most of the work on more than SMALL_GRID tiles)."""
    work = tile_work(height, width, tile, overlap, multiple)
    if work.tiles > MAX_TILES:
        larger = _fitting_tile(height, width, tile, overlap, multiple)
        fix = ("use a larger tile (e.g. the default {name}512) or {name}0" if larger == 512 else
               f"use a larger tile (e.g. {{name}}{larger}) or {{name}}0" if larger else
               "use {name}0")
        raise OptionError("tile", tile, f"splits {width}x{height} into {work.tiles:,} tiles, "
                          f"more than {MAX_TILES:,}; {fix}")
    if work.tiles > SMALL_GRID and work.factor > MAX_WORK_FACTOR:
        share = 1 - 1 / work.factor
        raise OptionError("overlap", overlap, f"is {share:.0%} of the work on {width}x{height} "
                          f"in {work.tiles:,} tiles of {tile} px (each pixel computed "
                          f"{work.factor:.1f} times); use a smaller overlap or a larger tile "
                          "(default 512, overlap measured on the network)")
    return work


def _fitting_tile(height: int, width: int, tile: int, overlap: int, multiple: int) -> int:
    """The smallest of 512, 1024, 2048… (above `tile`, below the image's longer side) that this
    check accepts, to suggest instead of a refused tile (suggesting the default 512 for a
    100,000² image at 512 named the refused value); 0 when none is."""
    candidate = 512
    while candidate < max(height, width):
        if candidate > tile:
            work = tile_work(height, width, candidate, overlap, multiple)
            if work.tiles <= MAX_TILES and (work.tiles <= SMALL_GRID
                                            or work.factor <= MAX_WORK_FACTOR):
                return candidate
        candidate *= 2
    return 0


def check_tiling(tile: int, overlap: int, multiple: int = 1,
                 suggest_for: int | None = None) -> tuple[int, int]:
    """The one check of `tile`/`overlap` in pixels (tile 0: no tiling): OptionError unless
    tile >= 0 is a multiple of the network's `multiple` and 0 <= overlap <= tile / 2. Returns
    them with the overlap rounded up to a multiple of `multiple` (at most half the tile).

    The tile is checked first, so a bad tile is blamed on the tile and not on the (default)
    overlap; a suggested tile is one this check accepts with the given overlap (or with
    `suggest_for`, the overlap to expect where it is measured later)."""
    if tile < 0:
        raise OptionError("tile", tile, "must be >= 0 (0 disables tiling)")
    if overlap < 0:
        raise OptionError("overlap", overlap, "must be >= 0")
    if tile == 0:
        return 0, 0
    if tile % multiple:
        expected = overlap if suggest_for is None else suggest_for
        raise OptionError("tile", tile, f"must be a multiple of {multiple}, this network's size "
                          f"multiple (0 disables tiling); e.g. {{name}}"
                          f"{suggest_tile(tile, expected, multiple)}")
    if 2 * overlap > tile:
        raise OptionError("overlap", overlap, f"must be in 0..{tile // 2} (half the tile {tile}); "
                          f"lower it, or use a tile of at least "
                          f"{-(-2 * overlap // multiple) * multiple}")
    return tile, min(-(-overlap // multiple), tile // 2 // multiple) * multiple


def suggest_tile(tile: int, overlap: int, multiple: int = 1) -> int:
    """The tile to suggest for a refused `tile`: the next multiple of `multiple`, unless that is
    under twice `overlap` (which would be refused in turn); then the default 512 or, for a
    larger overlap, the smallest tile that takes it."""
    up = -(-tile // multiple) * multiple
    if up >= 2 * overlap:
        return up
    return max(512, -(-2 * overlap // multiple) * multiple)


def run_tiled(x: Tensor, fn: TileFn, tile: int, overlap: int, multiple: int = 1,
              progress: Callable[[list], Iterable] | None = None) -> Tensor:
    """Apply `fn(patch, y0, x0) -> patch_out` over tiles of `x` `(1, C, H, W)` and blend: one
    tile per call of :func:`run_tiles`."""
    return run_tiles(x, lambda patches, origins: fn(patches, *origins[0]), tile, overlap,
                     multiple, progress)


def run_tiles(x: Tensor, fn: BatchFn, tile: int, overlap: int, multiple: int = 1,
              progress: Callable[[list], Iterable] | None = None,
              per_call: int = 1) -> Tensor:
    """Apply `fn(patches, origins) -> outputs` over tiles of `x` `(1, C, H, W)`, up to
    `per_call` tiles at a time stacked `(B, C, th, tw)` with their `(y0, x0)`, and blend.

    H and W must be multiples of `multiple`; `fn` returns `(B, C', th, tw)` (any channel
    count), on any device; the result is assembled on `x`'s device. `tile` = 0 runs `fn` once
    on the whole image. `progress(tiles)` may wrap the tile list (a progress bar): the next
    tile is asked of it once the tiles before it are blended. InvdnError before any work when
    the tiling is absurd (:func:`check_tile_work`).
    """
    h, w = x.shape[-2:]
    check_tile_work(h, w, tile, overlap, multiple)
    grid = tile_grid(h, w, tile, overlap, multiple)
    if len(grid) == 1:
        return fn(x, [(0, 0)]).to(x.device)
    _, _, th, tw = grid[0]
    ys = sorted({g[0] for g in grid})
    xs = sorted({g[1] for g in grid})
    wy = dict(zip(ys, axis_weights(ys, th, h), strict=True))
    wx = dict(zip(xs, axis_weights(xs, tw, w), strict=True))
    out: Tensor | None = None
    ticks = iter(grid if progress is None else progress(grid))
    per_call = max(1, per_call)
    for first in range(0, len(grid), per_call):
        batch = grid[first : first + per_call]
        next(ticks)  # the batch's first tile: the ones before it are blended
        patches = torch.cat([x[..., y0 : y0 + th, x0 : x0 + tw] for y0, x0, _, _ in batch])
        outputs = fn(patches, [(y0, x0) for y0, x0, _, _ in batch]).to(x.device, torch.float32)
        for (y0, x0, _, _), patch in zip(batch, outputs, strict=True):
            if out is None:
                out = torch.zeros((1, patch.shape[0], h, w), dtype=torch.float32,
                                  device=x.device)
            weight = wy[y0].to(x.device)[:, None] * wx[x0].to(x.device)[None, :]
            out[0, :, y0 : y0 + th, x0 : x0 + tw].addcmul_(patch, weight)
        for _ in batch[1:]:
            next(ticks)
    for _ in ticks:  # let a progress bar finish
        pass
    return out
