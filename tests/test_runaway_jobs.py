"""Issue 15 items 3 and 5: absurd tilings refused up front, work estimates, a full disk stops
the batch, and the decompression-bomb message reports the header's own size."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from invdn.cli.main import main
from invdn.errors import InvdnError
from invdn.inference.pipeline import DenoiseOptions, Denoiser, RateMeter
from invdn.inference.tiling import check_tile_work
from invdn.io.images import read_image, write_image


def test_absurd_tilings_are_refused_before_any_work(tmp_path, tiny, capsys):
    with pytest.raises(InvdnError, match="tile=8 splits 1024x1024 into 65,025 tiles, more than 10,000"):
        check_tile_work(1024, 1024, 8, 4, 4)
    with pytest.raises(InvdnError, match=r"overlap=32 is 7\d% of the work"):
        check_tile_work(1024, 1024, 64, 32, 4)
    assert check_tile_work(1024, 1024, 512, 32, 4).tiles == 9   # the default is fine
    assert check_tile_work(12, 12, 8, 4, 4).tiles == 4          # small grids are never refused
    # the command refuses a 1024² image at --tile 8 --overlap 4 without writing anything
    write_image(tmp_path / "big.png", np.zeros((1024, 1024, 3), np.uint8))
    calls = []
    denoiser = Denoiser(tiny[0], DenoiseOptions(tile=8, overlap=4), "cpu")
    denoiser.model.register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(InvdnError, match="tiles"):
        denoiser.plan([(1024, 1024)])
    assert main(["denoise", str(tmp_path / "big.png"), "-o", str(tmp_path / "out"),
                 "--checkpoint", str(tiny[1]), "--tile", "8", "--overlap", "4", "-q"]) == 2
    assert "--tile 8 splits 1024x1024 into 65,025 tiles, more than 10,000; use a larger tile " \
        "(e.g. the default --tile 512) or --tile 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not calls


def test_large_jobs_get_an_estimate_from_their_first_tiles(tiny):
    denoiser = Denoiser(tiny[0], DenoiseOptions(samples=3), "cpu")
    assert denoiser.overlap > 0  # measured on the network once (two small passes)
    calls = []
    hook = denoiser.model.register_forward_hook(lambda *a: calls.append(1))
    small = denoiser.plan([(64, 64)])
    assert small.seconds is None and small.passes == 2  # (1 forward + 3 inverses) / 2
    assert not small.wanted
    big = denoiser.plan([(3000, 4000)] * 2, measure_above=1.0)
    assert big.images == 2 and big.megapixels > 24 and big.wanted and not big.measured
    assert not calls  # planning runs nothing: no timing probe on a cold model
    ready = []
    tiled = Denoiser(tiny[0], DenoiseOptions(samples=3, tile=32), "cpu", per_call=1)
    tiled.meter = RateMeter(ready.append)
    tiled(np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8))
    hook.remove()
    assert len(calls) > 3 and len(ready) == 1 and len(ready[0]) == 2  # one warm-up, two timed
    measured = big.measured_with(ready[0])
    assert measured.measured and measured.rate > 0
    # an estimate, or (on a machine too busy to back one) the reason there is none
    assert ("about" in measured.describe() and "first tiles" in measured.describe()) or \
        "no time estimate" in measured.describe()


def test_disk_full_stops_the_batch_and_says_how_many_were_not_done(tmp_path, tiny, capsys,
                                                                   monkeypatch):
    import invdn.inference.files as files

    for i in range(5):
        write_image(tmp_path / "in" / f"{i}.png", np.full((8, 8, 3), 40 * i, np.uint8))
    real_write, calls = files.write_image, []

    def write(path, *args, **kwargs):
        calls.append(path)
        if len(calls) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, *args, **kwargs)

    monkeypatch.setattr(files, "write_image", write)
    denoised = []
    monkeypatch.setattr(Denoiser, "__call__",
                        lambda self, img, progress=None: denoised.append(1) or img)
    code = main(["denoise", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                 "--checkpoint", str(tiny[1]), "-q"])
    out, err = capsys.readouterr()
    # outputs are written while the next image computes: the image computed while the third
    # write failed is dropped (not done), and no work starts after the full disk is known
    assert code == 1 and len(calls) == 3 and len(denoised) == 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "1.png"]
    assert "2 written" in out and "3 not done" in out
    assert "no space left on the device" in err and "3 not done" in err


def test_decompression_bomb_message_reports_the_header_size(tmp_path):
    import corpus

    path = tmp_path / "bomb.png"
    path.write_bytes(corpus.huge_png_header(100_000, 100_000))  # 10,000 MP
    with pytest.raises(InvdnError) as info:
        read_image(path, max_megapixels=100)
    assert "claims 10,000 MP" in str(info.value) and "179" not in str(info.value)
