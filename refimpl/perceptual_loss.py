"""Perceptual Losses for Real-Time Style Transfer and Super-Resolution.

Justin Johnson, Alexandre Alahi, Li Fei-Fei. ECCV 2016. arXiv:1603.08155.
Catalog id: ``perceptual-loss``.

Implemented:

* Sec. 3.1 / Supplementary, the image transformation network: 9×9 conv
  (32), two stride-2 3×3 convs (64, 128), five residual blocks (128), two
  stride-½ (transposed) convs (64, 32), 9×9 conv to RGB, batch norm and ReLU
  after every non-residual conv, a scaled tanh on the output.
* Sec. 3.2, the feature reconstruction loss
  ``ℓ_feat^{φ,j}(ŷ, y) = ‖φ_j(ŷ) − φ_j(y)‖²₂ / (C_j H_j W_j)``.
* Sec. 3.2, the style reconstruction loss: the Gram matrix
  ``G_j(x)_{c,c′} = Σ_{h,w} φ_j(x)_{h,w,c} φ_j(x)_{h,w,c′} / (C_j H_j W_j)``
  and ``ℓ_style^{φ,j}(ŷ, y) = ‖G_j(ŷ) − G_j(y)‖²_F``, summed over layers.
* Sec. 3.3, total variation regularisation ``ℓ_TV(ŷ)``.

Parameter count: the standard transformation network has 1,679,235
parameters, the sum over the layers of the supplementary material's
architecture table (convs with biases and batch norm affine parameters);
tested.

The losses take ANY feature extractor ``φ`` returning a list of feature
maps (VGG-16 relu1_2, relu2_2, relu3_3, relu4_3 for style and relu2_2 for
content in the paper; load torchvision VGG-16 weights yourself — nothing is
downloaded here).

Deviations from the paper:

* Residual blocks use zero padding instead of the paper's unpadded convs
  with a 40-pixel reflection pad on the input; parameter count is unchanged.
* Squared errors are averaged over the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class PerceptualLossConfig:
    widths: tuple[int, int, int] = (32, 64, 128)  # Supplementary: 32, 64, 128 filters
    num_residual: int = 5  # Supplementary: five residual blocks
    content_weight: float = 1.0  # λ_c (the paper tunes λ_c, λ_s, λ_TV per style)
    style_weight: float = 5.0  # λ_s
    tv_weight: float = 1e-6  # λ_TV ∈ [1e-6, 1e-4], chosen by cross-validation (Sec. 4.1)


TINY = PerceptualLossConfig(widths=(4, 8, 8), num_residual=1)


# --------------------------------------------------------------------- transformation network
def _conv_bn_relu(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2), nn.BatchNorm2d(c_out), nn.ReLU())


class ResidualBlock(nn.Module):
    """Two 3×3 convs with batch norm, ReLU after the first only, plus identity (Gross & Wilber)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    """f_W: image (N, 3, H, W) → image (N, 3, H, W) for H, W divisible by 4, in [0, 255]."""

    def __init__(self, config: PerceptualLossConfig = PerceptualLossConfig()) -> None:
        super().__init__()
        a, b, c = config.widths
        self.net = nn.Sequential(
            _conv_bn_relu(3, a, 9), _conv_bn_relu(a, b, 3, 2), _conv_bn_relu(b, c, 3, 2),
            *(ResidualBlock(c) for _ in range(config.num_residual)),
            nn.ConvTranspose2d(c, b, 3, 2, padding=1, output_padding=1), nn.BatchNorm2d(b), nn.ReLU(),
            nn.ConvTranspose2d(b, a, 3, 2, padding=1, output_padding=1), nn.BatchNorm2d(a), nn.ReLU(),
            nn.Conv2d(a, 3, 9, padding=4),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 127.5 * (torch.tanh(self.net(x)) + 1)  # scaled tanh: pixels in [0, 255]


# --------------------------------------------------------------------- losses
def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, C, C): ψψᵀ / (C·H·W), ψ the features reshaped to C × HW."""
    n, c, h, w = features.shape
    psi = features.reshape(n, c, h * w)
    return psi @ psi.transpose(1, 2) / (c * h * w)


def feature_reconstruction_loss(feat_hat: torch.Tensor, feat_target: torch.Tensor) -> torch.Tensor:
    """‖φ_j(ŷ) − φ_j(y)‖²₂ / (C H W), averaged over the batch."""
    return (feat_hat - feat_target).pow(2).flatten(1).mean(dim=1).mean()


def style_reconstruction_loss(feats_hat: Sequence[torch.Tensor], feats_style: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ_j ‖G_j(ŷ) − G_j(y_s)‖²_F, averaged over the batch. The style target may have batch 1."""
    loss = feats_hat[0].new_zeros(())
    for f_hat, f_s in zip(feats_hat, feats_style, strict=True):
        diff = gram_matrix(f_hat) - gram_matrix(f_s)  # Gram matrices compare images of different sizes
        loss = loss + diff.pow(2).sum(dim=(1, 2)).mean()
    return loss


def total_variation(img: torch.Tensor) -> torch.Tensor:
    """Sec. 3.3: Σ squared differences between horizontal and vertical neighbours, per image."""
    dh = (img[:, :, 1:, :] - img[:, :, :-1, :]).pow(2).sum(dim=(1, 2, 3))
    dw = (img[:, :, :, 1:] - img[:, :, :, :-1]).pow(2).sum(dim=(1, 2, 3))
    return (dh + dw).mean()


def style_transfer_loss(features: Callable[[torch.Tensor], Sequence[torch.Tensor]], y_hat: torch.Tensor, content: torch.Tensor, style: torch.Tensor,
                        content_layer: int = 1,
                        config: PerceptualLossConfig = PerceptualLossConfig()) -> torch.Tensor:
    """Eq. (Sec. 3.3): λ_c ℓ_feat + λ_s ℓ_style + λ_TV ℓ_TV for any list-returning extractor φ."""
    f_hat, f_c, f_s = features(y_hat), features(content), features(style)
    return (config.content_weight * feature_reconstruction_loss(f_hat[content_layer], f_c[content_layer])
            + config.style_weight * style_reconstruction_loss(f_hat, f_s)
            + config.tv_weight * total_variation(y_hat))


# --------------------------------------------------------------------- examples
class _TinyFeatures(nn.Module):
    """A stand-in for VGG-16: two conv + ReLU stages returning both feature maps."""

    def __init__(self) -> None:
        super().__init__()
        self.s1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.s2 = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        a = self.s1(x)
        return [a, self.s2(a)]


@register_example(covers=[TransformNet, ResidualBlock, gram_matrix, feature_reconstruction_loss,
                          style_reconstruction_loss, total_variation, style_transfer_loss])
def perceptual_style_transfer() -> Example:
    g = seeded(0)
    phi = _TinyFeatures()
    for p in phi.parameters():  # the loss network is fixed
        p.requires_grad_(False)
    model = nn.ModuleDict({"f": TransformNet(TINY), "phi": phi})
    content = torch.rand(2, 3, 16, 16, generator=g) * 255
    style = torch.rand(1, 3, 20, 20, generator=g) * 255

    def run(m: nn.ModuleDict, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y_hat = m["f"](content)
        return y_hat, style_transfer_loss(m["phi"], y_hat / 255, content / 255, style / 255, config=TINY)

    return Example(model=model, inputs=(content, style), output_shapes=((2, 3, 16, 16), ()), run=run)
