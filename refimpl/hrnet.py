"""High-Resolution Representations for Labeling Pixels and Regions (HRNetV2).

Ke Sun, Yang Zhao, Borui Jiang, Tianheng Cheng, Bin Xiao, Dong Liu, Yadong Mu,
Xinggang Wang, Wenyu Liu, Jingdong Wang. arXiv:1904.04514 (2019).
Catalog id: ``hrnet``.

Implemented:

* Sec. 3 / Fig. 2, the network: a stem of two stride-2 3 × 3 convs (1/4
  resolution), then four stages; stage s holds s parallel branches at
  resolutions 1/4 … 1/2^(s+1) with widths C, 2C, 4C, 8C; a new
  lower-resolution branch is started by a stride-2 3 × 3 conv from the
  lowest existing one (the transition).
* The high-resolution module: each branch runs four residual units
  (BasicBlocks; Bottlenecks in stage 1), then the multi-resolution fusion
  (exchange unit) sums, for every output branch i, all branches j resized
  to i: identity for j = i, 1 × 1 conv + BN + up-sampling for j > i, and
  (i − j) stride-2 3 × 3 convs for j < i; ReLU after the sum.
* Sec. 3, the HRNetV2 representation head: the four branch outputs
  up-sampled to 1/4 and concatenated (15C channels); for segmentation
  a 1 × 1 conv + BN + ReLU mixes them and a 1 × 1 conv predicts classes.

The notes' view, "UNet with convolution in skip connection": like a U-Net,
every resolution ends up merged into the full (1/4) resolution output; unlike
a U-Net, the high-resolution path is never collapsed to a bottleneck — it
is kept alive through every stage by convolutions, and the exchanges between
resolutions happen repeatedly (tested).

Parameter count: HRNetV2-W48 with the segmentation head for Cityscapes (19
classes) has 65,859,379 parameters, the sum over the layer definitions of
the authors' ``seg_hrnet.py`` (HRNet/HRNet-Semantic-Segmentation,
``seg_hrnet_w48`` config: stage modules 1/1/4/3, 4 blocks per branch); the
paper reports 65.9M (HRNetV2-W18: 9,641,119); tested.

Deviations from the paper:

* Up-sampling in the fusion and in the head is bilinear with
  ``align_corners=False`` (the authors' segmentation code makes it a config
  option); BN momentum is PyTorch's default.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class HRNetConfig:
    width: int = 48  # C of HRNetV2-W48 (Sec. 4: W18, W32, W48)
    stage_modules: tuple[int, int, int] = (1, 4, 3)  # modules in stages 2, 3, 4 (seg_hrnet_w48.yaml)
    num_blocks: int = 4  # residual units per branch per module
    stem_width: int = 64  # stem and stage-1 width
    stage1_blocks: int = 4  # Bottlenecks in stage 1
    num_classes: int = 19  # Cityscapes


TINY = HRNetConfig(width=4, stage_modules=(1, 1, 1), num_blocks=1, stem_width=8, stage1_blocks=1, num_classes=3)


# --------------------------------------------------------------------- residual units
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
        )
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, channels, 1, bias=False), nn.BatchNorm2d(channels))
                         if c_in != channels else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, channels: int) -> None:
        super().__init__()
        out = channels * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(c_in, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, out, 1, bias=False), nn.BatchNorm2d(out),
        )
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, out, 1, bias=False), nn.BatchNorm2d(out))
                         if c_in != out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


# --------------------------------------------------------------------- the high-resolution module
def _down(c_in: int, c_out: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class ExchangeUnit(nn.Module):
    """Multi-resolution fusion: output i = ReLU(Σ_j resize_{j→i}(x_j)), every branch keeps its shape."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        n = len(channels)
        self.paths = nn.ModuleList()
        for i in range(n):
            row = nn.ModuleList()
            for j in range(n):
                if j == i:
                    row.append(nn.Identity())
                elif j > i:  # lower resolution: 1×1 conv to C_i, then up-sample (in forward)
                    row.append(nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, bias=False),
                                             nn.BatchNorm2d(channels[i])))
                else:  # higher resolution: (i − j) stride-2 3×3 convs, the last without ReLU
                    steps = [_down(channels[j], channels[j], relu=True) for _ in range(i - j - 1)]
                    row.append(nn.Sequential(*steps, _down(channels[j], channels[i], relu=False)))
            self.paths.append(row)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = []
        for i, row in enumerate(self.paths):
            y = xs[i]
            for j, path in enumerate(row):
                if j == i:
                    continue
                z = path(xs[j])
                if j > i:
                    z = F.interpolate(z, size=xs[i].shape[-2:], mode="bilinear", align_corners=False)
                y = y + z
            outs.append(F.relu(y))
        return outs


