"""RetinaFace: Single-stage Dense Face Localisation in the Wild.

Jiankang Deng, Jia Guo, Yuxiang Zhou, Jinke Yu, Irene Kotsia, Stefanos
Zafeiriou. arXiv:1905.00641 (2019; CVPR 2020). Catalog id: ``retinaface``.

Implemented, following the paper and the widely used PyTorch port
(biubug6/Pytorch_Retinaface, its configurations ``cfg_mnet`` and ``cfg_re50``):

* Anchors as in the port (the paper's ResNet-152 model puts three scales on
  each of P2–P6): square priors of two sizes per level at strides 8, 16, 32
  (sizes 16/32, 64/128, 256/512 on a 640 × 640 input:
  80² · 2 + 40² · 2 + 20² · 2 = 16,800 anchors), centred on each cell, in
  normalised (cx, cy, w, h), ordered level by level, row-major, sizes
  innermost: the order in which the heads' outputs are flattened.
* The SSD box coding with variances (0.1, 0.2):
  ``t_xy = (c_gt − c_a) / (0.1 · wh_a)``, ``t_wh = log(wh_gt / wh_a) / 0.2``,
  and the five landmarks coded like box centres; ``decode`` inverts both.
* Sec. 4.2, matching: each anchor takes the ground-truth face of highest
  IoU; it is a positive at IoU ≥ 0.5, background below 0.3 and ignored in
  between. As in the port, each face whose best anchor overlaps it by at
  least 0.2 keeps that anchor as a positive; faces below 0.2 ("hard" faces)
  force nothing, and an image whose faces are all hard is all background.
* Eq. 1, the multi-task loss ``L = L_cls + λ₁ p* L_box + λ₂ p* L_pts`` with
  λ₁ = 0.25, λ₂ = 0.1: softmax face/background on positives and the hardest
  negatives (Sec. 4.2, OHEM with negatives : positives = 3 : 1), smooth-L1
  boxes on positives, smooth-L1 landmarks on positives that have annotated
  landmarks; each term divided by its number of positives.
* The port's networks: MobileNet-0.25 (or ResNet-50) backbone levels at
  strides 8/16/32, a top-down FPN (1 × 1 laterals, nearest up-sampling,
  3 × 3 merges), one SSH context module per level (3 × 3 branch with half
  the channels, 5 × 5 and 7 × 7 receptive fields from stacked 3 × 3 convs
  with a quarter each, ReLU after the concatenation), and 1 × 1 class / box
  / landmark heads per level. LeakyReLU slopes as in the port: 0.1 in
  MobileNet, and 0.1 in the FPN and SSH when their width is ≤ 64, else 0
  (plain ReLU, the ResNet-50 model). BN momentum is PyTorch's default, as
  in the port.

Official presets (biubug6/Pytorch_Retinaface ``data/config.py``,
``train.py``, commit b984b4b775b2c4dced95c1eadd195a5c7d32a60b):
``OFFICIAL_MNET`` (MobileNet-0.25, 64 channels, 640 × 640) has 426,608
parameters (backbone stages 1–3 213,072; FPN 103,040; SSH 3 × 34,752;
heads 6,240), ``OFFICIAL_RESNET50`` (256 channels, 840 × 840) 27,293,600
(ResNet-50 up to layer4 23,508,032; FPN 2,099,712; SSH 3 × 553,728; heads
24,672) — counted by instantiating the port's ``models/retinaface.py``;
tested. ``RetinaFaceConfig()`` is the MobileNet-0.25 network with the
paper's training values.

Deviations from the paper:

* The paper's ResNet-152 backbone with P2–P6 (three anchor scales per level)
  and its self-supervised mesh-decoder branch (the dense regression loss and
  its weight λ₃ = 0.01) are left out; the networks are the port's.
* The "hard face" rule (best IoU < 0.2) is the port's; the paper does not
  say how faces without a matching anchor are handled.

Deviations of the official presets from the paper (the port's values):
positive IoU ≥ 0.35 and background below 0.35 (no ignored band), 7
negatives per positive, box weight λ₁ = 2 and landmark weight λ₂ = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class RetinaFaceConfig:
    backbone: str = "mobilenet0.25"  # "mobilenet0.25" or "resnet50" (the port's two models)
    min_sizes: tuple[tuple[int, ...], ...] = ((16, 32), (64, 128), (256, 512))  # cfg_mnet anchor sizes per level
    steps: tuple[int, ...] = (8, 16, 32)  # cfg_mnet strides
    variances: tuple[float, float] = (0.1, 0.2)  # cfg_mnet box-coding variances
    image_size: int = 640  # Sec. 4.2: 640 × 640 training crops
    width_mult: float = 0.25  # MobileNet-0.25 (cfg_mnet)
    out_channels: int = 64  # cfg_mnet out_channel (FPN / SSH width)
    pos_iou: float = 0.5  # Sec. 4.2: anchors with IoU > 0.5 are faces
    neg_iou: float = 0.3  # Sec. 4.2: IoU < 0.3 is background; in between ignored
    hard_face_iou: float = 0.2  # port's box_utils.match: faces whose best anchor is below this force nothing
    neg_pos_ratio: int = 3  # Sec. 4.2: OHEM, negatives : positives = 3 : 1
    box_weight: float = 0.25  # Eq. 1: λ₁
    landmark_weight: float = 0.1  # Eq. 1: λ₂


# biubug6/Pytorch_Retinaface data/config.py cfg_mnet / cfg_re50 and train.py MultiBoxLoss(2, 0.35, True, 0, True, 7, 0.35)
OFFICIAL_MNET = RetinaFaceConfig(pos_iou=0.35, neg_iou=0.35, neg_pos_ratio=7, box_weight=2.0, landmark_weight=1.0)
OFFICIAL_RESNET50 = replace(OFFICIAL_MNET, backbone="resnet50", out_channels=256, image_size=840)
TINY = RetinaFaceConfig(min_sizes=((4, 8), (16, 32), (64, 128)), image_size=64, width_mult=0.125, out_channels=16)

BACKGROUND, FACE, FACE_NO_LANDMARKS, IGNORED = 0, 1, -1, -2  # anchor labels produced by ``match``


# --------------------------------------------------------------------- anchors and box coding
def prior_boxes(image_size: tuple[int, int], min_sizes=RetinaFaceConfig.min_sizes,
                steps=RetinaFaceConfig.steps) -> torch.Tensor:
    """Anchors (A, 4) as normalised (cx, cy, w, h), level by level, row-major, sizes innermost."""
    h, w = image_size
    out = []
    for sizes, step in zip(min_sizes, steps, strict=True):
        fh, fw = math.ceil(h / step), math.ceil(w / step)
        cy, cx = torch.meshgrid((torch.arange(fh) + 0.5) * step / h, (torch.arange(fw) + 0.5) * step / w, indexing="ij")
        for_level = [torch.stack([cx, cy, torch.full_like(cx, s / w), torch.full_like(cy, s / h)], dim=-1)
                     for s in sizes]
        out.append(torch.stack(for_level, dim=2).reshape(-1, 4))
    return torch.cat(out)


def point_form(boxes: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) → (x1, y1, x2, y2)."""
    return torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], dim=1)


