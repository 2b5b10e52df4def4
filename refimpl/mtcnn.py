"""Joint Face Detection and Alignment using Multi-task Cascaded Convolutional Networks.

Kaipeng Zhang, Zhanpeng Zhang, Zhifeng Li, Yu Qiao. IEEE Signal Processing
Letters 2016. arXiv:1604.02878. Catalog id: ``mtcnn``.

Implemented:

* Sec. II-A–B / Fig. 2, the three stages with the authors' layer
  configurations (Caffe models, as ported to PyTorch by timesler/facenet-pytorch
  ``models/mtcnn.py``): P-Net, a fully convolutional 12 × 12 proposal net
  (3×3 conv 10, 2×2 max-pool, 3×3 conv 16, 3×3 conv 32, 1×1 heads for face
  / box), R-Net on 24 × 24 crops (convs 28, 48, 64, FC 128) and O-Net on
  48 × 48 crops (convs 32, 64, 64, 128, FC 256, and a 10-value landmark
  head); PReLU everywhere, 3×3 stride-2 ceil-mode pooling.
* The image pyramid: scales ``(12 / min_face) · factor^k`` while the scaled
  shorter side is at least 12 (min face 20, factor 0.709, the authors' code).
* Candidate windows from P-Net's map: a cell (i, j) of the stride-2 map is
  the 12 × 12 window at ``(2j + 1, 2i + 1)…(2j + 12, 2i + 12)`` of the
  scaled image (1-based pixel convention of the authors' MATLAB code),
  divided by the scale.
* Bounding-box regression (calibration) ``x' = x + t · w``: after R-Net
  and O-Net with ``w = x2 − x1 + 1`` (the authors' ``bbreg.m``), after
  P-Net with ``w = x2 − x1`` (inline in the authors' ``detect_face.m``, also
  in facenet-pytorch); squaring of boxes to the side ``max(x2 − x1, y2 − y1)``
  around the centre (``rerec.m``), and non-maximum suppression with
  the "Union" (IoU) and "Min" overlap measures, per scale (0.5) and across
  scales (0.7), then R-Net and O-Net refinement (``detect_faces``).
* Sec. II-C, the multi-task loss ``min Σ_i Σ_j α_j β_i^j L_i^j`` with
  cross-entropy for face / non-face, Euclidean losses for boxes and
  landmarks, the sample-type indicators β (classification on positives and
  negatives, boxes on positives and part faces, landmarks on landmark
  faces), task weights α = (1, 0.5, 0.5) for P/R-Net and (1, 0.5, 1) for
  O-Net, and online hard sample mining (the top 70 % classification losses).

Official preset: ``MTCNNConfig()`` holds the values of the authors'
MATLAB demo (kpzhang93/MTCNN_face_detection_alignment ``code/codes/MTCNNv2/
demo.m``, ``detect_face.m``, commit 4617f55b08846aea1b2328e9c12e48df91b3d725:
minsize 20, factor 0.709, thresholds 0.6/0.7/0.7, NMS 0.5 per scale, 0.7
Union, 0.7 Union, 0.7 Min). Parameter count: P-Net 6,632, R-Net 100,178,
O-Net 389,040, counted by instantiating facenet-pytorch's ``models/mtcnn.py``
``PNet``/``RNet``/``ONet`` (timesler/facenet-pytorch commit
787da06156087cd6b616fe6608213722bddc30cd, which load the authors'
converted weights); they match the authors' ``det1/2/3.prototxt`` (PReLU
after every conv and hidden FC); tested.

Deviations from the paper:

* Crops for R-Net and O-Net are resampled bilinearly with ``grid_sample``
  (zero padding outside the image), not with the authors' pad-then-resize.
* R-Net/O-Net flatten in (C, H, W) order; facenet-pytorch permutes to
  (H, W, C) to match its converted weights. The parameter count is the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class MTCNNConfig:
    min_face_size: int = 20  # authors' code: minsize = 20
    factor: float = 0.709  # authors' code: pyramid factor ≈ 1/√2
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)  # face-probability thresholds per stage
    nms_scale: float = 0.5  # P-Net NMS within a scale
    nms_thresholds: tuple[float, float, float] = (0.7, 0.7, 0.7)  # across scales, after R-Net, after O-Net ("Min")
    ohem_ratio: float = 0.7  # Sec. II-C: keep the top 70 % of the classification losses
    weights_pr: tuple[float, float, float] = (1.0, 0.5, 0.5)  # Sec. II-C: α for P-Net and R-Net
    weights_o: tuple[float, float, float] = (1.0, 0.5, 1.0)  # Sec. II-C: α for O-Net


# --------------------------------------------------------------------- networks
class PNet(nn.Module):
    """(N, 3, H, W) → face logits (N, 2, H', W'), box offsets (N, 4, H', W'); 12 × 12 → 1 × 1, stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 10, 3), nn.PReLU(10), nn.MaxPool2d(2, 2, ceil_mode=True),
            nn.Conv2d(10, 16, 3), nn.PReLU(16),
            nn.Conv2d(16, 32, 3), nn.PReLU(32),
        )
        self.cls = nn.Conv2d(32, 2, 1)
        self.box = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.cls(h), self.box(h)


