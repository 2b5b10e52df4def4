"""Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization.

Xun Huang, Serge Belongie. ICCV 2017. arXiv:1703.06868. Catalog id: ``adain``.

Implemented:

* Eq. 8, the AdaIN layer:
  ``AdaIN(x, y) = σ(y) · (x − μ(x)) / σ(x) + μ(y)``, with μ, σ taken per sample
  and per channel over the spatial dimensions.
* Sec. 6.1, the style transfer network: a fixed encoder ``f`` (VGG-19 up to
  relu4_1), ``t = AdaIN(f(c), f(s))``, a decoder ``g`` mirroring the encoder
  with nearest up-sampling and reflection padding, and ``T(c, s) = g(t)``.
* Eq. 12–13, the losses: content loss ``‖f(g(t)) − t‖₂`` and style loss
  ``Σᵢ ‖μ(φᵢ(g(t))) − μ(φᵢ(s))‖₂ + ‖σ(φᵢ(g(t))) − σ(φᵢ(s))‖₂`` over
  relu1_1, relu2_1, relu3_1, relu4_1; total ``L = L_c + λ L_s``.
* Sec. 7.1, the content–style trade-off ``T(c, s, α) = g((1 − α) f(c) + α t)``.

Official presets: ``OFFICIAL`` follows the paper and the authors' Torch code
(xunhuang1995/AdaIN-style, ``lib/AdaptiveInstanceNormalization.lua`` at
6d8ac287f35010faf8feece4047bfe86c8c007d0: the style std is ``std(3, true)``, the
biased estimate, and the content is normalised by a training-mode batch norm,
biased variance + ε); ``PYTORCH_PORT`` follows the widely used PyTorch port
(naoto0804/pytorch-AdaIN, ``function.py`` at
47950d0e6656a95a80a4b105c4c0f58d38ef785c: ``torch.var`` with its default
unbiased estimate, + ε, then the square root). Parameter counts, from
instantiating ``net.py`` of the port: decoder 3,505,219; encoder up to relu4_1
(with the 1×1 colour conv the converted VGG starts with) 3,505,740; tested.

Deviations from the paper:

* The encoder is randomly initialised (He-normal, so that its relu4_1
  features still depend on the input): ImageNet VGG-19 weights cannot be
  fetched here. Any module returning the relu1_1…relu4_1 features can be
  passed as ``encoder`` (e.g. torchvision's VGG-19 with weights loaded).
* The decoder starts He-normal too (the released code keeps PyTorch's
  default init); training makes the choice immaterial.
* Squared errors are averaged (``mse_loss``) rather than summed, as both
  released codes do.
* ε is added to the style variance too (the Torch code adds it only to the
  content's): a difference of at most ε / (2σ) in σ(y).
* The ``PYTORCH_PORT`` preset differs from the paper: unbiased variances.
  ``calc_mean_std`` keeps the biased estimate by default because StyleGAN,
  MUNIT and StyleSwin reuse it for instance-norm statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class AdaINConfig:
    style_weight: float = 10.0  # λ in Eq. 11, Sec. 6.2 ("λ = 10")
    eps: float = 1e-5  # ε of Eq. 6, added to the variance before the square root (authors' code: 1e-5)
    unbiased: bool = False  # Eq. 6 divides by H·W: the biased variance (authors' Torch code too)
    widths: tuple[int, int, int, int] = (64, 128, 256, 512)  # VGG-19 relu1_1..relu4_1 channels


OFFICIAL = AdaINConfig()  # paper and xunhuang1995/AdaIN-style (Torch)
PYTORCH_PORT = AdaINConfig(unbiased=True)  # naoto0804/pytorch-AdaIN: torch.var's unbiased default
TINY = AdaINConfig(widths=(4, 8, 8, 16))


# --------------------------------------------------------------------- the operation
def calc_mean_std(
    features: torch.Tensor, eps: float = 1e-5, *, unbiased: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 5–6 per sample and channel over H×W: mean and ``sqrt(var + eps)``, two (N, C, 1, 1) tensors.

    ``unbiased=True`` divides by H·W − 1, as ``torch.var`` does by default (the PyTorch port).
    """
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    mean = flat.mean(dim=2).reshape(n, c, 1, 1)
    std = (flat.var(dim=2, unbiased=unbiased) + eps).sqrt().reshape(n, c, 1, 1)
    return mean, std


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5, *, unbiased: bool = False) -> torch.Tensor:
    """Eq. 8: align the channel-wise mean and std of ``content`` to ``style``.

    content: (N, C, H, W), style: (N, C, H', W') → (N, C, H, W).
    """
    c_mean, c_std = calc_mean_std(content, eps, unbiased=unbiased)
    s_mean, s_std = calc_mean_std(style, eps, unbiased=unbiased)
    return s_std * (content - c_mean) / c_std + s_mean


# --------------------------------------------------------------------- encoder / decoder
def _conv(c_in: int, c_out: int) -> nn.Sequential:
    # Reflection padding, as in the paper's decoder, avoids border artefacts.
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3), nn.ReLU(inplace=False))


def _he_init(module: nn.Module) -> None:
    # He-normal weights, zero biases: the signal keeps its scale through a deep ReLU stack.
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


def _pool() -> nn.MaxPool2d:
    # ceil_mode as in the converted VGG of both released codes (odd sizes keep their last row).
    return nn.MaxPool2d(2, 2, ceil_mode=True)