def encode(matched: torch.Tensor, priors: torch.Tensor, variances=RetinaFaceConfig.variances) -> torch.Tensor:
    """Corner boxes (A, 4) → offsets (A, 4) relative to the priors (cx, cy, w, h)."""
    centre = ((matched[:, :2] + matched[:, 2:]) / 2 - priors[:, :2]) / (variances[0] * priors[:, 2:])
    size = torch.log((matched[:, 2:] - matched[:, :2]) / priors[:, 2:]) / variances[1]
    return torch.cat([centre, size], dim=1)


def decode(loc: torch.Tensor, priors: torch.Tensor, variances=RetinaFaceConfig.variances) -> torch.Tensor:
    """Offsets (A, 4) → corner boxes (A, 4): the inverse of ``encode``."""
    centre = priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:]
    size = priors[:, 2:] * torch.exp(loc[:, 2:] * variances[1])
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


def encode_landmarks(matched: torch.Tensor, priors: torch.Tensor, variances=RetinaFaceConfig.variances) -> torch.Tensor:
    """Five points (A, 10) as (x1, y1, …, x5, y5) → offsets from the prior centre in units of 0.1 · wh."""
    pts = matched.view(-1, 5, 2)
    return ((pts - priors[:, None, :2]) / (variances[0] * priors[:, None, 2:])).reshape(-1, 10)


