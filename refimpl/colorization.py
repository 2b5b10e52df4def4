"""Real-Time User-Guided Image Colorization with Learned Deep Priors.

Richard Zhang, Jun-Yan Zhu, Phillip Isola, Xinyang Geng, Angela S. Lin,
Tianhe Yu, Alexei A. Efros. SIGGRAPH 2017. arXiv:1705.02999.
Catalog id: ``user-guided-colorization``.

Implemented:

* Sec. 3, CIE Lab colour space: the network sees the lightness ``L`` and
  predicts the chrominance ``ab`` (``rgb_to_lab`` converts sRGB, D65).
* Sec. 3.1, the local-hints input: a sparse ab map ``U`` holding the user's
  colours and a binary mask ``M`` of where hints were given; in training,
  hints are square patches filled with the patch's mean ab colour
  (``hints_from_points``). The input is ``[L, U, M]`` normalised as in the
  authors' code: ``(L − 50)/100``, ``ab/110``, ``M − 0.5``.
* Sec. 3.2 / Fig. 3, the local hints network ``F``: a U-Net-style encoder–decoder
  with conv blocks at 4 resolutions (sub-sampling by striding), dilated convs
  in the middle, transposed-conv up-sampling with **additive** shortcuts from
  the encoder, and a tanh regression head for ab.
* Eq. 3, the regression loss: the Huber (smooth-ℓ1) loss ``ℓ_δ`` with δ = 1
  between predicted and ground-truth ab.

Parameter count: the standard widths (64, 128, 256, 512) give 34,051,074
parameters, our sum over the layer list of the authors' ``siggraph17`` model
without its 529-way colour-distribution head; tested.

Deviations from the paper:

* The global-hints network (colour histogram / saturation input) and the
  colour-distribution classification head are omitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class ColorizationConfig:
    widths: tuple[int, int, int, int] = (64, 128, 256, 512)  # Fig. 3: conv1–conv4 widths
    l_cent: float = 50.0  # authors' code: L normalisation
    l_norm: float = 100.0
    ab_norm: float = 110.0
    mask_cent: float = 0.5
    huber_delta: float = 1.0  # Eq. 3: δ = 1


TINY = ColorizationConfig(widths=(4, 4, 8, 8))


# --------------------------------------------------------------------- colour space
def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], (N, 3, H, W) → CIE Lab (D65), L ∈ [0, 100]."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = rgb.new_tensor([[0.412453, 0.357580, 0.180423],
                        [0.212671, 0.715160, 0.072169],
                        [0.019334, 0.119193, 0.950227]])
    xyz = torch.einsum("ij,njhw->nihw", m, linear)
    xyz = xyz / rgb.new_tensor([0.950456, 1.0, 1.088754]).view(1, 3, 1, 1)  # D65 white point
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    lightness = 116 * f[:, 1:2] - 16
    a = 500 * (f[:, 0:1] - f[:, 1:2])
    b = 200 * (f[:, 1:2] - f[:, 2:3])
    return torch.cat([lightness, a, b], 1)


# --------------------------------------------------------------------- hints
def hints_from_points(ab: torch.Tensor, points: list[tuple[int, int, int]], patch_size: int = 1
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """User points (n, y, x) → (ab hints (N, 2, H, W), mask (N, 1, H, W)).

    Each hint is a ``patch_size`` square anchored at (y, x), filled with the
    mean ground-truth ab colour of that patch.
    """
    hint = torch.zeros_like(ab)
    mask = torch.zeros_like(ab[:, :1])
    for n, y, x in points:
        region = (n, slice(None), slice(y, y + patch_size), slice(x, x + patch_size))
        hint[region] = ab[region].mean(dim=(1, 2), keepdim=True)
        mask[region] = 1.0
    return hint, mask


def network_input(lightness: torch.Tensor, ab_hint: torch.Tensor, mask: torch.Tensor,
                  config: ColorizationConfig = ColorizationConfig()) -> torch.Tensor:
    """[L, U, M] (N, 1+2+1, H, W), normalised as in the authors' code."""
    return torch.cat([(lightness - config.l_cent) / config.l_norm, ab_hint / config.ab_norm,
                      mask - config.mask_cent], 1)