class VGGEncoder(nn.Module):
    """VGG-19 up to relu4_1, returning [relu1_1, relu2_1, relu3_1, relu4_1].

    Starts with the 1×1 colour conv of the converted (normalised) VGG that both
    released codes load. Random weights are He-normal with zero bias: the
    default init shrinks the signal layer by layer until relu4_1 hardly depends
    on the image, which would make every end-to-end test vacuous.
    """

    def __init__(self, widths: tuple[int, int, int, int] = AdaINConfig.widths) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.slice1 = nn.Sequential(nn.Conv2d(3, 3, 1), _conv(3, w1))  # relu1_1
        self.slice2 = nn.Sequential(_conv(w1, w1), _pool(), _conv(w1, w2))  # relu2_1
        self.slice3 = nn.Sequential(_conv(w2, w2), _pool(), _conv(w2, w3))  # relu3_1
        self.slice4 = nn.Sequential(
            _conv(w3, w3), _conv(w3, w3), _conv(w3, w3), _pool(), _conv(w3, w4)
        )  # relu4_1
        _he_init(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in (self.slice1, self.slice2, self.slice3, self.slice4):
            x = block(x)
            feats.append(x)
        return feats


class AdaINDecoder(nn.Module):
    """Mirror of the encoder: relu4_1 features (N, C4, H/8, W/8) → image (N, 3, H, W)."""

    def __init__(self, widths: tuple[int, int, int, int] = AdaINConfig.widths) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        up = nn.Upsample(scale_factor=2, mode="nearest")  # the paper replaces pooling by nearest up-sampling
        self.layers = nn.Sequential(
            _conv(w4, w3), up,
            _conv(w3, w3), _conv(w3, w3), _conv(w3, w3), _conv(w3, w2), up,
            _conv(w2, w2), _conv(w2, w1), up,
            _conv(w1, w1),
            nn.ReflectionPad2d(1), nn.Conv2d(w1, 3, 3),  # no ReLU on the output
        )
        _he_init(self)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.layers(t)


class AdaINStyleTransfer(nn.Module):
    """Encoder–AdaIN–decoder network ``T(c, s, α) = g((1 − α) f(c) + α AdaIN(f(c), f(s)))``."""

    def __init__(self, config: AdaINConfig = AdaINConfig(), encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder if encoder is not None else VGGEncoder(config.widths)
        self.decoder = AdaINDecoder(config.widths)
        for p in self.encoder.parameters():  # the encoder is fixed (Sec. 6.1)
            p.requires_grad_(False)

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        f_c = self.encoder(content)[-1]
        f_s = self.encoder(style)[-1]
        t = adain(f_c, f_s, self.config.eps, unbiased=self.config.unbiased)
        t = (1.0 - alpha) * f_c + alpha * t
        return self.decoder(t)

    def losses(self, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_c, L_s) of Eq. 12–13 for one batch."""
        f_c = self.encoder(content)[-1]
        style_feats = self.encoder(style)
        t = adain(f_c, style_feats[-1], self.config.eps, unbiased=self.config.unbiased)
        out_feats = self.encoder(self.decoder(t))
        return (content_loss(out_feats[-1], t),
                style_loss(out_feats, style_feats, self.config.eps, unbiased=self.config.unbiased))


# --------------------------------------------------------------------- losses
def content_loss(output_features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 12: distance between f(g(t)) and the AdaIN target t (not f(c))."""
    return F.mse_loss(output_features, target)


def style_loss(output_feats: list[torch.Tensor], style_feats: list[torch.Tensor], eps: float = 1e-5, *,
               unbiased: bool = False) -> torch.Tensor:
    """Eq. 13: match mean and std of each VGG layer's features."""
    loss = output_feats[0].new_zeros(())
    for out, sty in zip(output_feats, style_feats, strict=True):
        o_mean, o_std = calc_mean_std(out, eps, unbiased=unbiased)
        s_mean, s_std = calc_mean_std(sty, eps, unbiased=unbiased)
        loss = loss + F.mse_loss(o_mean, s_mean) + F.mse_loss(o_std, s_std)
    return loss


# --------------------------------------------------------------------- examples
@register_example(covers=[adain, calc_mean_std])
def adain_operation() -> Example:
    g = seeded(0)
    content = torch.randn(2, 8, 6, 6, generator=g, requires_grad=True)
    style = torch.randn(2, 8, 5, 7, generator=g, requires_grad=True) * 3 + 1
    return Example(model=nn.Module(), inputs=(content, style), output_shapes=((2, 8, 6, 6),),
                   run=lambda _model, c, s: adain(c, s))


@register_example(covers=[AdaINStyleTransfer, VGGEncoder, AdaINDecoder, content_loss, style_loss])
def adain_style_transfer() -> Example:
    g = seeded(0)
    model = AdaINStyleTransfer(TINY)
    content = torch.rand(2, 3, 32, 32, generator=g)
    style = torch.rand(2, 3, 32, 32, generator=g)

    def run(m: AdaINStyleTransfer, c: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, ...]:
        lc, ls = m.losses(c, s)
        return m(c, s), lc + m.config.style_weight * ls

    return Example(model=model, inputs=(content, style), output_shapes=((2, 3, 32, 32), ()), run=run)