def decode_landmarks(pre: torch.Tensor, priors: torch.Tensor, variances=RetinaFaceConfig.variances) -> torch.Tensor:
    """Inverse of ``encode_landmarks``."""
    pts = priors[:, None, :2] + pre.view(-1, 5, 2) * variances[0] * priors[:, None, 2:]
    return pts.reshape(-1, 10)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU (N, M) of corner boxes a (N, 4) and b (M, 4)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp_min(0).prod(dim=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(dim=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(dim=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def match(truths: torch.Tensor, labels: torch.Tensor, landmarks: torch.Tensor, priors: torch.Tensor,
          pos_iou: float = RetinaFaceConfig.pos_iou, neg_iou: float = RetinaFaceConfig.neg_iou,
          variances=RetinaFaceConfig.variances,
          hard_face_iou: float = RetinaFaceConfig.hard_face_iou) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Targets for one image: box offsets (A, 4), labels (A,), landmark offsets (A, 10).

    truths (G, 4) corner boxes, labels (G,) ``FACE`` or ``FACE_NO_LANDMARKS``,
    landmarks (G, 10). Anchor labels: the matched face's label at IoU ≥
    ``pos_iou``, ``BACKGROUND`` below ``neg_iou``, ``IGNORED`` in between.
    """
    overlaps = box_iou(truths, point_form(priors))  # (G, A)
    best_prior_overlap, best_prior = overlaps.max(dim=1)  # per face
    valid = best_prior_overlap >= hard_face_iou
    if not valid.any():  # the port: an image of hard faces only is all background
        n = priors.shape[0]
        return priors.new_zeros(n, 4), labels.new_zeros(n), priors.new_zeros(n, 10)
    best_truth_overlap, best_truth = overlaps.max(dim=0)  # per anchor
    best_truth_overlap[best_prior[valid]] = 2.0  # a face that is not hard keeps its best anchor
    # The port reassigns every face's best anchor to that face, hard or not (its loop over all faces).
    best_truth[best_prior] = torch.arange(truths.shape[0], device=truths.device)
    conf = labels[best_truth].clone()
    conf[best_truth_overlap < pos_iou] = IGNORED
    conf[best_truth_overlap < neg_iou] = BACKGROUND
    return (encode(truths[best_truth], priors, variances), conf,
            encode_landmarks(landmarks[best_truth], priors, variances))


def multibox_loss(loc: torch.Tensor, conf: torch.Tensor, landm: torch.Tensor, loc_t: torch.Tensor,
                  conf_t: torch.Tensor, landm_t: torch.Tensor,
                  neg_pos_ratio: int = RetinaFaceConfig.neg_pos_ratio,
                  box_weight: float = RetinaFaceConfig.box_weight,
                  landmark_weight: float = RetinaFaceConfig.landmark_weight) -> torch.Tensor:
    """Eq. 1 over a batch: (N, A, 4/2/10) predictions and the targets of ``match``."""
    pos = (conf_t == FACE) | (conf_t == FACE_NO_LANDMARKS)
    background = conf_t == BACKGROUND
    n_pos = pos.sum().clamp_min(1).to(loc.dtype)
    with_landmarks = conf_t == FACE
    n_lm = with_landmarks.sum().clamp_min(1).to(loc.dtype)
    loss_l = F.smooth_l1_loss(loc[pos], loc_t[pos], reduction="sum") / n_pos
    loss_landm = F.smooth_l1_loss(landm[with_landmarks], landm_t[with_landmarks], reduction="sum") / n_lm
    target = pos.long()  # faces with or without landmarks are both "face"
    ce = F.cross_entropy(conf.reshape(-1, 2), target.reshape(-1), reduction="none").view_as(conf_t)
    # Hard negative mining: per image, the neg_pos_ratio · n_pos background anchors with the largest loss.
    mining = ce.detach().masked_fill(~background, -1.0)
    rank = mining.argsort(dim=1, descending=True).argsort(dim=1)
    n_neg = (neg_pos_ratio * pos.sum(dim=1, keepdim=True)).clamp(max=pos.shape[1] - 1)
    neg = (rank < n_neg) & background
    loss_c = ce[pos | neg].sum() / n_pos
    return box_weight * loss_l + loss_c + landmark_weight * loss_landm


# --------------------------------------------------------------------- network
def _conv_bn(c_in: int, c_out: int, stride: int = 1, leaky: float = 0.0, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)]
    if relu:
        layers.append(nn.LeakyReLU(leaky))
    return nn.Sequential(*layers)


def _conv_dw(c_in: int, c_out: int, stride: int, leaky: float = 0.1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False), nn.BatchNorm2d(c_in), nn.LeakyReLU(leaky),
        nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(leaky),
    )


class MobileNetV1(nn.Module):
    """MobileNet-V1 (× width_mult) stages 1–3: image → features at strides 8, 16, 32."""

    def __init__(self, width_mult: float = 0.25) -> None:
        super().__init__()
        c = [int(n * width_mult) for n in (32, 64, 128, 256, 512, 1024)]
        self.stage1 = nn.Sequential(
            _conv_bn(3, c[0], 2, leaky=0.1), _conv_dw(c[0], c[1], 1), _conv_dw(c[1], c[2], 2),
            _conv_dw(c[2], c[2], 1), _conv_dw(c[2], c[3], 2), _conv_dw(c[3], c[3], 1),
        )
        self.stage2 = nn.Sequential(_conv_dw(c[3], c[4], 2), *(_conv_dw(c[4], c[4], 1) for _ in range(5)))
        self.stage3 = nn.Sequential(_conv_dw(c[4], c[5], 2), _conv_dw(c[5], c[5], 1))
        self.channels = (c[3], c[4], c[5])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        s1 = self.stage1(x)
        s2 = self.stage2(s1)
        return [s1, s2, self.stage3(s2)]


class _ResNetBottleneck(nn.Module):
    """ResNet-50 unit (1×1, 3×3 with the stride, 1×1 × 4), torchvision's layout as the port loads it."""

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out = width * 4
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out),
        )
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))
                         if stride != 1 or c_in != out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50 up to layer4 (the port's ``cfg_re50``): image → layer2/3/4 features at strides 8, 16, 32."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, c_in = [], 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            units = [_ResNetBottleneck(c_in, width, stride)]
            c_in = width * 4
            units += [_ResNetBottleneck(c_in, width) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*units))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.channels = (512, 1024, 2048)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c2 = self.layer2(self.layer1(self.stem(x)))
        c3 = self.layer3(c2)
        return [c2, c3, self.layer4(c3)]


