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
* The ImageNet classification head (``HRNetClassifier``, the authors'
  HRNet/HRNet-Image-Classification ``lib/models/cls_hrnet.py``): each
  branch is widened by one Bottleneck to 128, 256, 512, 1024 channels
  (incremental modules), merged from high to low resolution by stride-2
  3 × 3 conv + BN + ReLU downsampling modules, a 1 × 1 conv + BN + ReLU to
  2048 channels, global average pooling and a linear classifier.

The notes' view, "UNet with convolution in skip connection": like a U-Net,
every resolution ends up merged into the full (1/4) resolution output; unlike
a U-Net, the high-resolution path is never collapsed to a bottleneck — it
is kept alive through every stage by convolutions, and the exchanges between
resolutions happen repeatedly (tested).

Official presets and parameter counts (tested on the ``meta`` device):

* Segmentation, ``SEG_W48`` = ``HRNetConfig()`` (HRNet/HRNet-Semantic-
  Segmentation ``lib/models/seg_hrnet.py`` with the ``seg_hrnet_w48``
  Cityscapes config: stage modules 1/4/3, 4 blocks per branch, bilinear
  fusion with ``ALIGN_CORNERS: False``; commit
  0bbb2880446ddff2d78f8dd7e8c4c610151d5a51): 65,859,379 parameters for 19
  classes (the paper reports 65.9M); ``SEG_W18`` 9,641,119.
* Classification, ``CLS_W18`` … ``CLS_W64`` (``cls_hrnet.py`` with
  ``experiments/cls_hrnet_w*_sgd_lr5e-2_wd1e-4_bs32_x100.yaml``, nearest
  up-sampling in the fusion; commit f760c988482cdb8a1f69b10b219d669721144582),
  counted by instantiating the authors' model: W18 21,299,004; W30
  37,712,220; W32 41,232,680; W40 57,557,160; W44 67,064,984; W48
  77,469,864; W64 128,059,944 (the classification head is 11,736,744 of
  W18's).

BN momentum is 0.1 in both official codes, PyTorch's default.

Deviations from the paper: none in what is implemented. The up-sampling in
the fusion follows each official code (bilinear, corners not aligned, for
segmentation; nearest for classification), which the paper leaves open.

"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    fusion_upsample: str = "bilinear"  # seg_hrnet.py: bilinear, align_corners False (cls_hrnet.py: "nearest")
    head_channels: tuple[int, int, int, int] = (32, 64, 128, 256)  # cls_hrnet.py: incremental Bottleneck widths
    feature_dim: int = 2048  # cls_hrnet.py: final 1 × 1 conv before pooling


SEG_W48 = HRNetConfig()  # seg_hrnet_w48 (Cityscapes)
SEG_W18 = HRNetConfig(width=18)
CLS_W18, CLS_W30, CLS_W32, CLS_W40, CLS_W44, CLS_W48, CLS_W64 = (
    HRNetConfig(width=w, num_classes=1000, fusion_upsample="nearest") for w in (18, 30, 32, 40, 44, 48, 64))
TINY = HRNetConfig(width=4, stage_modules=(1, 1, 1), num_blocks=1, stem_width=8, stage1_blocks=1, num_classes=3,
                   head_channels=(2, 4, 8, 16), feature_dim=32)


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


def _upsample(x: torch.Tensor, size: torch.Size, mode: str) -> torch.Tensor:
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    if mode == "bilinear":
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    raise ValueError(f"unknown up-sampling mode {mode!r}: expected 'bilinear' or 'nearest'")


class ExchangeUnit(nn.Module):
    """Multi-resolution fusion: output i = ReLU(Σ_j resize_{j→i}(x_j)), every branch keeps its shape."""

    def __init__(self, channels: tuple[int, ...], upsample: str = HRNetConfig.fusion_upsample) -> None:
        super().__init__()
        self.upsample = upsample
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
                    z = _upsample(z, xs[i].shape[-2:], self.upsample)
                y = y + z
            outs.append(F.relu(y))
        return outs


class HighResolutionModule(nn.Module):
    """Parallel branches of residual units, then an exchange unit: list of n maps → list of n maps."""

    def __init__(self, channels: tuple[int, ...], num_blocks: int = 4,
                 upsample: str = HRNetConfig.fusion_upsample) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(c, c) for _ in range(num_blocks))) for c in channels)
        self.fuse = ExchangeUnit(channels, upsample)

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
            self.stages.append(nn.Sequential(*(HighResolutionModule(new, config.num_blocks, config.fusion_upsample)
                                                   for _ in range(n_modules))))
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


class HRNetClassifier(nn.Module):
    """Image (N, 3, H, W) → class logits (N, K): incremental, downsampling and final modules, pooling, FC."""

    def __init__(self, config: HRNetConfig = CLS_W18) -> None:
        super().__init__()
        self.backbone = HRNet(config)
        head = config.head_channels
        self.incre = nn.ModuleList(Bottleneck(c, h) for c, h in zip(self.backbone.channels, head, strict=True))
        wide = [h * Bottleneck.expansion for h in head]
        self.downsample = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, 2, 1), nn.BatchNorm2d(b), nn.ReLU()) for a, b in zip(wide[:-1], wide[1:], strict=True))
        self.final = nn.Sequential(nn.Conv2d(wide[-1], config.feature_dim, 1), nn.BatchNorm2d(config.feature_dim),
                                   nn.ReLU())
        self.classifier = nn.Linear(config.feature_dim, config.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled 2048-d representation."""
        xs = self.backbone(x)
        y = self.incre[0](xs[0])
        for incre, down, branch in zip(self.incre[1:], self.downsample, xs[1:], strict=True):
            y = incre(branch) + down(y)  # from the highest resolution down to the lowest
        return self.final(y).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# --------------------------------------------------------------------- examples
@register_example(covers=[HRNetV2Segmentation, HRNet, HighResolutionModule, ExchangeUnit, Transition, BasicBlock,
                          Bottleneck, hrnetv2_representation])
def hrnetv2_segmentation() -> Example:
    g = seeded(0)
    model = HRNetV2Segmentation(TINY)
    image = torch.rand(2, 3, 32, 32, generator=g)
    return Example(model=model, inputs=(image,), output_shapes=((2, 3, 8, 8),))


@register_example(covers=[HRNetClassifier])
def hrnet_classification() -> Example:
    g = seeded(0)
    model = HRNetClassifier(replace(TINY, num_classes=5, fusion_upsample="nearest"))
    image = torch.rand(2, 3, 32, 32, generator=g)
    return Example(model=model, inputs=(image,), output_shapes=((2, 5),))
