"""Training-recipe levers: identity initialisation, injected optimizer/scheduler configs, EMA."""

import math

import pytest
import torch
from omegaconf import OmegaConf

from invdn.io.weights import load_model
from invdn.nn import InvDN
from invdn.nn.haar import haar_forward
from invdn.training.averaging import EMA, ema_callback
from invdn.training.config import compose_config
from invdn.training.run import train
from invdn.training.schedules import warmup_cosine
from tests.test_train_cli import tiny


@pytest.mark.parametrize("levels", [1, 2])
def test_identity_init_makes_every_block_the_identity(levels):
    model = InvDN(levels=levels, blocks=[2] * levels, width=8, init="identity")
    x = torch.rand(2, 3, 16, 16)
    expected = x
    for _ in range(levels):
        expected = haar_forward(expected)
    lr, z = model(x)
    torch.testing.assert_close(torch.cat((lr, z), 1), expected, rtol=0, atol=1e-6)
    # Only the last convolutions are zeroed: the rest still has its random start.
    block = model.layers[1]
    assert block.F.conv1.weight.abs().sum() > 0 and block.G.conv3.weight.abs().sum() == 0


def test_identity_init_is_not_part_of_the_config_and_bad_values_fail():
    assert "init" not in InvDN(width=8, blocks=[1, 1], init="identity").config
    with pytest.raises(ValueError, match="init must be one of default, identity"):
        InvDN(init="zeros")


def test_warmup_cosine_factors():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, total_steps=110, warmup_steps=10, min_factor=0.1)
    lrs = []
    for _ in range(120):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lrs[110] == pytest.approx(0.1) and lrs[119] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(total_steps=0), "total_steps=0 must be an integer >= 1"),
    (dict(total_steps=10, warmup_steps=10), "warmup_steps=10 must be below system.scheduler.total_steps=10"),
    (dict(total_steps=10, min_factor=2), "min_factor=2 must be a number in \\[0, 1\\]"),
])
def test_warmup_cosine_rejects_bad_values(kwargs, message):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match=message):
        warmup_cosine(opt, **kwargs)


def test_scheduler_config_drives_the_learning_rate(tmp_path):
    result = train(compose_config(tiny(tmp_path / "run", "system/scheduler=warmup_cosine",
                                       "system.scheduler.warmup_steps=2", "system.lr=0.01",
                                       "system/optimizer=adamw")))
    opt = result.system.optimizers()
    assert type(opt.optimizer).__name__ == "AdamW"
    # after 4 of 4 steps the cosine has reached min_factor × lr
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * 0.02)
    hp = result.system.hparams
    assert hp.scheduler["_target_"] == "invdn.training.schedules.warmup_cosine"
    assert hp.scheduler["total_steps"] == 4  # interpolated from trainer.max_steps


def test_ema_off_by_default_and_decay_checked():
    assert ema_callback(None) is None
    assert isinstance(ema_callback(0.9), EMA)
    with pytest.raises(ValueError, match=r"^callbacks.ema.decay=1.5 must be a number in \(0, 1\)"):
        EMA(1.5)


def test_ema_weights_are_validated_saved_and_loaded(tmp_path):
    result = train(compose_config(tiny(tmp_path / "run", "callbacks.ema.decay=0.9")))
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    averaged, current = state["state_dict"], state["current_model_state"]
    assert averaged.keys() == current.keys()
    assert any(not torch.equal(averaged[k], current[k]) for k in averaged)
    # After training the callback leaves the averaged weights in the model, and load_model
    # (every export and `denoise`) reads them.
    loaded = load_model(tmp_path / "run" / "checkpoints" / "last.ckpt").state_dict()
    for key, value in result.system.model.state_dict().items():
        torch.testing.assert_close(loaded[key], value, rtol=0, atol=0)
        torch.testing.assert_close(averaged[f"model.{key}"], value, rtol=0, atol=0)


def test_ema_resume_equals_uninterrupted(tmp_path):
    ema = "callbacks.ema.decay=0.9"
    full = train(compose_config(tiny(tmp_path / "full", ema, "trainer.max_steps=6")))
    train(compose_config(tiny(tmp_path / "half", ema)))
    resumed = train(compose_config(tiny(
        tmp_path / "resumed", ema, "trainer.max_steps=6",
        f"ckpt_path={tmp_path / 'half' / 'checkpoints' / 'last.ckpt'}")))
    a, b = full.system.model.state_dict(), resumed.system.model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


