"""RetinaFace: Single-stage Dense Face Localisation in the Wild.

Jiankang Deng, Jia Guo, Yuxiang Zhou, Jinke Yu, Irene Kotsia, Stefanos
Zafeiriou. arXiv:1905.00641 (2019; CVPR 2020). Catalog id: ``retinaface``.

Implemented, following the paper and the widely used PyTorch port
(biubug6/Pytorch_Retinaface, its MobileNet-0.25 configuration ``cfg_mnet``):

* Anchors as in the port's ``cfg_mnet`` (the paper's ResNet model puts
  three scales on each of P2–P6): square priors of two sizes per level at
  strides 8, 16, 32 (sizes 16/32, 64/128, 256/512 on a 640 × 640 input:
  80² · 2 + 40² · 2 + 20² · 2 = 16,800 anchors), centred on each cell,
  in normalised (cx, cy, w, h).
* The SSD box coding with variances (0.1, 0.2):
  ``t_xy = (c_gt − c_a) / (0.1 · wh_a)``, ``t_wh = log(wh_gt / wh_a) / 0.2``,
  and the five landmarks coded like box centres; ``decode`` inverts both.
* Matching: each anchor takes the ground-truth face of highest IoU, is
  positive above 0.35 IoU, and each face keeps its best anchor.
* Eq. 1, the multi-task loss ``L = L_cls + λ₁ p* L_box + λ₂ p* L_pts``:
  softmax face/background on positives and the hardest negatives (OHEM,
  at most 7 negatives per positive), smooth-L1 boxes on positives
  (weighted by 2, the port's ``loc_weight``), smooth-L1 landmarks on
  positives that have annotated landmarks.
* The port's light network on MobileNet-0.25: three backbone levels
  (stride 8/16/32), a top-down FPN (1 × 1 laterals, nearest up-sampling,
  3 × 3 merges), one SSH context module per level (3 × 3 branch with half
  the channels, 5 × 5 and 7 × 7 receptive fields from stacked 3 × 3 convs
  with a quarter each), and 1 × 1 class / box / landmark heads per level.

Parameter count: the standard model (``RetinaFaceConfig()``, MobileNet-0.25,
64 FPN channels) has 426,608 parameters: MobileNet-0.25 stages 1–3 213,072;
FPN 103,040 (1 × 1 laterals with BN 4,224 + 8,320 + 16,512, two 3 × 3
merges 36,992 each); three SSH modules 3 × 34,752; heads 3 × (520 box +
260 class + 1,300 landmark), the sums over the port's layer definitions
(``models/net.py``, ``models/retinaface.py``), which is also the count
commonly quoted for its ``mobilenet0.25_Final.pth``; tested.

Deviations from the paper:

* The paper's ResNet-152 backbone with P2–P6 and its self-supervised
  mesh-decoder (dense regression) branch are left out; the light-weight
  MobileNet-0.25 model is the one the authors' code and the port ship.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class RetinaFaceConfig:
    min_sizes: tuple[tuple[int, ...], ...] = ((16, 32), (64, 128), (256, 512))  # cfg_mnet anchor sizes per level
    steps: tuple[int, ...] = (8, 16, 32)  # cfg_mnet strides
    variances: tuple[float, float] = (0.1, 0.2)  # cfg_mnet box-coding variances
    image_size: int = 640  # cfg_mnet training size
    width_mult: float = 0.25  # MobileNet-0.25
    out_channels: int = 64  # cfg_mnet out_channel (FPN / SSH width)
    match_threshold: float = 0.35  # IoU above which an anchor is positive (port's MultiBoxLoss)
    neg_pos_ratio: int = 7  # OHEM: negatives per positive
    loc_weight: float = 2.0  # cfg_mnet loc_weight (λ₁)


TINY = RetinaFaceConfig(min_sizes=((4, 8), (16, 32), (64, 128)), image_size=64, width_mult=0.125, out_channels=16)


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
          threshold: float = RetinaFaceConfig.match_threshold,
          variances=RetinaFaceConfig.variances) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Targets for one image: box offsets (A, 4), labels (A,) (0 = background), landmark offsets (A, 10).

    truths (G, 4) corner boxes, labels (G,) 1 or −1 (a face without landmarks), landmarks (G, 10).
    """
    overlaps = box_iou(truths, point_form(priors))  # (G, A)
    best_truth_overlap, best_truth = overlaps.max(dim=0)  # per anchor
    best_prior = overlaps.argmax(dim=1)  # per face: its best anchor is always positive
    best_truth_overlap[best_prior] = 2.0
    best_truth[best_prior] = torch.arange(truths.shape[0], device=truths.device)
    conf = labels[best_truth].clone()
    conf[best_truth_overlap < threshold] = 0
    return (encode(truths[best_truth], priors, variances), conf,
            encode_landmarks(landmarks[best_truth], priors, variances))


def multibox_loss(loc: torch.Tensor, conf: torch.Tensor, landm: torch.Tensor, loc_t: torch.Tensor,
                  conf_t: torch.Tensor, landm_t: torch.Tensor,
                  neg_pos_ratio: int = RetinaFaceConfig.neg_pos_ratio,
                  loc_weight: float = RetinaFaceConfig.loc_weight) -> torch.Tensor:
    """Eq. 1 over a batch: (N, A, 4/2/10) predictions and matched targets; conf_t in {0, 1, −1}."""
    pos = conf_t != 0
    n_pos = pos.sum().clamp_min(1).to(loc.dtype)
    with_landmarks = conf_t > 0
    n_lm = with_landmarks.sum().clamp_min(1).to(loc.dtype)
    loss_l = F.smooth_l1_loss(loc[pos], loc_t[pos], reduction="sum") / n_pos
    loss_landm = F.smooth_l1_loss(landm[with_landmarks], landm_t[with_landmarks], reduction="sum") / n_lm
    target = pos.long()  # faces with or without landmarks are both "face"
    ce = F.cross_entropy(conf.reshape(-1, 2), target.reshape(-1), reduction="none").view_as(conf_t)
    # Hard negative mining: per image, the neg_pos_ratio · n_pos negatives with the largest loss.
    mining = ce.detach().masked_fill(pos, 0.0)
    rank = mining.argsort(dim=1, descending=True).argsort(dim=1)
    n_neg = (neg_pos_ratio * pos.sum(dim=1, keepdim=True)).clamp(max=pos.shape[1] - 1)
    neg = rank < n_neg
    loss_c = ce[pos | neg].sum() / n_pos
    return loc_weight * loss_l + loss_c + loss_landm


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
        self.backbone = MobileNetV1(config.width_mult)
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
