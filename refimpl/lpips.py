"""The Unreasonable Effectiveness of Deep Features as a Perceptual Metric (LPIPS).

Richard Zhang, Phillip Isola, Alexei A. Efros, Eli Shechtman, Oliver Wang.
CVPR 2018. arXiv:1801.03924. Catalog id: ``lpips``.

Implemented:

* Sec. 3 / Eq. 1 / Fig. 3, the distance
  ``d(x, x₀) = Σ_l 1/(H_l W_l) Σ_{h,w} ‖w_l ⊙ (ŷ^l_hw − ŷ^l_0hw)‖²₂``:
  features of each layer l unit-normalised in the channel dimension, their
  difference scaled channel-wise by learned weights w_l (a 1×1 conv without
  bias), squared, summed over channels, averaged spatially, summed over
  layers. As in the authors' code, ``w_l`` multiplies the *squared*
  difference and is kept non-negative by clamping after each update
  (``LPIPS.clamp_weights``).
* The authors' input scaling layer (ImageNet statistics in [−1, 1] units).
* With unit weights, a layer's term is ``2 − 2 cos(ŷ, ŷ₀)`` averaged over
  positions: the "cosine distance" baseline of Sec. 3.

Parameter count: the learned part of the standard VGG variant has 1,472
weights (64 + 128 + 256 + 512 + 512 channels of conv1_2…conv5_3) and the
AlexNet variant 1,152 (64 + 192 + 384 + 256 + 256) and the SqueezeNet
variant 2,240 (64 + 128 + 256 + 384 + 384 + 512 + 512): one bias-free 1×1
conv per layer (``NetLinLayer``) over the channel lists ``self.chns`` of
richzhang/PerceptualSimilarity @ 082bb24 ``lpips/lpips.py``; tested.

The backbone is ANY module returning a list of feature maps (torchvision
AlexNet/VGG/SqueezeNet slices with ImageNet weights in the paper; nothing
is downloaded here).

Deviations from the paper:

* The 2AFC ranking network 𝒢 used to train w_l on BAPPS is not included.
* The linear weights start at 1 (the cosine-distance baseline) instead of
  the released trained values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class LPIPSConfig:
    channels: tuple[int, ...] = (64, 128, 256, 512, 512)  # authors' code: VGG-16 relu1_2 … relu5_3
    dropout: float = 0.5  # authors' code: dropout before each 1×1 linear layer (training only)
    eps: float = 1e-10  # authors' code: normalize_tensor eps


ALEXNET = LPIPSConfig(channels=(64, 192, 384, 256, 256))  # authors' code: AlexNet relu1 … relu5
SQUEEZENET = LPIPSConfig(channels=(64, 128, 256, 384, 384, 512, 512))  # authors' code: SqueezeNet 1.1 slices
TINY = LPIPSConfig(channels=(4, 6))


def normalize_channels(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Unit-normalise the feature vector at every position: (N, C, H, W) → same shape."""
    return features / (features.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class ScalingLayer(nn.Module):
    """Map [−1, 1] images to the ImageNet-normalised range the backbones expect (authors' code)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class LinearLayer(nn.Module):
    """w_l: dropout, then a 1×1 conv (no bias) from C_l channels to one."""

    def __init__(self, channels: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv2d(channels, 1, 1, bias=False)
        nn.init.ones_(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.dropout(x))


class LPIPS(nn.Module):
    """d(x, x₀) for images in [−1, 1]: (N, 3, H, W) × 2 → (N,)."""

    def __init__(self, backbone: nn.Module, config: LPIPSConfig = LPIPSConfig()) -> None:
        super().__init__()
        self.config = config
        self.scaling = ScalingLayer()
        self.backbone = backbone
        for p in self.backbone.parameters():  # the backbone is frozen; only w_l are learned
            p.requires_grad_(False)
        self.lins = nn.ModuleList(LinearLayer(c, config.dropout) for c in config.channels)

    def layer_distances(self, x: torch.Tensor, x0: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer terms of Eq. 1, each (N,)."""
        feats, feats0 = self.backbone(self.scaling(x)), self.backbone(self.scaling(x0))
        return distance_from_features(feats, feats0, self.lins, self.config.eps)

    def forward(self, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.layer_distances(x, x0)).sum(dim=0)

    @torch.no_grad()
    def clamp_weights(self) -> None:
        """Project w_l onto w ≥ 0; call after each optimiser step, as the authors do."""
        for lin in self.lins:
            lin.conv.weight.clamp_(min=0)


def distance_from_features(feats: Sequence[torch.Tensor], feats0: Sequence[torch.Tensor],
                           lins: Sequence[nn.Module], eps: float = 1e-10) -> list[torch.Tensor]:
    """Eq. 1 from features: for each layer, spatial mean of w_l · (ŷ − ŷ₀)², summed over channels."""
    out = []
    for f, f0, lin in zip(feats, feats0, lins, strict=True):
        diff = (normalize_channels(f, eps) - normalize_channels(f0, eps)).pow(2)
        out.append(lin(diff).mean(dim=(1, 2, 3)))  # (N, 1, H, W) → spatial average
    return out


# --------------------------------------------------------------------- examples
class TinyBackbone(nn.Module):
    """Stand-in for AlexNet/VGG: two conv + ReLU stages, returning both feature maps."""

    def __init__(self, channels: tuple[int, int] = TINY.channels) -> None:
        super().__init__()
        self.s1 = nn.Sequential(nn.Conv2d(3, channels[0], 3, padding=1), nn.ReLU())
        self.s2 = nn.Sequential(nn.Conv2d(channels[0], channels[1], 3, stride=2, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        a = self.s1(x)
        return [a, self.s2(a)]


@register_example(covers=[LPIPS, LinearLayer, ScalingLayer, normalize_channels, distance_from_features])
def lpips_distance() -> Example:
    g = seeded(0)
    model = LPIPS(TinyBackbone(), TINY)
    x = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    x0 = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    return Example(model=model, inputs=(x, x0), output_shapes=((2,),))