@pytest.mark.parametrize(("levels", "keep"), [(1, 6), (2, 12), (2, 3)])
def test_keep_splits_output_and_fast_path_agrees(levels, keep):
    torch.manual_seed(0)
    model = InvDN(levels=levels, blocks=[2] * levels, width=8, keep=keep).eval()
    x = torch.rand(2, 3, 16, 24)
    with torch.enable_grad():
        lr, z = model(x)
        back = model.inverse(lr, z)
    assert lr.shape[1] == keep and z.shape[1] == model.latent_channels == 3 * 4**levels - keep
    torch.testing.assert_close(back, x, rtol=0, atol=2e-6)
    with torch.no_grad():  # the inference fast path
        lr_fast, z_fast = model(x)
        torch.testing.assert_close(lr_fast, lr, rtol=0, atol=1e-5)
        torch.testing.assert_close(z_fast, z, rtol=0, atol=1e-5)
        torch.testing.assert_close(model.inverse(lr, z), back, rtol=0, atol=1e-5)
        g = torch.Generator().manual_seed(1)
        fast = model.denoise(x, generator=g)
        model.fast_inference = False
        plain = model.denoise(x, generator=g.manual_seed(1))
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-5)
    assert ("keep" in model.config) == (keep != 3)


def test_keep_out_of_range_fails():
    with pytest.raises(ValueError, match=r"keep must be in \[3, 12\)"):
        InvDN(levels=1, blocks=[1], keep=12)


def test_forward_loss_supervises_the_image_channels_of_a_wider_lr():
    from invdn.training.losses import DenoisingLoss

    model = InvDN(levels=1, blocks=[1], width=8, keep=6)
    clean = torch.rand(2, 3, 16, 16)
    parts = DenoisingLoss()(model, clean, clean)
    assert torch.isfinite(parts["forw"]) and parts["loss"].requires_grad


def test_danet_baseline_shares_the_shipped_recipe():
    """The mission's comparison: the DANet-sized baseline trains on the shipped default's data
    with its recipe; only the model, learning rate and run length differ."""
    def composed(experiment):
        cfg = OmegaConf.to_container(compose_config([f"experiment={experiment}", "run_dir=r"]),
                                     resolve=True)
        del cfg["system"]["scheduler"]["total_steps"]  # trainer.max_steps, compared below
        return cfg

    invdn, danet = composed("shipped"), composed("baseline_danet")
    assert invdn["model"]["_target_"].endswith("InvDN")
    assert danet["model"]["_target_"].endswith("DANetDenoiser")
    for key in ("data", "loss", "callbacks"):
        assert danet[key] == invdn[key], key
    differs = {k for k in invdn["system"] if danet["system"][k] != invdn["system"][k]}
    assert differs == {"lr"}
    assert {k for k in invdn["trainer"] if danet["trainer"][k] != invdn["trainer"][k]} == \
        {"max_steps", "max_time"}
    # equal wall time with the shipped default's first two stages (50 min 29 s + 87 min 41 s)
    assert danet["trainer"]["max_time"] == "00:02:18:10" and danet["init_weights"] is None


def test_photo_recipe_continues_the_default_on_photograph_noise_without_test_images():
    """experiment=photo (the second default): the shipped model continued from the packaged
    weights, photograph noise with gray patches, and no bundled image of a test set (camera is
    Set12's cameraman)."""
    from invdn.data.noise import PhotoNoise, build_noise
    from invdn.data.synthetic import RESERVED

    cfg = OmegaConf.to_container(compose_config(["experiment=photo", "run_dir=r"]), resolve=True)
    shipped = OmegaConf.to_container(compose_config(["experiment=shipped", "run_dir=r"]),
                                     resolve=True)
    assert cfg["model"] == shipped["model"]
    assert cfg["init_weights"] == "invdn/pretrained/default_invdn.pt"
    assert isinstance(build_noise(cfg["data"]["noise"]), PhotoNoise)
    assert 0 < cfg["data"]["gray"] < 1
    assert "camera" not in cfg["data"]["train_images"]
    assert not set(cfg["data"]["train_images"]) & set(RESERVED)
