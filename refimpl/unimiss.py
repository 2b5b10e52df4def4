"""Unified 2D and 3D Pre-training for Medical Image Classification and Segmentation (UniMiSS).

Yutong Xie, Jianpeng Zhang, Yong Xia, Qi Wu. 2021. arXiv:2112.09356.
Catalog id: ``unified-2d-3d-medical-pretraining``.

Implemented, at toy size: the idea that breaks the 2D/3D gap — one backbone
for 2D images and 3D volumes. Each dimensionality has its own stem (a 2D or a
3D patch embedding, i.e. a strided convolution) that turns the input into a
sequence of tokens of one width; the Transformer blocks after the stems are
shared, so 2D and 3D data train the same weights; a pooled token feeds a
shared classification head.

Official code: YtongXie/UniMiSS-code (``UniMiSS/models/MiT.py`` @ 0bce2c8,
``MiT_encoder.py``). Its MiT backbone is a pyramid Transformer: per-stage 2D
and 3D patch embeddings (``Conv2d`` / ``Conv3d``), Transformer blocks whose
q, kv, projection and MLP weights are shared by both dimensionalities while
the spatial-reduction convolution of each attention layer has a 2D and a 3D
copy, and a DINO-style self-distillation objective. This module keeps only
the shared-weight structure at toy size, so no official preset or parameter
count is reproduced.

Deviations from the paper and the official code: no pyramid of stages, no
spatial-reduction attention, no pre-training objective, no segmentation
decoder; the stems are single strided convolutions and the blocks are
``refimpl.vit`` blocks, fully shared between 2D and 3D inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded
from .vit import TransformerBlock


@dataclass(frozen=True)
class UniMiSSConfig:
    in_chans: int = 1  # CT / X-ray intensities
    patch_2d: int = 4
    patch_3d: int = 4
    dim: int = 32
    depth: int = 2
    num_heads: int = 4
    num_classes: int = 3


TINY = UniMiSSConfig()


class Stem2D(nn.Module):
    """(N, C, H, W) → tokens (N, HW/p², D)."""

    def __init__(self, in_chans: int, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Stem3D(nn.Module):
    """(N, C, D, H, W) → tokens (N, DHW/p³, D)."""

    def __init__(self, in_chans: int, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(in_chans, dim, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class UnifiedBackbone(nn.Module):
    """Dimension-specific stems, shared Transformer blocks, shared head: logits (N, classes)."""

    def __init__(self, config: UniMiSSConfig = TINY) -> None:
        super().__init__()
        self.stem_2d = Stem2D(config.in_chans, config.dim, config.patch_2d)
        self.stem_3d = Stem3D(config.in_chans, config.dim, config.patch_3d)
        self.blocks = nn.ModuleList(TransformerBlock(config.dim, config.num_heads, 2 * config.dim)
                                    for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.num_classes)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """2D input (N, C, H, W) or 3D input (N, C, D, H, W), chosen by the number of dimensions."""
        if x.dim() == 4:
            tokens = self.stem_2d(x)
        elif x.dim() == 5:
            tokens = self.stem_3d(x)
        else:
            raise ValueError(f"expected a 4-D image or 5-D volume batch, got shape {tuple(x.shape)}")
        return self.head(self.encode(tokens).mean(dim=1))


@register_example(covers=[UnifiedBackbone, Stem2D, Stem3D])
def unimiss_2d_and_3d() -> Example:
    g = seeded(0)
    model = UnifiedBackbone(TINY)
    images = torch.randn(2, 1, 16, 16, generator=g)
    volumes = torch.randn(2, 1, 8, 16, 16, generator=g)
    return Example(model=model, inputs=(images, volumes), output_shapes=((2, 3), (2, 3)),
                   run=lambda m, a, b: (m(a), m(b)))