class RNet(nn.Module):
    """24 × 24 crops (N, 3, 24, 24) → face logits (N, 2), box offsets (N, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 28, 3), nn.PReLU(28), nn.MaxPool2d(3, 2, ceil_mode=True),  # 22 → 11
            nn.Conv2d(28, 48, 3), nn.PReLU(48), nn.MaxPool2d(3, 2, ceil_mode=True),  # 9 → 4
            nn.Conv2d(48, 64, 2), nn.PReLU(64),  # 3 × 3
            nn.Flatten(), nn.Linear(576, 128), nn.PReLU(128),
        )
        self.cls = nn.Linear(128, 2)
        self.box = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.cls(h), self.box(h)


class ONet(nn.Module):
    """48 × 48 crops → face logits (N, 2), box offsets (N, 4), five landmarks (N, 10) as (x1..x5, y1..y5)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3), nn.PReLU(32), nn.MaxPool2d(3, 2, ceil_mode=True),  # 46 → 23
            nn.Conv2d(32, 64, 3), nn.PReLU(64), nn.MaxPool2d(3, 2, ceil_mode=True),  # 21 → 10
            nn.Conv2d(64, 64, 3), nn.PReLU(64), nn.MaxPool2d(2, 2, ceil_mode=True),  # 8 → 4
            nn.Conv2d(64, 128, 2), nn.PReLU(128),  # 3 × 3
            nn.Flatten(), nn.Linear(1152, 256), nn.PReLU(256),
        )
        self.cls = nn.Linear(256, 2)
        self.box = nn.Linear(256, 4)
        self.landmarks = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.cls(h), self.box(h), self.landmarks(h)


# --------------------------------------------------------------------- box utilities
def pyramid_scales(height: int, width: int, min_face_size: int = 20, factor: float = 0.709) -> list[float]:
    """Scales m·factor^k, m = 12 / min_face, while min(H, W)·m·factor^k ≥ 12."""
    m = 12.0 / min_face_size
    side = min(height, width) * m
    scales = []
    k = 0
    while side >= 12:
        scales.append(m * factor**k)
        side *= factor
        k += 1
    return scales


def generate_boxes(prob: torch.Tensor, offsets: torch.Tensor, scale: float, threshold: float,
                   stride: int = 2, cell: int = 12) -> torch.Tensor:
    """P-Net map → candidate windows in image coordinates.

    prob (H', W') face probabilities, offsets (4, H', W'). Returns (K, 9):
    x1, y1, x2, y2, score, and the four regression offsets.
    """
    ys, xs = torch.nonzero(prob >= threshold, as_tuple=True)
    score = prob[ys, xs]
    reg = offsets[:, ys, xs].T
    x1 = torch.floor((stride * xs + 1) / scale)
    y1 = torch.floor((stride * ys + 1) / scale)
    x2 = torch.floor((stride * xs + cell) / scale)
    y2 = torch.floor((stride * ys + cell) / scale)
    return torch.cat([torch.stack([x1, y1, x2, y2, score], dim=1).to(reg.dtype), reg], dim=1)


def box_overlap(box: torch.Tensor, others: torch.Tensor, method: str = "union") -> torch.Tensor:
    """Overlap of one box (4,) with boxes (K, 4), in the authors' +1 pixel convention.

    "union": intersection / union (IoU); "min": intersection / smaller area.
    """
    area = lambda b: (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)  # noqa: E731
    w = (torch.minimum(box[2], others[:, 2]) - torch.maximum(box[0], others[:, 0]) + 1).clamp_min(0)
    h = (torch.minimum(box[3], others[:, 3]) - torch.maximum(box[1], others[:, 1]) + 1).clamp_min(0)
    inter = w * h
    if method == "min":
        return inter / torch.minimum(area(box), area(others))
    if method == "union":
        return inter / (area(box) + area(others) - inter)
    raise ValueError(f"unknown overlap method {method!r}")


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, method: str = "union") -> torch.Tensor:
    """Greedy NMS: keep the best box, drop those overlapping it by more than ``threshold``, repeat.

    Returns kept indices, best first.
    """
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        order = rest[box_overlap(boxes[best], boxes[rest], method) <= threshold]
    return torch.stack(keep) if keep else torch.zeros(0, dtype=torch.long, device=boxes.device)


