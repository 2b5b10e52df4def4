"""Perceptual-loss features: the backbone choice (VGG, not ResNet) and the per-layer weights.

Two findings from the catalog's notes, no single paper. Catalog ids:
``vgg-perceptual-features`` (noted beside Deep Image Prior: for a perceptual
loss, VGG features give better results than ResNet features) and
``perceptual-loss-weighting`` (face-swap experiments: a perceptual-loss
weight of 1 destabilised training; the weights ``[.01, .1, .1]`` on three
layers were used, also not optimal).

Implemented:

* ``vgg_features``: the convolutional part of VGG-16 / VGG-19 (Simonyan &
  Zisserman 2015, Table 1, configurations D and E) laid out index for index
  as torchvision's ``vgg16().features`` / ``vgg19().features``, so that
  pretrained weights load by name and the usual taps keep their indices
  (``relu1_2`` = 3, ``relu2_2`` = 8, ``relu3_3`` = 15, ``relu4_3`` = 22 in
  VGG-16).
* ``FeatureTaps``: runs any backbone (a VGG ``Sequential``, or a ResNet whose
  stages are named ``layer1``…``layer4``) and returns the activations of the
  chosen named submodules in order; the choice of backbone and layers is the
  config.
* ``weighted_perceptual_loss``: ``Σ_l w_l · mean |φ_l(x) − φ_l(y)|`` with the
  notes' weights ``(0.01, 0.1, 0.1)`` as the default
  (``PerceptualWeightsConfig``), and the overall weight that the notes found
  unstable at 1.

Parameter count: VGG-16 features 14,714,688; VGG-19 features 20,024,384
(torchvision's ``vgg16().features`` / ``vgg19().features``, the sums over
Table 1's 3×3 convs with biases); tested.

Official code: none — the two findings are notes, not a paper with code. The
layer layout is that of torchvision's ``models/vgg.py`` (configurations "D"
and "E"), so the published ImageNet weights load by name.

Deviations:

* Pretrained weights are not downloaded (no network access in a model file);
  load torchvision's ImageNet weights into ``vgg_features`` with
  ``load_state_dict`` (the keys match). The finding itself (VGG better than
  ResNet) is a training result and is not reproduced by a test; the tests
  check the mechanics the finding is about: which layers are tapped.
* The notes do not say which layers the three weights apply to; the
  default taps are VGG-16 ``relu1_2``, ``relu2_2``, ``relu3_3`` (Johnson et
  al. 2016's choice for style, with ``relu2_2`` for content), the layers the
  face-swap GAN's VGGFace perceptual loss most resembles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded

# Table 1 of Simonyan & Zisserman: output channels per conv, "M" a 2×2 max-pool.
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}


@dataclass(frozen=True)
class PerceptualWeightsConfig:
    backbone: str = "vgg16"  # the finding: VGG features beat ResNet features for a perceptual loss
    layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3")  # see Deviations: the notes name no layers
    weights: tuple[float, ...] = (0.01, 0.1, 0.1)  # the face-swap notes: "the weighting [.01, .1, .1] I used"
    loss_weight: float = 0.1  # below 1, which "unstabilized training" in the notes (their chosen scale is unstated)


def vgg_layer_names(name: str = "vgg16") -> dict[str, int]:
    """``relu{block}_{conv}`` and ``pool{block}`` -> index in torchvision's ``features`` Sequential."""
    names, index, block, conv = {}, 0, 1, 1
    for item in VGG_CONFIGS[name]:
        if item == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index, conv = index + 2, conv + 1
    return names


def vgg_features(name: str = "vgg16", width_divisor: int = 1, in_channels: int = 3) -> nn.Sequential:
    """VGG's conv stack (3×3 convs with padding 1, ReLU, 2×2 max-pools), torchvision's layout."""
    layers: list[nn.Module] = []
    c = in_channels
    for item in VGG_CONFIGS[name]:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            out = int(item) // width_divisor
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(inplace=True)]
            c = out
    return nn.Sequential(*layers)


class FeatureTaps(nn.Module):
    """Activations of named submodules of ``backbone`` (e.g. ``"15"`` in a VGG, ``"layer2"`` in a ResNet)."""

    def __init__(self, backbone: nn.Module, taps: Sequence[str]) -> None:
        super().__init__()
        names = dict(backbone.named_modules())
        missing = [t for t in taps if t not in names]
        if missing:
            raise ValueError(f"backbone has no submodule named {', '.join(missing)}")
        self.backbone = backbone
        self.taps = tuple(taps)
        self._modules_by_name = {t: names[t] for t in self.taps}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        found: dict[str, torch.Tensor] = {}
        handles = [m.register_forward_hook(lambda _m, _i, out, t=t: found.__setitem__(t, out.clone()))
                   for t, m in self._modules_by_name.items()]
        try:
            self.backbone(x)
        finally:
            for h in handles:
                h.remove()
        return [found[t] for t in self.taps]


def vgg_taps(config: PerceptualWeightsConfig = PerceptualWeightsConfig(), width_divisor: int = 1) -> FeatureTaps:
    """The VGG backbone of ``config`` cut after its last tapped layer, tapping ``config.layers``."""
    index = vgg_layer_names(config.backbone)
    positions = [index[name] for name in config.layers]
    backbone = vgg_features(config.backbone, width_divisor)[: max(positions) + 1]
    return FeatureTaps(backbone, [str(p) for p in positions])


def weighted_perceptual_loss(features_x: Sequence[torch.Tensor], features_y: Sequence[torch.Tensor],
                             weights: Sequence[float] = PerceptualWeightsConfig.weights) -> torch.Tensor:
    """``Σ_l w_l · mean |φ_l(x) − φ_l(y)|``; one weight per tapped layer."""
    if not len(features_x) == len(features_y) == len(weights):
        raise ValueError(f"{len(features_x)} and {len(features_y)} feature maps for {len(weights)} weights")
    return sum(w * (fx - fy).abs().mean() for w, fx, fy in zip(weights, features_x, features_y, strict=True))


# --------------------------------------------------------------------- examples
@register_example(covers=[vgg_features, vgg_layer_names, vgg_taps, FeatureTaps, weighted_perceptual_loss])
def perceptual_features_vgg() -> Example:
    g = seeded(0)
    config = PerceptualWeightsConfig()
    taps = vgg_taps(config, width_divisor=16)

    def run(m: FeatureTaps, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fx, fy = m(x), m(y)
        return (*fx, config.loss_weight * weighted_perceptual_loss(fx, fy, config.weights))

    return Example(model=taps, inputs=(torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)),
                   output_shapes=((1, 4, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4), ()), run=run)
