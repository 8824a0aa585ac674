"""Training objectives. Every term sums over channels and pixels and averages over the batch
(the convention of the InvDN code), so the weights of different terms are comparable."""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invdn.metrics import ssim_map
from invdn.nn.protocol import Invertible

RECONSTRUCTIONS = ("charbonnier", "l1", "l2")


def _sum_mean(per_element: Tensor) -> Tensor:
    """`(B, …)` → scalar: sum over everything but the batch, mean over the batch."""
    return per_element.flatten(1).sum(dim=1).mean()


def charbonnier(pred: Tensor, target: Tensor, eps: float = 1e-3) -> Tensor:
    """Σ sqrt((pred − target)² + eps) over C, H, W, averaged over the batch."""
    return _sum_mean(torch.sqrt((pred - target).square() + eps))


def l1(pred: Tensor, target: Tensor) -> Tensor:
    """Σ |pred − target| over C, H, W, averaged over the batch."""
    return _sum_mean((pred - target).abs())


def squared_l2(pred: Tensor, target: Tensor) -> Tensor:
    """Σ (pred − target)² over C, H, W, averaged over the batch."""
    return _sum_mean((pred - target).square())


def gradient_l1(pred: Tensor, target: Tensor) -> Tensor:
    """Σ |Sobel(pred) − Sobel(target)| over both directions, C, H, W; mean over the batch."""
    return l1(kornia.filters.spatial_gradient(pred), kornia.filters.spatial_gradient(target))


def ssim_loss(pred: Tensor, target: Tensor, window_size: int = 11) -> Tensor:
    """Σ (1 − SSIM map) over C, H, W (images in [0, 1]); mean over the batch.

    The same SSIM as the metric (`invdn.metrics.ssim_map`), but with the settings this loss
    was trained with: 'same' padding so every pixel gets a gradient (the protocol's 'valid'
    map drops a 5-pixel border), kornia's default eps, the inputs' dtype instead of float64."""
    return _sum_mean(1 - ssim_map(pred, target, 1.0, padding="same", eps=1e-12,
                                  window_size=window_size))


def downsample(image: Tensor, factor: int) -> Tensor:
    """`(B, C, H, W)` → `(B, C, H/factor, W/factor)`, antialiased bicubic (MATLAB imresize
    style), computed in float32 whatever the input dtype."""
    h, w = image.shape[-2:]
    return F.interpolate(image.float(), size=(h // factor, w // factor), mode="bicubic",
                         align_corners=False, antialias=True)


class DenoisingLoss(nn.Module):
    """The training loss for any project model, called as `loss(model, noisy, clean)`.

    Invertible models (InvDN, any `invdn.nn.protocol.Invertible`) get the paper's two terms:
    `lambda_forw` × squared L2 between the predicted low-resolution image (`lr` of
    `model(noisy)`) and the clean image downsampled by `model.multiple` (antialiased bicubic),
    plus `lambda_back` × the reconstruction loss between `model.inverse(lr, gaussian_scale·N(0, I))`
    and the clean image; gradients flow through both passes. Other models (the DANet baseline)
    get `lambda_back` × the reconstruction loss on their output. `reconstruction`: 'charbonnier'
    (sqrt(d² + eps)), 'l1' or 'l2'. Optional extra terms on the reconstruction, off at 0:
    `lambda_grad` × Sobel-gradient L1 (0.1 in the paper's code) and `lambda_ssim` × (1 − SSIM).

    Returns a dict of scalar tensors: 'loss' (the total) and each active term.
    """

    def __init__(
        self,
        lambda_forw: float = 16.0,
        lambda_back: float = 1.0,
        reconstruction: str = "charbonnier",
        eps: float = 1e-3,
        gaussian_scale: float = 1.0,
        lambda_grad: float = 0.0,
        lambda_ssim: float = 0.0,
    ) -> None:
        super().__init__()
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"loss.reconstruction must be one of {', '.join(RECONSTRUCTIONS)}, "
                             f"got {reconstruction!r}")
        weights = dict(lambda_forw=lambda_forw, lambda_back=lambda_back, eps=eps,
                       gaussian_scale=gaussian_scale, lambda_grad=lambda_grad,
                       lambda_ssim=lambda_ssim)
        for key, value in weights.items():
            if not value >= 0:
                raise ValueError(f"loss.{key} must be >= 0, got {value}")
        self.lambda_forw, self.lambda_back = float(lambda_forw), float(lambda_back)
        self.reconstruction, self.eps = reconstruction, float(eps)
        self.gaussian_scale = float(gaussian_scale)
        self.lambda_grad, self.lambda_ssim = float(lambda_grad), float(lambda_ssim)
        self.config = dict(reconstruction=reconstruction, **{k: float(v) for k, v in weights.items()})

    def _reconstruction(self, pred: Tensor, clean: Tensor) -> Tensor:
        if self.reconstruction == "charbonnier":
            return charbonnier(pred, clean, self.eps)
        return l1(pred, clean) if self.reconstruction == "l1" else squared_l2(pred, clean)

    def forward(self, model: nn.Module, noisy: Tensor, clean: Tensor) -> dict[str, Tensor]:
        """noisy, clean `(B, 3, H, W)` in [0, 1] → {'loss', 'forw'?, 'back', 'grad'?, 'ssim'?}."""
        parts: dict[str, Tensor] = {}
        if isinstance(model, Invertible):
            lr, z = model(noisy)
            # Only the image channels of lr have a target (models may keep more channels).
            parts["forw"] = self.lambda_forw * squared_l2(lr[:, : clean.shape[1]].float(),
                                                          downsample(clean, model.multiple))
            latent = self.gaussian_scale * torch.randn_like(z)
            denoised = model.inverse(lr, latent)
        else:
            denoised = model(noisy)
        denoised = denoised.float()
        parts["back"] = self.lambda_back * self._reconstruction(denoised, clean)
        if self.lambda_grad:
            parts["grad"] = self.lambda_grad * gradient_l1(denoised, clean)
        if self.lambda_ssim:
            parts["ssim"] = self.lambda_ssim * ssim_loss(denoised, clean)
        parts["loss"] = sum(parts.values())
        return parts
