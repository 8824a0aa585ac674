"""`invdn explain`: the ReLU-collapse experiment and both commands end to end."""

import json

import matplotlib.image
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from invdn.analysis.explain import relu_collapse
from invdn.cli.main import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _valid_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert img.std() > 0.01  # something was drawn


def test_relu_collapse_error_falls_with_dimension():
    rows = relu_collapse.run(dims=(2, 30), trials=20, seed=0, points=400)["rows"]
    low, high = rows[0]["relu_error"], rows[1]["relu_error"]
    assert low > 0.15  # in two dimensions whole arcs collapse
    assert high < low / 3


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 2**32 - 1))
def test_linear_path_is_lossless(n, seed):
    rng = np.random.default_rng(seed)
    x = relu_collapse.spiral(200)
    T = rng.standard_normal((n, 2))
    W = rng.standard_normal((n - n // 2, n // 2)) * 10
    assert np.abs(relu_collapse.coupling_roundtrip(x, T, W) - x).max() <= 1e-10


def test_run_reports_lossless_linear_path():
    for row in relu_collapse.run(dims=(2, 3, 15), trials=3, points=300)["rows"]:
        assert row["coupling_error"] <= 1e-10 and row["coupling_raw_error"] <= 1e-10


def test_cli_relu_collapse_writes_png_and_json(tmp_path, capsys):
    out = tmp_path / "figs" / "relu.png"
    assert main(["explain", "relu-collapse", "--trials", "2", "--points", "200",
                 "--dims", "2", "30", "-o", str(out), "--json"]) == 0
    _valid_png(out)
    report = json.loads(capsys.readouterr().out)
    assert [r["n"] for r in report["rows"]] == [2, 30]
    assert report["figure"] == str(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["relu.png"]


def test_cli_memory_writes_png_and_table(tmp_path, capsys):
    out = tmp_path / "memory.png"
    assert main(["explain", "memory", "--blocks", "1", "--size", "16", "--width", "8",
                 "--repeats", "1", "--threads", "1", "-o", str(out)]) == 0
    _valid_png(out)
    table = capsys.readouterr().out
    for mode in ("standard", "reversible", "checkpoint"):
        assert mode in table


def test_cli_rejects_bad_output_and_values(tmp_path, capsys):
    assert main(["explain", "relu-collapse", "-o", str(tmp_path / "x.jpg")]) == 2
    assert "name it with one of .png" in capsys.readouterr().err
    assert main(["explain", "relu-collapse", "--dims", "1", "5", "-o",
                 str(tmp_path / "x.png")]) == 2
    assert "--dims" in capsys.readouterr().err
    assert main(["explain", "memory", "--size", "30", "-o", str(tmp_path / "m.png")]) == 2
    assert list(tmp_path.iterdir()) == []
