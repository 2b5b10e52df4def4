"""Perceptual Losses for Real-Time Style Transfer and Super-Resolution.

Justin Johnson, Alexandre Alahi, Li Fei-Fei. ECCV 2016. arXiv:1603.08155.
Catalog id: ``perceptual-loss``.

Implemented:

* Sec. 3.1 / Supplementary, the image transformation network: a 40×40
  reflection pad on the input, 9×9 conv (32), two stride-2 3×3 convs (64,
  128), five residual blocks (128) with unpadded convs, two stride-½
  (transposed) convs (64, 32), 9×9 conv to RGB, batch norm and ReLU after
  every non-residual conv, a scaled tanh on the output.
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

Official code: jcjohnson/fast-neural-style @ 813c834 (Lua Torch;
``fast_neural_style/models.lua``, ``train.lua``). Its architecture string
``c9s1-32,d64,d128,R128×5,u64,u32,c9s1-3`` with ``-padding_type
reflect-start`` is the supplementary table: a reflection pad on the input (40
pixels for five blocks), unpadded 3×3 convs in the residual blocks whose skip
is cropped by 2 pixels per side, zero-padded convs elsewhere. ``OFFICIAL`` is
its ``train.lua`` default: instance normalisation (affine, so the same
1,679,235 parameters, counted analytically from the Lua layer definitions)
and ``150 · tanh`` on VGG mean-subtracted images; tested.

The losses take ANY feature extractor ``φ`` returning a list of feature
maps (VGG-16 relu1_2, relu2_2, relu3_3, relu4_3 for style and relu2_2 for
content in the paper; load torchvision VGG-16 weights yourself — nothing is
downloaded here).

Deviations from the paper and the official code:

* Squared errors are averaged over the batch.
* The official ``StyleLoss`` is an ``MSECriterion`` on the Gram matrices
  (the squared Frobenius norm divided by C_j²) and its default content layer
  is relu3_3; the losses here follow Sec. 3.2 and Sec. 4.1 (relu2_2).
* ``padding="zero"`` (zero-padded residual convs, no input padding) is kept
  as an option; the default is the paper's reflection padding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class PerceptualLossConfig:
    widths: tuple[int, int, int] = (32, 64, 128)  # Supplementary: 32, 64, 128 filters
    num_residual: int = 5  # Supplementary: five residual blocks
    content_weight: float = 1.0  # λ_c (the paper tunes λ_c, λ_s, λ_TV per style; train.lua: 1.0)
    style_weight: float = 5.0  # λ_s (train.lua -style_weights 5.0)
    tv_weight: float = 1e-6  # λ_TV ∈ [1e-6, 1e-4], chosen by cross-validation (Sec. 4.1)
    norm: str = "batch"  # Sec. 3.1: batch normalisation; train.lua defaults to "instance"
    padding: str = "reflect-start"  # Supplementary: 40×40 reflection pad, unpadded residual convs
    tanh_scale: float = 127.5  # Sec. 3.1: scaled tanh, pixels in [0, 255] ...
    tanh_offset: float = 127.5  # ... = 127.5 · (tanh + 1); train.lua: 150 · tanh on mean-subtracted images


# jcjohnson/fast-neural-style @ 813c834 train.lua defaults (-use_instance_norm 1, -tanh_constant 150,
# -padding_type reflect-start, -style_weights 5.0, -content_weights 1.0, -tv_strength 1e-6).
OFFICIAL = PerceptualLossConfig(norm="instance", tanh_scale=150.0, tanh_offset=0.0)
TINY = PerceptualLossConfig(widths=(4, 8, 8), num_residual=1)


# --------------------------------------------------------------------- transformation network
def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)  # the Lua InstanceNormalization has γ and β
    raise ValueError(f"norm must be 'batch' or 'instance', got {kind!r}")


def _conv_norm_relu(c_in: int, c_out: int, k: int, stride: int = 1, norm: str = "batch") -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2), _norm(norm, c_out), nn.ReLU())


class ResidualBlock(nn.Module):
    """Two 3×3 convs with normalisation, ReLU after the first only, plus identity (Gross & Wilber).

    ``padded=False`` (the paper's): the convs are unpadded, so the output is 4 pixels smaller than
    the input and the skip is the input's centre, cropped by 2 pixels per side.
    """

    def __init__(self, channels: int, norm: str = "batch", padded: bool = False) -> None:
        super().__init__()
        p = int(padded)
        self.crop = 0 if padded else 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=p), _norm(norm, channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=p), _norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.crop
        skip = x[..., c:x.shape[-2] - c, c:x.shape[-1] - c]
        return skip + self.body(x)


class TransformNet(nn.Module):
    """f_W: image (N, 3, H, W) → image (N, 3, H, W) for H, W divisible by 4, in [0, 255]."""

    def __init__(self, config: PerceptualLossConfig = PerceptualLossConfig()) -> None:
        super().__init__()
        if config.padding not in ("reflect-start", "zero"):
            raise ValueError(f"padding must be 'reflect-start' or 'zero', got {config.padding!r}")
        self.config = config
        a, b, c = config.widths
        n = config.norm
        # Each unpadded block loses 2 pixels per side at 1/4 resolution: 8 input pixels per side.
        self.pad = 8 * config.num_residual if config.padding == "reflect-start" else 0
        self.net = nn.Sequential(
            _conv_norm_relu(3, a, 9, norm=n), _conv_norm_relu(a, b, 3, 2, n), _conv_norm_relu(b, c, 3, 2, n),
            *(ResidualBlock(c, n, padded=config.padding == "zero") for _ in range(config.num_residual)),
            nn.ConvTranspose2d(c, b, 3, 2, padding=1, output_padding=1), _norm(n, b), nn.ReLU(),
            nn.ConvTranspose2d(b, a, 3, 2, padding=1, output_padding=1), _norm(n, a), nn.ReLU(),
            nn.Conv2d(a, 3, 9, padding=4),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, mode="reflect")
        return self.config.tanh_scale * torch.tanh(self.net(x)) + self.config.tanh_offset


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
