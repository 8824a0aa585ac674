"""`invdn export`: TorchScript and ONNX round trips with dynamic batch/height/width."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from invdn.cli.main import main
from invdn.inference.export import DenoiseGraph, example_inputs, export_model
from invdn.io.weights import model_config, save_weights
from invdn.nn import DANetDenoiser


def test_torchscript_roundtrip(tmp_path, tiny, capsys):
    model, weights = tiny
    out = tmp_path / "invdn.ts"
    assert main(["export", "--checkpoint", str(weights), "--format", "torchscript",
                 "-o", str(out)]) == 0
    assert "verified against PyTorch" in capsys.readouterr().out
    loaded = torch.jit.load(str(out))
    noisy, latent = example_inputs(model, 3, 20, 36, seed=7)
    with torch.no_grad():
        expected = DenoiseGraph(model)(noisy, latent)
        torch.testing.assert_close(loaded(noisy, latent), expected, atol=1e-5, rtol=0)
    assert expected.min() >= 0 and expected.max() <= 1
    # the exported pass is InvDN's denoising with that latent
    lr, _ = model(noisy)
    torch.testing.assert_close(expected, model.inverse(lr, latent).clamp(0, 1))


def test_onnx_roundtrip_with_metadata(tmp_path, tiny, capsys):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model, weights = tiny
    out = tmp_path / "invdn.onnx"
    assert main(["export", "--checkpoint", str(weights), "--format", "onnx", "-o", str(out),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] and report["max_abs_diff"] <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["invdn_model"]) == model_config(model)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    noisy, latent = example_inputs(model, 1, 44, 12, seed=3)
    got = session.run(None, {"noisy": noisy.numpy(), "latent": latent.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), DenoiseGraph(model)(noisy, latent),
                                   atol=1e-4, rtol=0)


def test_onnx_without_onnxruntime_skips_verification(tmp_path, tiny, monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    report = export_model(tiny[0], tmp_path / "m.onnx", "onnx", 16, 16)
    assert report["verified"] is False and "skipped" in report["note"]
    assert (tmp_path / "m.onnx").stat().st_size > 0


def test_onnx_without_onnx_is_a_clear_error(tmp_path, tiny, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", "--checkpoint", str(tiny[1]), "--format", "onnx",
                 "-o", str(tmp_path / "m.onnx")]) == 2
    assert "invdn[onnx]" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_lightning_checkpoint_and_refusals(tmp_path, tiny, capsys):
    model, _ = tiny
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"model." + k: v for k, v in model.state_dict().items()},
                "hyper_parameters": {"model": model_config(model)}}, ckpt)
    out = tmp_path / "m.ts"
    args = ["export", "--checkpoint", str(ckpt), "--format", "torchscript", "-o", str(out)]
    assert main(args) == 0
    assert main(args) == 2  # exists
    assert main([*args, "--overwrite"]) == 0
    danet = tmp_path / "danet.pt"
    save_weights(DANetDenoiser(wf=4, depth=3), danet)
    assert main(["export", "--checkpoint", str(danet), "--format", "onnx",
                 "-o", str(tmp_path / "d.onnx")]) == 2
    assert main(["export", "--checkpoint", str(ckpt), "--format", "onnx",
                 "-o", str(tmp_path / "x.onnx"), "--example-size", "30", "30"]) == 2
    err = capsys.readouterr().err
    assert "no latent" in err and "multiples of 4" in err
    assert not list(tmp_path.glob(".*tmp"))


def test_weights_export_from_lightning_checkpoint_half_and_full(tmp_path, tiny, capsys):
    model, _ = tiny
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"model." + k: v for k, v in model.state_dict().items()},
                "hyper_parameters": {"model": model_config(model)},
                "optimizer_states": [{"state": {0: torch.zeros(1000)}}]}, ckpt)
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    assert main(["export", "--checkpoint", str(ckpt), "--format", "weights", "-o", str(full)]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["export", "--checkpoint", str(ckpt), "--format", "weights", "--half",
                 "-o", str(half), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dtype"] == "float16" and report["bytes"] == half.stat().st_size
    assert half.stat().st_size < 0.75 * full.stat().st_size
    assert 0 < report["max_abs_diff"] < 0.05 and report["psnr_vs_float32"] > 40
    from invdn.io.weights import load_model

    reloaded = load_model(half)
    for (k, a), b in zip(model.state_dict().items(), reloaded.state_dict().values(), strict=True):
        assert b.dtype == a.dtype and torch.allclose(a, b, rtol=1e-3, atol=1e-4), k
    assert main(["export", "--checkpoint", str(ckpt), "--format", "onnx", "--half",
                 "-o", str(tmp_path / "x.onnx")]) == 2
    assert "--half applies to --format weights" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists() and not list(tmp_path.glob(".*tmp"))
