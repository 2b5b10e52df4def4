"""Dual Attention Network for Scene Segmentation.

Jun Fu, Jing Liu, Haijie Tian, Yong Li, Yongjun Bao, Zhiwei Fang, Hanqing Lu.
CVPR 2019. arXiv:1809.02983. Catalog id: ``danet``.

Implemented:

* Sec. 3.2 / Fig. 3a, the position attention module (PAM): B, C, D are
  1 × 1 convs of A (C/8, C/8, C channels), ``s_ji = softmax_i(B_iᵀ C_j)``
  over the N = H × W positions, ``E_j = α Σ_i s_ji D_i + A_j``, with the
  scale α initialised to 0 (so the module starts as the identity).
* Sec. 3.3 / Fig. 3b, the channel attention module (CAM): the C × C map
  of Eq. 3, ``x_ji = softmax_i(A_i · A_j)``, computed from A itself (no
  convs), ``E_j = β Σ_i x_ji A_i + A_j`` (Eq. 4), β initialised to 0. The
  authors' code takes the softmax over ``max_k(energy) − energy`` instead,
  which reverses the ranking (the most similar channel gets the least
  weight); ``inverted_channel_energy=True`` (the ``OFFICIAL`` preset) gives
  that form.
* Sec. 3.4 / Fig. 2, the head (authors' ``DANetHead``): two 3 × 3 conv + BN +
  ReLU reductions to C/4, PAM on one and CAM on the other, a 3 × 3 conv +
  BN + ReLU after each, the element-wise sum, and 1 × 1 classifiers (with
  dropout 0.1) on the sum and on each branch (the auxiliary outputs).

The notes single out the authors' code for synchronised batch norm: every
norm layer here is built by ``norm_layer`` (``nn.BatchNorm2d`` by default;
pass ``nn.SyncBatchNorm`` for multi-GPU training as the authors do).

Official preset: ``OFFICIAL`` follows the authors' code (junfu1115/DANet
``encoding/models/sseg/danet.py`` ``DANetHead``, ``encoding/nn/da_att.py``
``PAM_Module``/``CAM_Module``, ``encoding/models/sseg/base.py`` up-sampling
``bilinear, align_corners=True``; commit b0a0fa008148f102321cdaa7ca38fb0ddd0239d1).
Parameter count: the head for a dilated ResNet's 2,048-channel features and
19 Cityscapes classes has 23,954,619 parameters, the sum over the authors'
``DANetHead``: conv5a, conv5c 2 × 9,438,208; PAM 328,321; CAM 1; conv51,
conv52 2 × 2,360,320; conv6/7/8 3 × 9,747; tested.

Deviations from the paper:

* The dilated ResNet-101 backbone (output stride 8) is not included: the
  ``DANet`` wrapper takes any backbone returning the last feature map.
* The logits are up-sampled bilinearly with ``align_corners=True`` (the
  authors' code; the paper does not say).

Deviations of the official code from the paper: the channel attention's
softmax over ``max − energy`` instead of Eq. 3's ``energy`` (above).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DANetConfig:
    in_channels: int = 2048  # Sec. 4.2: dilated ResNet-101 last stage
    num_classes: int = 19  # Cityscapes
    reduction: int = 4  # authors' DANetHead: inter_channels = in_channels // 4
    qk_reduction: int = 8  # Sec. 3.2: B and C have C/8 channels
    dropout: float = 0.1  # authors' DANetHead: Dropout2d(0.1) before each classifier
    inverted_channel_energy: bool = False  # Eq. 3: softmax over A_i · A_j (authors' code: max − energy)


OFFICIAL = DANetConfig(inverted_channel_energy=True)  # junfu1115/DANet encoding/nn/da_att.py CAM_Module
TINY = DANetConfig(in_channels=32, num_classes=3)


# --------------------------------------------------------------------- attention modules
class PositionAttention(nn.Module):
    """PAM: (B, C, H, W) → (B, C, H, W); identity at initialisation (α = 0)."""

    def __init__(self, channels: int, qk_reduction: int = 8) -> None:
        super().__init__()
        inner = max(channels // qk_reduction, 1)
        self.query = nn.Conv2d(channels, inner, 1)  # B
        self.key = nn.Conv2d(channels, inner, 1)  # C
        self.value = nn.Conv2d(channels, channels, 1)  # D
        self.alpha = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """S (B, N, N): row j holds the weights position j gives every position i; rows sum to 1."""
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, N)
        return torch.softmax(q @ k, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        out = self.value(x).flatten(2) @ self.attention(x).transpose(1, 2)  # (B, C, N)
        return self.alpha * out.view(b, c, h, w) + x


class ChannelAttention(nn.Module):
    """CAM: (B, C, H, W) → (B, C, H, W); identity at initialisation (β = 0).

    ``inverted_energy``: the authors' code's softmax over ``max − energy``
    rather than Eq. 3's ``energy``.
    """

    def __init__(self, inverted_energy: bool = DANetConfig.inverted_channel_energy) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.zeros(1))
        self.inverted_energy = inverted_energy

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """X (B, C, C), rows summing to 1: row j holds the weights channel j gives every channel i."""
        a = x.flatten(2)
        energy = a @ a.transpose(1, 2)
        if self.inverted_energy:
            energy = energy.max(dim=-1, keepdim=True).values - energy
        return torch.softmax(energy, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        out = self.attention(x) @ x.flatten(2)
        return self.beta * out.view(b, c, h, w) + x


# --------------------------------------------------------------------- head and network
def _conv_norm_relu(c_in: int, c_out: int, norm_layer: Callable[[int], nn.Module]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), norm_layer(c_out), nn.ReLU())


class DANetHead(nn.Module):
    """Backbone features (N, C_in, h, w) → (fused, PAM-only, CAM-only) logits, each (N, K, h, w)."""

    def __init__(self, config: DANetConfig = DANetConfig(),
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        inter = config.in_channels // config.reduction
        self.reduce_p = _conv_norm_relu(config.in_channels, inter, norm_layer)
        self.reduce_c = _conv_norm_relu(config.in_channels, inter, norm_layer)
        self.pam = PositionAttention(inter, config.qk_reduction)
        self.cam = ChannelAttention(config.inverted_channel_energy)
        self.conv_p = _conv_norm_relu(inter, inter, norm_layer)
        self.conv_c = _conv_norm_relu(inter, inter, norm_layer)
        self.cls_p, self.cls_c, self.cls_sum = (
            nn.Sequential(nn.Dropout2d(config.dropout), nn.Conv2d(inter, config.num_classes, 1)) for _ in range(3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = self.conv_p(self.pam(self.reduce_p(x)))
        c = self.conv_c(self.cam(self.reduce_c(x)))
        return self.cls_sum(p + c), self.cls_p(p), self.cls_c(c)


class DANet(nn.Module):
    """Any backbone + DANetHead; logits bilinearly up-sampled (corners aligned) to the input size."""

    def __init__(self, backbone: nn.Module, config: DANetConfig = DANetConfig(),
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = DANetHead(config, norm_layer)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        size = image.shape[-2:]
        return tuple(F.interpolate(o, size=size, mode="bilinear", align_corners=True)
                     for o in self.head(self.backbone(image)))


# --------------------------------------------------------------------- examples
@register_example(covers=[DANet, DANetHead, PositionAttention, ChannelAttention])
def danet_segmentation() -> Example:
    g = seeded(0)
    backbone = nn.Sequential(nn.Conv2d(3, TINY.in_channels, 3, stride=4, padding=1), nn.ReLU())
    model = DANet(backbone, TINY)
    with torch.no_grad():  # non-zero α, β so the smoke test sees the attention paths
        model.head.pam.alpha.fill_(0.5)
        model.head.cam.beta.fill_(0.5)
    image = torch.rand(2, 3, 16, 16, generator=g)
    return Example(model=model, inputs=(image,), output_shapes=((2, 3, 16, 16),) * 3)
