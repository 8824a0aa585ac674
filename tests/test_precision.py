"""bf16 inference: the fast path's reduced-precision convolutions, the precision option and its
resolution per device."""

import numpy as np
import pytest
import torch

from invdn import InvDN
from invdn.errors import InvdnError
from invdn.inference import device as device_mod
from invdn.inference.device import resolve_precision
from invdn.inference.pipeline import DenoiseOptions, Denoiser
from invdn.nn import fast
from invdn.nn.danet import DANetDenoiser

BF16 = torch.bfloat16
CPU = torch.device("cpu")


def bf16():
    return torch.autocast("cpu", dtype=BF16)


def model_of(**kwargs) -> InvDN:
    torch.manual_seed(0)
    model = InvDN(**kwargs).eval()
    # small last convolutions keep random blocks near the identity, like trained ones; random
    # full-size weights amplify a latent enormously and say little about rounding
    with torch.no_grad():
        for layer in model.layers:
            for net in (getattr(layer, n, None) for n in "FGH"):
                if net is not None:
                    net.last_conv.weight.mul_(0.1)
    return model


VARIANTS = [dict(levels=1, blocks=[8]), dict(levels=1, blocks=[3], keep=6),
            dict(levels=2, blocks=[2, 2], width=16)]


@pytest.mark.parametrize("cfg", VARIANTS)
def test_bf16_round_trip_stays_exact(cfg):
    """Forward and inverse share the same bf16 F, G, H and keep the coupling arithmetic in
    float32, so the inverse undoes the forward closely: only where a reconstructed input lands
    on the other side of a bf16 rounding boundary (1 bf16 step, ~4e-3 relative) does an error
    enter, far below a grey level (a float32 state would not even hold 8-bit levels: ~1e-2)."""
    model = model_of(**cfg)
    x = torch.rand(2, 3, 32, 24)
    with torch.no_grad(), bf16():
        lr, z = model(x)
        assert lr.dtype == z.dtype == torch.float32
        back = model.inverse(lr, z)
    assert (back - x).abs().max() <= 1e-3


@pytest.mark.parametrize("cfg", VARIANTS)
def test_bf16_close_to_fp32(cfg):
    model = model_of(**cfg)
    x = torch.rand(1, 3, 32, 32)
    z = torch.randn(1, model.latent_channels, 32 // model.multiple, 32 // model.multiple)
    with torch.no_grad():
        lr32, z32 = model(x)
        out32 = model.inverse(lr32, z)
        with bf16():
            lr16, z16 = model(x)
            out16 = model.inverse(lr32, z)
    for a, b in ((lr16, lr32), (z16, z32), (out16, out32)):
        err = (a - b).abs().max() / b.abs().max()
        assert 0 < err <= 1e-2  # not equal: the bf16 convolutions really ran


def test_prepared_weights_are_cached_and_follow_updates():
    model = model_of(levels=1, blocks=[2], width=8)
    x = torch.rand(1, 3, 16, 16)
    first = fast._levels(model, BF16)
    assert fast._levels(model, BF16) is first  # no per-call re-casting
    assert fast._levels(model, torch.float32) is not first
    with torch.no_grad():
        before = model(x)[0]
        model.layers[1].F.conv1.weight.add_(0.5)  # in place: bumps the version counter
        after = model(x)[0]
        model.fast_inference = False
        reference = model(x)[0]
    assert not torch.allclose(before, after)
    assert (after - reference).abs().max() <= 1e-5
    other = model_of(levels=1, blocks=[2], width=8)
    other.layers[1].G.conv2.bias.data = torch.randn_like(other.layers[1].G.conv2.bias)
    model.load_state_dict(other.state_dict())
    model.fast_inference = True
    with torch.no_grad():
        fast_out = model(x)[0]
        model.fast_inference = False
        assert (fast_out - model(x)[0]).abs().max() <= 1e-5


def test_resolve_precision(monkeypatch):
    assert resolve_precision("fp32", CPU) == torch.float32
    assert resolve_precision("bf16", CPU) == BF16
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", CPU) == BF16
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", CPU) == torch.float32
    with pytest.raises(InvdnError, match="precision"):
        resolve_precision("fp16", CPU)
    with pytest.raises(InvdnError, match="MPS"):
        resolve_precision("bf16", torch.device("mps"))
    with pytest.raises(InvdnError, match="precision"):
        DenoiseOptions(precision="half")


def test_cpu_bf16_detection_matches_cpuinfo():
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "").split()
    assert device_mod.cpu_has_native_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_auto_keeps_other_models_in_fp32(monkeypatch):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: True)
    assert Denoiser(model_of(levels=1, blocks=[1], width=8)).dtype == BF16
    assert Denoiser(DANetDenoiser(wf=4, depth=2), device="cpu").dtype == torch.float32
    dense = InvDN(levels=1, blocks=[1], subnet="dense")
    assert Denoiser(dense, device="cpu").dtype == torch.float32
    assert Denoiser(dense, DenoiseOptions(precision="bf16"), "cpu").dtype == BF16


def test_denoiser_bf16_within_a_few_levels_of_fp32():
    model = model_of(levels=1, blocks=[4], width=16)
    img = (np.random.default_rng(0).random((40, 36, 3)) * 255).astype(np.uint8)
    outs = {p: Denoiser(model, DenoiseOptions(tile=0, precision=p), "cpu")(img)
            for p in ("fp32", "bf16")}
    diff = np.abs(outs["fp32"].astype(int) - outs["bf16"].astype(int))
    assert 0 < diff.max() <= 3


def test_denoiser_bf16_on_models_without_fast_path():
    """Explicit bf16 runs any model under autocast and still returns float32-rounded images."""
    img = (np.random.default_rng(1).random((16, 16, 3)) * 255).astype(np.uint8)
    for model in (DANetDenoiser(wf=4, depth=2), InvDN(levels=1, blocks=[1], subnet="dense")):
        out = Denoiser(model, DenoiseOptions(tile=0, precision="bf16"), "cpu")(img)
        ref = Denoiser(model, DenoiseOptions(tile=0, precision="fp32"), "cpu")(img)
        assert out.dtype == np.uint8 and np.abs(out.astype(int) - ref.astype(int)).max() <= 4


def test_cli_precision_reaches_the_denoiser():
    import argparse

    from invdn.cli.common import denoise_options
    from invdn.cli.denoise import add_arguments

    model = model_of(levels=1, blocks=[1], width=8)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for flag, dtype in (("fp32", torch.float32), ("bf16", BF16)):
        args = parser.parse_args(["in.png", "-o", "out", "--precision", flag, "--device", "cpu"])
        assert Denoiser(model, denoise_options(args), args.device).dtype == dtype
    assert parser.parse_args(["in.png", "-o", "out"]).precision == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["in.png", "-o", "out", "--precision", "fp16"])