class HighResolutionModule(nn.Module):
    """Parallel branches of residual units, then an exchange unit: list of n maps → list of n maps."""

    def __init__(self, channels: tuple[int, ...], num_blocks: int = 4) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(c, c) for _ in range(num_blocks))) for c in channels)
        self.fuse = ExchangeUnit(channels)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return self.fuse([branch(x) for branch, x in zip(self.branches, xs, strict=True)])


class Transition(nn.Module):
    """Between stages: adapt existing branches' widths, start one new branch at half the resolution."""

    def __init__(self, prev: tuple[int, ...], new: tuple[int, ...]) -> None:
        super().__init__()
        self.adapt = nn.ModuleList(
            nn.Sequential(nn.Conv2d(p, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()) if p != c
            else nn.Identity() for p, c in zip(prev, new, strict=False))
        self.new_branch = _down(prev[-1], new[-1], relu=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [f(x) for f, x in zip(self.adapt, xs, strict=False)] + [self.new_branch(xs[-1])]


# --------------------------------------------------------------------- the network
class HRNet(nn.Module):
    """Image (N, 3, H, W) → four maps at H/4 … H/32 with widths C, 2C, 4C, 8C."""

    def __init__(self, config: HRNetConfig = HRNetConfig()) -> None:
        super().__init__()
        s, c = config.stem_width, config.width
        self.stem = nn.Sequential(
            nn.Conv2d(3, s, 3, 2, 1, bias=False), nn.BatchNorm2d(s), nn.ReLU(),
            nn.Conv2d(s, s, 3, 2, 1, bias=False), nn.BatchNorm2d(s), nn.ReLU(),
        )
        self.stage1 = nn.Sequential(Bottleneck(s, s), *(Bottleneck(s * 4, s) for _ in range(config.stage1_blocks - 1)))
        widths = (s * 4,)
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        for n_branches, n_modules in zip((2, 3, 4), config.stage_modules, strict=True):
            new = tuple(c * 2**k for k in range(n_branches))
            self.transitions.append(Transition(widths, new))
            self.stages.append(nn.Sequential(*(HighResolutionModule(new, config.num_blocks) for _ in range(n_modules))))
            widths = new
        self.channels = widths

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        xs = [self.stage1(self.stem(x))]
        for transition, stage in zip(self.transitions, self.stages, strict=True):
            xs = stage(transition(xs))
        return xs


def hrnetv2_representation(xs: list[torch.Tensor]) -> torch.Tensor:
    """HRNetV2: up-sample every branch to the highest resolution and concatenate the channels."""
    size = xs[0].shape[-2:]
    return torch.cat([xs[0], *(F.interpolate(x, size=size, mode="bilinear", align_corners=False) for x in xs[1:])], 1)


class HRNetV2Segmentation(nn.Module):
    """Image (N, 3, H, W) → class logits (N, K, H/4, W/4)."""

    def __init__(self, config: HRNetConfig = HRNetConfig()) -> None:
        super().__init__()
        self.backbone = HRNet(config)
        c = sum(self.backbone.channels)  # 15C
        self.head = nn.Sequential(nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, config.num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(hrnetv2_representation(self.backbone(x)))


# --------------------------------------------------------------------- examples
@register_example(covers=[HRNetV2Segmentation, HRNet, HighResolutionModule, ExchangeUnit, Transition, BasicBlock,
                          Bottleneck, hrnetv2_representation])
def hrnetv2_segmentation() -> Example:
    g = seeded(0)
    model = HRNetV2Segmentation(TINY)
    image = torch.rand(2, 3, 32, 32, generator=g)
    return Example(model=model, inputs=(image,), output_shapes=((2, 3, 8, 8),))