class FPN(nn.Module):
    """Top-down pyramid: 1×1 laterals, nearest up-sampling, 3×3 merge; all levels → out_channels."""

    def __init__(self, in_channels: tuple[int, ...], out_channels: int) -> None:
        super().__init__()
        leaky = 0.1 if out_channels <= 64 else 0.0  # the port's choice
        self.lateral = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.LeakyReLU(leaky))
            for c in in_channels)
        self.merge = nn.ModuleList(_conv_bn(out_channels, out_channels, leaky=leaky) for _ in in_channels[:-1])

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = [lat(f) for lat, f in zip(self.lateral, feats, strict=True)]
        for i in range(len(outs) - 2, -1, -1):  # from coarse to fine
            up = F.interpolate(outs[i + 1], size=outs[i].shape[-2:], mode="nearest")
            outs[i] = self.merge[i](outs[i] + up)
        return outs


class SSH(nn.Module):
    """Context module: concat of 3×3 (C/2), 5×5-like (C/4) and 7×7-like (C/4) branches, then ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        leaky = 0.1 if channels <= 64 else 0.0
        self.conv3 = _conv_bn(channels, channels // 2, relu=False)
        self.conv5_1 = _conv_bn(channels, channels // 4, leaky=leaky)
        self.conv5_2 = _conv_bn(channels // 4, channels // 4, relu=False)
        self.conv7_2 = _conv_bn(channels // 4, channels // 4, leaky=leaky)
        self.conv7_3 = _conv_bn(channels // 4, channels // 4, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c5 = self.conv5_1(x)
        return F.relu(torch.cat([self.conv3(x), self.conv5_2(c5), self.conv7_3(self.conv7_2(c5))], dim=1))


class RetinaFace(nn.Module):
    """Image (N, 3, H, W) → box offsets (N, A, 4), face logits (N, A, 2), landmark offsets (N, A, 10)."""

    def __init__(self, config: RetinaFaceConfig = RetinaFaceConfig()) -> None:
        super().__init__()
        self.config = config
        if config.backbone == "mobilenet0.25":
            self.backbone: nn.Module = MobileNetV1(config.width_mult)
        elif config.backbone == "resnet50":
            self.backbone = ResNet50()
        else:
            raise ValueError(f"unknown backbone {config.backbone!r}: expected 'mobilenet0.25' or 'resnet50'")
        c = config.out_channels
        self.fpn = FPN(self.backbone.channels, c)
        self.ssh = nn.ModuleList(SSH(c) for _ in config.steps)
        k = len(config.min_sizes[0])  # anchors per cell
        self.box_head = nn.ModuleList(nn.Conv2d(c, k * 4, 1) for _ in config.steps)
        self.cls_head = nn.ModuleList(nn.Conv2d(c, k * 2, 1) for _ in config.steps)
        self.landmark_head = nn.ModuleList(nn.Conv2d(c, k * 10, 1) for _ in config.steps)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = [ssh(f) for ssh, f in zip(self.ssh, self.fpn(self.backbone(x)), strict=True)]

        def heads(convs: nn.ModuleList, size: int) -> torch.Tensor:
            # (N, k·size, h, w) → (N, h·w·k, size): the order of ``prior_boxes``
            return torch.cat([conv(f).permute(0, 2, 3, 1).reshape(x.shape[0], -1, size)
                              for conv, f in zip(convs, feats, strict=True)], dim=1)

        return heads(self.box_head, 4), heads(self.cls_head, 2), heads(self.landmark_head, 10)


# --------------------------------------------------------------------- examples
@register_example(covers=[RetinaFace, MobileNetV1, FPN, SSH, prior_boxes, match, multibox_loss, encode,
                          encode_landmarks, point_form, box_iou])
def retinaface_training_step() -> Example:
    g = seeded(0)
    model = RetinaFace(TINY)
    image = torch.rand(2, 3, 64, 64, generator=g)
    priors = prior_boxes((64, 64), TINY.min_sizes, TINY.steps)  # 8²·2 + 4²·2 + 2²·2 = 168
    truths = torch.tensor([[0.1, 0.1, 0.4, 0.45], [0.5, 0.55, 0.9, 0.95]])
    lms = torch.rand(2, 10, generator=g) * 0.3 + 0.1
    targets = [match(truths, torch.tensor([1, -1]), lms, priors), match(truths[:1], torch.tensor([1]), lms[:1], priors)]
    loc_t, conf_t, landm_t = (torch.stack(t) for t in zip(*targets, strict=True))

    def run(m: RetinaFace, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        loc, conf, landm = m(image)
        dev = image.device
        return loc, conf, landm, multibox_loss(loc, conf, landm, loc_t.to(dev), conf_t.to(dev), landm_t.to(dev))

    return Example(model=model, inputs=(image,), output_shapes=((2, 168, 4), (2, 168, 2), (2, 168, 10), ()), run=run)


@register_example(covers=[decode, decode_landmarks])
def retinaface_decode() -> Example:
    g = seeded(0)
    priors = prior_boxes((32, 32), TINY.min_sizes, TINY.steps)
    loc = torch.randn(priors.shape[0], 4, generator=g, requires_grad=True)
    landm = torch.randn(priors.shape[0], 10, generator=g, requires_grad=True)

    def run(_m: nn.Module, loc: torch.Tensor, landm: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p = priors.to(loc.device)
        return decode(loc, p), decode_landmarks(landm, p)

    return Example(model=nn.Module(), inputs=(loc, landm), output_shapes=((42, 4), (42, 10)), run=run)
