"""DenoisingLoss and DenoisingSystem: loss terms, fitting, validation, checkpoints."""

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio
from torch.utils.data import DataLoader, Dataset

from invdn.io.images import from_float, read_image
from invdn.io.weights import load_model
from invdn.nn import DANetDenoiser, InvDN
from invdn.training.losses import DenoisingLoss, charbonnier, downsample
from invdn.training.system import LABEL_HEIGHT, DenoisingSystem


def _smooth_images(n: int, h: int, w: int, seed: int) -> torch.Tensor:
    """Blurry random colour images in [0, 1]: learnable structure for tiny models."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, max(h // 4, 2), max(w // 4, 2), generator=g)
    return F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)


class _Pairs(Dataset):
    def __init__(self, clean: torch.Tensor, sigma: float, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.clean = clean
        self.noisy = (clean + sigma * torch.randn(clean.shape, generator=g)).clamp(0, 1)

    def __len__(self) -> int:
        return len(self.clean)

    def __getitem__(self, i: int) -> dict:
        return {"noisy": self.noisy[i], "clean": self.clean[i]}


class PairData(L.LightningDataModule):
    """Fixed noisy/clean pairs: train (8, 3, 16, 16) patches, val 2 images of 20×28 (not a
    multiple of 4, so validation must pad)."""

    def __init__(self, val_size=(20, 28)):
        super().__init__()
        self.train = _Pairs(_smooth_images(8, 16, 16, 0), 0.1, 1)
        self.val = _Pairs(_smooth_images(2, *val_size, 2), 0.1, 3)

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=4, shuffle=True,
                          generator=torch.Generator().manual_seed(0))

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=1)


class _Losses(Callback):
    def __init__(self):
        self.values = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.values.append(float(outputs["loss"]))


def _trainer(tmp_path, steps, **kwargs):
    defaults = dict(accelerator="cpu", devices=1, max_steps=steps, logger=False,
                    enable_progress_bar=False, enable_model_summary=False,
                    num_sanity_val_steps=0, default_root_dir=tmp_path, gradient_clip_val=10.0)
    return L.Trainer(**{**defaults, **kwargs})


def _tiny_invdn(**kwargs):
    return InvDN(blocks=[1, 1], width=8, **kwargs)


def test_forward_term_is_squared_l2_to_bicubic_lr():
    model, loss = _tiny_invdn(), DenoisingLoss(lambda_forw=16.0, lambda_back=0.0)
    noisy, clean = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    parts = loss(model, noisy, clean)
    lr, _ = model(noisy)
    target = F.interpolate(clean, size=(4, 4), mode="bicubic", antialias=True)
    expected = 16.0 * ((lr - target) ** 2).sum(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(parts["forw"], expected)
    assert parts["back"].item() == 0.0 and set(parts) == {"forw", "back", "loss"}


def test_backward_term_uses_the_inverse_with_a_gaussian_latent():
    model = _tiny_invdn()
    loss = DenoisingLoss(lambda_forw=0.0, lambda_back=2.0, gaussian_scale=0.5, eps=1e-3)
    noisy, clean = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    torch.manual_seed(7)
    parts = loss(model, noisy, clean)
    torch.manual_seed(7)
    lr, z = model(noisy)
    expected = 2.0 * charbonnier(model.inverse(lr, 0.5 * torch.randn_like(z)), clean, 1e-3)
    torch.testing.assert_close(parts["back"], expected)
    per_image = torch.sqrt((model.inverse(lr, z) - noisy) ** 2 + 1e-3).sum(dim=(1, 2, 3))
    # Sanity of the reduction: sum over C, H, W, mean over the batch.
    torch.testing.assert_close(charbonnier(model.inverse(lr, z), noisy), per_image.mean())


def test_gradients_flow_through_both_passes():
    model = _tiny_invdn()
    noisy, clean = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)

    def grads(**weights):
        model.zero_grad()
        DenoisingLoss(**weights)(model, noisy, clean)["loss"].backward()
        return [p.grad.clone() for p in model.parameters() if p.requires_grad]

    torch.manual_seed(0)
    both = grads()
    assert all(g.abs().sum() > 0 for g in both)
    torch.manual_seed(0)
    forw_only = grads(lambda_back=0.0)
    torch.manual_seed(0)
    back_only = grads(lambda_forw=0.0)
    for b, f, k in zip(both, forw_only, back_only, strict=True):
        torch.testing.assert_close(b, f + k)
    assert any(f.abs().sum() > 0 for f in forw_only) and any(k.abs().sum() > 0 for k in back_only)


def test_optional_terms_and_baseline():
    noisy, clean = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    model = DANetDenoiser(wf=4, depth=2)
    parts = DenoisingLoss(reconstruction="l1", lambda_grad=0.1, lambda_ssim=1.0)(
        model, noisy, clean)
    assert set(parts) == {"back", "grad", "ssim", "loss"}
    denoised = model(noisy)
    torch.testing.assert_close(parts["back"], (denoised - clean).abs().sum(dim=(1, 2, 3)).mean())
    torch.testing.assert_close(parts["loss"], parts["back"] + parts["grad"] + parts["ssim"])
    assert parts["grad"] > 0 and parts["ssim"] > 0
    with pytest.raises(ValueError, match="reconstruction"):
        DenoisingLoss(reconstruction="huber")
    with pytest.raises(ValueError, match="lambda_forw"):
        DenoisingLoss(lambda_forw=-1)


def test_downsample_matches_pil_antialiased_bicubic():
    rng = np.random.default_rng(0)
    img = rng.random((3, 40, 32)).astype(np.float32)
    ours = downsample(torch.from_numpy(img)[None], 4)[0].numpy()
    pil = np.stack([np.asarray(Image.fromarray(c, mode="F").resize((8, 10), Image.BICUBIC))
                    for c in img])
    assert ours.shape == (3, 10, 8)
    np.testing.assert_allclose(ours, pil, atol=2e-5)


@pytest.mark.parametrize("kind", ["invdn", "danet"])
def test_fit_lowers_the_loss_and_checkpoints_load(tmp_path, kind):
    torch.manual_seed(0)
    if kind == "invdn":
        model, loss = _tiny_invdn(), DenoisingLoss()
    else:  # l2: no Charbonnier floor, so 40 steps of a tiny U-Net show a clear drop
        model, loss = DANetDenoiser(wf=4, depth=2), DenoisingLoss(reconstruction="l2")
    system = DenoisingSystem(model, loss, lr=2e-3, preview_images=0)
    losses = _Losses()
    trainer = _trainer(tmp_path, 40, callbacks=[losses], check_val_every_n_epoch=20)
    trainer.fit(system, datamodule=PairData())
    assert len(losses.values) == 40
    assert np.mean(losses.values[-5:]) < 0.9 * np.mean(losses.values[:5])

    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)  # plain containers only
    assert ckpt["hyper_parameters"]["model"]["_target_"].startswith("invdn.nn.")
    assert ckpt["hyper_parameters"]["lr"] == 2e-3
    loaded = load_model(path)
    assert type(loaded) is type(model)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    again = DenoisingSystem.load_from_checkpoint(path)
    assert again.hparams.lr == 2e-3 and isinstance(again.loss, DenoisingLoss)


def test_validation_is_seeded_scores_uint8_and_writes_previews(tmp_path):
    torch.manual_seed(0)
    data = PairData()
    system = DenoisingSystem(_tiny_invdn(), DenoisingLoss(), val_samples=2, preview_images=2)
    trainer = _trainer(tmp_path, 1)
    first = trainer.validate(system, datamodule=data, verbose=False)[0]
    second = trainer.validate(system, datamodule=data, verbose=False)[0]
    assert first == second and set(first) == {"val/psnr", "val/ssim", "val/psnr_noisy"}

    # The noisy-input PSNR is scikit-image's on the uint8-rounded images.
    expected = np.mean([peak_signal_noise_ratio(
        from_float(s["clean"].permute(1, 2, 0).numpy()),
        from_float(s["noisy"].permute(1, 2, 0).numpy()), data_range=255) for s in data.val])
    assert first["val/psnr_noisy"] == pytest.approx(expected, abs=1e-4)

    preview = read_image(tmp_path / "previews" / "step_0000000.png")
    top = LABEL_HEIGHT  # the strip naming the columns
    assert preview.shape == (top + 2 * 20, 3 * 28, 3) and preview.dtype == np.uint8
    assert (preview[:top] < 128).any() and (preview[:top] == 255).mean() > 0.5  # dark text on white
    noisy_panel = preview[top:top + 20, :28]
    assert np.array_equal(noisy_panel, from_float(data.val.noisy[0].permute(1, 2, 0).numpy()))


def test_memory_efficient_training_step_matches_standard():
    noisy, clean = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    results = []
    for mode in (False, True):
        torch.manual_seed(0)
        model = _tiny_invdn(memory_efficient=mode)
        system = DenoisingSystem(model, DenoisingLoss())
        loss = system.loss(system.model, noisy, clean)["loss"]
        loss.backward()
        results.append((loss.detach(), [p.grad for p in model.parameters() if p.requires_grad]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="system.lr"):
        DenoisingSystem(_tiny_invdn(), DenoisingLoss(), lr=0)
    with pytest.raises(ValueError, match="system.scheduler"):
        DenoisingSystem(_tiny_invdn(), DenoisingLoss(), scheduler={
            "_target_": "invdn.training.schedules.warmup_cosine", "total_steps": 0})