# --------------------------------------------------------------------- network
def _convs(c_in: int, c_out: int, n: int, dilation: int = 1, bn: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=dilation, dilation=dilation), nn.ReLU(True)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers)


class LocalHintsNetwork(nn.Module):
    """(L (N, 1, H, W), ab hints (N, 2, H, W), mask (N, 1, H, W)) → ab (N, 2, H, W) in [−110, 110].

    H and W divisible by 8.
    """

    def __init__(self, config: ColorizationConfig = ColorizationConfig()) -> None:
        super().__init__()
        self.config = config
        w1, w2, w3, w4 = config.widths
        self.conv1 = _convs(4, w1, 2)  # full resolution
        self.conv2 = _convs(w1, w2, 2)  # 1/2
        self.conv3 = _convs(w2, w3, 3)  # 1/4
        self.conv4 = _convs(w3, w4, 3)  # 1/8
        self.conv5 = _convs(w4, w4, 3, dilation=2)  # dilated: larger context at 1/8
        self.conv6 = _convs(w4, w4, 3, dilation=2)
        self.conv7 = _convs(w4, w4, 3)
        self.up8 = nn.ConvTranspose2d(w4, w3, 4, 2, 1)
        self.short3_8 = nn.Conv2d(w3, w3, 3, padding=1)
        self.conv8 = nn.Sequential(nn.ReLU(True), *_convs(w3, w3, 2))
        self.up9 = nn.ConvTranspose2d(w3, w2, 4, 2, 1)
        self.short2_9 = nn.Conv2d(w2, w2, 3, padding=1)
        self.conv9 = nn.Sequential(nn.ReLU(True), *_convs(w2, w2, 1))
        self.up10 = nn.ConvTranspose2d(w2, w2, 4, 2, 1)
        self.short1_10 = nn.Conv2d(w1, w2, 3, padding=1)
        self.conv10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(w2, w2, 3, padding=1), nn.LeakyReLU(0.2))
        self.out = nn.Sequential(nn.Conv2d(w2, 2, 1), nn.Tanh())

    def forward(self, lightness: torch.Tensor, ab_hint: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        c1 = self.conv1(network_input(lightness, ab_hint, mask, self.config))
        c2 = self.conv2(c1[:, :, ::2, ::2])  # sub-sampling by striding, as the authors do
        c3 = self.conv3(c2[:, :, ::2, ::2])
        c4 = self.conv4(c3[:, :, ::2, ::2])
        c7 = self.conv7(self.conv6(self.conv5(c4)))
        c8 = self.conv8(self.up8(c7) + self.short3_8(c3))  # additive shortcuts, not concatenation
        c9 = self.conv9(self.up9(c8) + self.short2_9(c2))
        c10 = self.conv10(self.up10(c9) + self.short1_10(c1))
        return self.out(c10) * self.config.ab_norm


def huber_ab_loss(pred_ab: torch.Tensor, target_ab: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Eq. 3: ℓ_δ = ½ d² for |d| < δ, δ(|d| − ½δ) otherwise; averaged over pixels and channels."""
    return F.huber_loss(pred_ab, target_ab, delta=delta)


# --------------------------------------------------------------------- examples
@register_example(covers=[LocalHintsNetwork, hints_from_points, network_input, huber_ab_loss, rgb_to_lab])
def colorization_tiny() -> Example:
    g = seeded(0)
    model = LocalHintsNetwork(TINY)
    rgb = torch.rand(2, 3, 16, 16, generator=g)

    def run(m: LocalHintsNetwork, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lab = rgb_to_lab(rgb)
        hint, mask = hints_from_points(lab[:, 1:], [(0, 2, 3), (1, 10, 5)], patch_size=3)
        pred = m(lab[:, :1], hint, mask)
        return pred, huber_ab_loss(pred, lab[:, 1:], TINY.huber_delta)

    return Example(model=model, inputs=(rgb,), output_shapes=((2, 2, 16, 16), ()), run=run)