def calibrate_boxes(boxes: torch.Tensor, offsets: torch.Tensor, inclusive: bool = True) -> torch.Tensor:
    """Bounding-box regression: each coordinate moves by its offset times the box width/height.

    ``inclusive``: width x2 − x1 + 1 (the authors' ``bbreg.m``, after R-Net and
    O-Net); otherwise x2 − x1 (their inline calibration after P-Net).
    """
    pad = 1.0 if inclusive else 0.0
    w = boxes[:, 2] - boxes[:, 0] + pad
    h = boxes[:, 3] - boxes[:, 1] + pad
    return boxes[:, :4] + offsets * torch.stack([w, h, w, h], dim=1)


def square_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """Grow each box (K, 4) to the square of side max(x2 − x1, y2 − y1) around its centre (``rerec.m``)."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return torch.stack([x1, y1, x1 + side, y1 + side], dim=1)


def crop_and_resize(image: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crops of image (3, H, W) at boxes (K, 4) (inclusive pixel coordinates) → (K, 3, size, size)."""
    _, height, width = image.shape
    k = boxes.shape[0]
    # Affine grids mapping the output square onto each box, in normalised [-1, 1] coordinates.
    cx = (boxes[:, 0] + boxes[:, 2] + 1) / width - 1
    cy = (boxes[:, 1] + boxes[:, 3] + 1) / height - 1
    sx = (boxes[:, 2] - boxes[:, 0] + 1) / width
    sy = (boxes[:, 3] - boxes[:, 1] + 1) / height
    theta = torch.zeros(k, 2, 3, dtype=image.dtype, device=image.device)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx, cx, sy, cy
    grid = F.affine_grid(theta, [k, 3, size, size], align_corners=False)
    return F.grid_sample(image.expand(k, -1, -1, -1), grid, align_corners=False, padding_mode="zeros")


# --------------------------------------------------------------------- the cascade
@torch.no_grad()
def detect_faces(image: torch.Tensor, pnet: PNet, rnet: RNet, onet: ONet,
                 config: MTCNNConfig = MTCNNConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """One image (3, H, W), normalised as the nets expect → boxes (K, 5) and landmarks (K, 10)."""
    _, height, width = image.shape
    empty = image.new_zeros(0, 5), image.new_zeros(0, 10)
    candidates = []
    for scale in pyramid_scales(height, width, config.min_face_size, config.factor):
        size = (math.ceil(height * scale), math.ceil(width * scale))
        logits, offsets = pnet(F.interpolate(image[None], size=size, mode="area"))
        found = generate_boxes(logits.softmax(1)[0, 1], offsets[0], scale, config.thresholds[0])
        if found.numel():
            candidates.append(found[nms(found[:, :4], found[:, 4], config.nms_scale)])
    if not candidates:
        return empty
    boxes = torch.cat(candidates)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], config.nms_thresholds[0])]
    boxes = torch.cat([square_boxes(calibrate_boxes(boxes[:, :4], boxes[:, 5:9], inclusive=False)).floor(),
                       boxes[:, 4:5]], 1)

    logits, offsets = rnet(crop_and_resize(image, boxes[:, :4], 24))
    score = logits.softmax(1)[:, 1]
    keep = score > config.thresholds[1]
    boxes, score, offsets = boxes[keep], score[keep], offsets[keep]
    if not keep.any():
        return empty
    kept = nms(boxes[:, :4], score, config.nms_thresholds[1])
    boxes = square_boxes(calibrate_boxes(boxes[kept, :4], offsets[kept])).floor()

    logits, offsets, marks = onet(crop_and_resize(image, boxes, 48))
    score = logits.softmax(1)[:, 1]
    keep = score > config.thresholds[2]
    if not keep.any():
        return empty
    boxes, score, offsets, marks = boxes[keep], score[keep], offsets[keep], marks[keep]
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    landmarks = torch.cat([boxes[:, 0:1] + w * marks[:, :5] - 1, boxes[:, 1:2] + h * marks[:, 5:] - 1], dim=1)
    boxes = calibrate_boxes(boxes, offsets)
    kept = nms(boxes, score, config.nms_thresholds[2], method="min")
    return torch.cat([boxes[kept], score[kept, None]], dim=1), landmarks[kept]


# --------------------------------------------------------------------- training loss
POSITIVE, NEGATIVE, PART, LANDMARK = 1, 0, -1, -2  # sample types of the training data


