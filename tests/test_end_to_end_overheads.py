"""Issue 27 point 2: the end-to-end overheads of `invdn denoise` removed without changing its
outputs: tiles fitted to the image, the overlap measured on the network, several tiles per
network call, files read and written on threads while the network runs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from invdn.inference.batch import Job, run_pipelined
from invdn.inference.context import (
    context_overlap,
    overlap_from_profile,
    seam_profile,
)
from invdn.inference.pipeline import DenoiseOptions, Denoiser
from invdn.inference.tiling import (
    check_tiling,
    fit_tile,
    ramp,
    tile_grid,
    tile_starts,
    tile_work,
)


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 3000), tile=st.sampled_from([16, 64, 256, 512]),
       frac=st.floats(0, 0.5), multiple=st.sampled_from([1, 2, 4]))
def test_fitted_tiles_cover_with_the_overlap_asked_for(length, tile, frac, multiple):
    length = -(-length // multiple) * multiple
    tile, overlap = check_tiling(tile, int(tile * frac), multiple)
    grid = tile_grid(length, 7 * multiple, tile, overlap, multiple)
    size = grid[0][2]
    starts = sorted({g[0] for g in grid})
    assert size <= tile or len(starts) == 1
    assert size % multiple == 0 and all(s % multiple == 0 for s in starts)
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(b - a <= size - overlap for a, b in zip(starts, starts[1:], strict=False))
    # as many tiles as full-size tiles would need, no more
    assert len(starts) == len(tile_starts(length, tile, overlap, multiple))


def test_fitted_tiles_redo_few_pixels():
    # 3 MP (2048 x 1536) at tile 512: full-size tiles overlapped by up to 128 px (1.67x the
    # pixels); fitted ones by the overlap asked for
    assert fit_tile(2048, 512, 40, 2) == 444 and fit_tile(1536, 512, 40, 2) == 416
    assert tile_work(1536, 2048, 512, 40, 2).factor < 1.2
    assert fit_tile(300, 512, 40, 2) == 300 and fit_tile(600, 0, 40, 2) == 600


def test_batched_tiles_give_the_same_output(tiny):
    img = np.random.default_rng(0).integers(0, 256, (72, 100, 3), dtype=np.uint8)
    options = DenoiseOptions(tile=32, overlap=8, samples=2, self_ensemble=True, seed=3)
    one = Denoiser(tiny[0], options, "cpu", per_call=1)
    calls = []
    hook = tiny[0].register_forward_pre_hook(lambda _m, a: calls.append(a[0].shape[0]))
    try:
        batched = Denoiser(tiny[0], options, "cpu", per_call=5)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
        a = one.denoise_tensor(x, key=(1, 2))
        n_one = len(calls)
        b = batched.denoise_tensor(x, key=(1, 2))
    finally:
        hook.remove()
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert max(calls[n_one:]) == 5 and len(calls[n_one:]) < n_one


def test_tiles_per_call_follow_the_device_budget(tiny):
    d = Denoiser(tiny[0], DenoiseOptions(), "cpu")
    assert d.tiles_per_call(512 * 512) == 1 and d.tiles_per_call(256 * 256) == 4
    assert d.tiles_per_call(1024 * 1024) == 1
    assert Denoiser(tiny[0], DenoiseOptions(), "cpu", per_call=3).tiles_per_call(64) == 3


def test_overlap_from_a_seam_profile():
    assert overlap_from_profile(torch.zeros(64), 4) == 0  # no reach: no overlap
    far = torch.full((64,), 10.0)
    assert overlap_from_profile(far, 4) == 64  # never under the tolerance: the longest probed
    step = torch.where(torch.arange(64) < 10, 5.0, 0.0)  # errors up to 10 px from the cut
    n = overlap_from_profile(step, 2)

    def seam(n: int) -> float:  # the blended error bound of two tiles overlapping by n
        w, k = ramp(n), torch.arange(n)
        return float((w * step[k] + (1 - w) * step[n - 1 - k]).max())

    assert n % 2 == 0 and seam(n) < 0.1 <= seam(n - 2)  # the smallest that does
    assert 32 <= n <= 40  # the zero-weight quarter about covers the disturbed band
    assert overlap_from_profile(step, 2, tolerance=10.0) == 0


class Pointwise(nn.Module):
    """A network with no spatial reach: its tiles need no overlap."""

    multiple = 1

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return x * self.scale


def test_the_overlap_is_measured_on_the_network_and_cached(tiny):
    assert context_overlap(Pointwise()) == 0
    e = seam_profile(tiny[0])
    assert e[0] > 1 and e[-1] < 0.01  # disturbed at the cut, not far from it
    calls = []
    hook = tiny[0].register_forward_hook(lambda *a: calls.append(1))
    try:
        first = context_overlap(tiny[0])
        n = len(calls)
        assert context_overlap(tiny[0]) == first and len(calls) == n  # cached
    finally:
        hook.remove()
    assert first % tiny[0].multiple == 0 and 0 < first <= 128
    # the Denoiser takes it when no overlap is given, at most half the tile; never measures
    # for images that fit in one tile
    assert Denoiser(tiny[0], DenoiseOptions(tile=512), "cpu").overlap == first
    assert Denoiser(tiny[0], DenoiseOptions(tile=64), "cpu").overlap == min(first, 32)
    assert Denoiser(tiny[0], DenoiseOptions(tile=64, overlap=8), "cpu").overlap == 8
    assert Denoiser(Pointwise(), DenoiseOptions(tile=64), "cpu").overlap_for(64, 64) == 0


def test_pipelined_batch_reads_and_writes_beside_the_compute(tmp_path):
    jobs = [Job(tmp_path / f"{i}.in", tmp_path / f"{i}.out") for i in range(5)]
    threads, computed, saved, lines = [], [], [], []

    def load(job):
        threads.append(threading.current_thread().name)
        if job.source.name == "1.in":
            raise ValueError("cannot decode")
        return job.source.name

    def compute(job, loaded):
        assert threading.current_thread() is threading.main_thread()
        if loaded == "3.in":
            raise RuntimeError("network failed")
        computed.append(loaded)
        return loaded.upper()

    def save(job, out):
        threads.append(threading.current_thread().name)
        if out == "4.IN":
            raise OSError(5, "I/O error")
        saved.append(out)

    result = run_pipelined(jobs, load, compute, save, lines.append)
    assert computed == ["0.in", "2.in", "4.in"] and saved == ["0.IN", "2.IN"]
    assert (result.written, result.failed, result.stopped) == (2, 3, None)
    assert [line.split(":")[1].strip() for line in lines] == [
        str(tmp_path / "1.in"), str(tmp_path / "3.in"), str(tmp_path / "4.in")]  # job order
    assert all(name.startswith(("invdn-load", "invdn-save")) for name in threads)


@pytest.mark.parametrize("size", [(40, 30), (130, 70)])
def test_denoise_files_output_is_the_denoisers(tmp_path, tiny, size):
    from invdn import denoise_files
    from invdn.io.images import read_image, write_image

    imgs = [np.random.default_rng(i).integers(0, 256, (*size, 3), dtype=np.uint8)
            for i in range(3)]
    for i, img in enumerate(imgs):
        write_image(tmp_path / "in" / f"{i}.png", img)
    options = DenoiseOptions(tile=32, seed=2)
    result = denoise_files([tmp_path / "in"], tmp_path / "out", checkpoint=tiny[0],
                           options=options, device="cpu", notice=print)
    assert result.written == 3
    denoiser = Denoiser(tiny[0], options, "cpu")
    for i, img in enumerate(imgs):
        np.testing.assert_array_equal(read_image(tmp_path / "out" / f"{i}.png"), denoiser(img))
