"""Issue 15 item 8: `invdn demo` denoises a bundled photo with the shipped default weights."""

from __future__ import annotations

import re

import numpy as np
import pytest

from invdn.cli.main import main
from invdn.inference.loading import default_weights_path
from invdn.io.images import read_image


@pytest.mark.skipif(not default_weights_path().is_file(), reason="no default weights installed")
def test_demo_writes_the_triptych_and_improves_psnr(tmp_path, capsys, monkeypatch):
    import invdn.evaluation.demo as demo

    real = demo.run_demo
    monkeypatch.setattr(demo, "run_demo", lambda out, **kw: real(out, crop=64, **kw))
    assert main(["demo", "-o", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    before, after = (float(v) for v in re.findall(r"PSNR\s+([\d.]+) dB", out))
    assert after > before + 2
    triptych = read_image(tmp_path / "d" / "demo.png")
    assert triptych.shape == (64, 3 * 64 + 16, 3)
    clean = read_image(tmp_path / "d" / "clean.png")
    np.testing.assert_array_equal(triptych[:, -64:], clean)