def mtcnn_loss(cls_logits: torch.Tensor, box_pred: torch.Tensor, sample_type: torch.Tensor, box_gt: torch.Tensor,
               landmark_pred: torch.Tensor | None = None, landmark_gt: torch.Tensor | None = None,
               weights: tuple[float, float, float] = MTCNNConfig.weights_pr,
               ohem_ratio: float = MTCNNConfig.ohem_ratio) -> torch.Tensor:
    """Sec. II-C: Σ_j α_j mean over the samples with β^j = 1 of L^j, with hard mining on L^det.

    Face/non-face CE on positives and negatives (top ``ohem_ratio`` of them);
    squared-error box loss on positives and part faces; squared-error
    landmark loss on landmark faces.
    """
    zero = cls_logits.new_zeros(())
    det_mask = (sample_type == POSITIVE) | (sample_type == NEGATIVE)
    ce = F.cross_entropy(cls_logits[det_mask], (sample_type[det_mask] == POSITIVE).long(), reduction="none")
    n_keep = max(1, int(ce.numel() * ohem_ratio)) if ce.numel() else 0
    det = ce.topk(n_keep).values.mean() if n_keep else zero
    box_mask = (sample_type == POSITIVE) | (sample_type == PART)
    box = ((box_pred[box_mask] - box_gt[box_mask]) ** 2).sum(1).mean() if box_mask.any() else zero
    total = weights[0] * det + weights[1] * box
    if landmark_pred is not None and landmark_gt is not None:
        lm_mask = sample_type == LANDMARK
        lm = ((landmark_pred[lm_mask] - landmark_gt[lm_mask]) ** 2).sum(1).mean() if lm_mask.any() else zero
        total = total + weights[2] * lm
    return total


# --------------------------------------------------------------------- examples
@register_example(covers=[PNet, RNet, ONet, mtcnn_loss])
def mtcnn_training_step() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"pnet": PNet(), "rnet": RNet(), "onet": ONet()})
    types = torch.tensor([POSITIVE, NEGATIVE, PART, LANDMARK])
    box_gt = torch.rand(4, 4, generator=g) * 0.2
    lm_gt = torch.rand(4, 10, generator=g)
    crop12 = torch.rand(4, 3, 12, 12, generator=g)
    crop24 = torch.rand(4, 3, 24, 24, generator=g)
    crop48 = torch.rand(4, 3, 48, 48, generator=g)

    def run(m: nn.ModuleDict, c12: torch.Tensor, c24: torch.Tensor, c48: torch.Tensor) -> tuple[torch.Tensor, ...]:
        t, b_gt, l_gt = types.to(c12.device), box_gt.to(c12.device), lm_gt.to(c12.device)
        p_cls, p_box = m["pnet"](c12)
        r_cls, r_box = m["rnet"](c24)
        o_cls, o_box, o_lm = m["onet"](c48)
        loss = (mtcnn_loss(p_cls.flatten(1), p_box.flatten(1), t, b_gt)
                + mtcnn_loss(r_cls, r_box, t, b_gt)
                + mtcnn_loss(o_cls, o_box, t, b_gt, o_lm, l_gt, MTCNNConfig.weights_o))
        return p_cls, r_box, o_lm, loss

    return Example(model=model, inputs=(crop12, crop24, crop48),
                   output_shapes=((4, 2, 1, 1), (4, 4), (4, 10), ()), run=run)


@register_example(covers=[pyramid_scales, generate_boxes, box_overlap, nms, calibrate_boxes, square_boxes,
                          crop_and_resize, detect_faces])
def mtcnn_cascade() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"pnet": PNet(), "rnet": RNet(), "onet": ONet()})
    with torch.no_grad():  # bias every stage towards "face" so the random cascade keeps some boxes
        for name in ("pnet", "rnet", "onet"):
            model[name].cls.bias.copy_(torch.tensor([-3.0, 3.0]))
    image = torch.rand(3, 40, 40, generator=g)
    offsets = (torch.randn(4, 3, 3, generator=g) * 0.05).requires_grad_(True)

    def run(m: nn.ModuleDict, image: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, ...]:
        boxes, landmarks = detect_faces(image, m["pnet"], m["rnet"], m["onet"], MTCNNConfig(min_face_size=24))
        prob = torch.linspace(0.95, 0.7, 9, device=image.device).view(3, 3)  # distinct scores: a unique NMS order
        cand = generate_boxes(prob, offsets, 0.5, 0.6)
        cand = cand[nms(cand[:, :4], cand[:, 4], 0.5)]
        sq = square_boxes(calibrate_boxes(cand[:, :4], cand[:, 5:9]))
        return boxes[:1, :4], landmarks[:1], crop_and_resize(image, sq, 12)

    return Example(model=model, inputs=(image, offsets), output_shapes=((1, 4), (1, 10), (4, 3, 12, 12)), run=run,
                   no_grad=("pnet", "rnet", "onet"))
