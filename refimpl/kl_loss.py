"""Bounding Box Regression with Uncertainty for Accurate Object Detection.

Yihui He, Chenchen Zhu, Jianren Wang, Marios Savvides, Xiangyu Zhang. CVPR 2019.
arXiv:1809.08545. Catalog id: ``bbox-regression-uncertainty``.

Implemented:

* Sec. 3.1–3.2, KL Loss. Each box coordinate is predicted as a Gaussian
  ``P_Θ(x) = N(x_e, σ²)`` and the ground truth as a Dirac delta at ``x_g``;
  ``L_reg = D_KL(P_D ‖ P_Θ) = (x_g − x_e)² / (2σ²) + log(σ²)/2 + const``.
  The network predicts ``α = log σ²`` (Eq. 5) for numerical stability:
  ``L_reg = e^{−α} (x_g − x_e)² / 2 + α / 2``, and for ``|x_g − x_e| > 1``
  the smooth-L1 form ``L_reg = e^{−α} (|x_g − x_e| − 1/2) + α / 2`` (Eq. 6).
  The constant ``log(2π)/2 + H(P_D)`` is dropped.
* ``KLBoxHead``: the box branch of Fig. 3, a linear layer for the four
  coordinate offsets and a second for their four α (the paper initialises the
  α layer with std 1e-4 so that training starts at σ ≈ 1).
* Sec. 3.3, variance voting (Algorithm 1): for the box ``b`` with the top
  score, ``p_i = exp(−(1 − IoU(b_i, b))² / σ_t)`` for every candidate with
  ``IoU(b_i, b) > 0``, and each coordinate becomes
  ``x = Σ_i p_i x_i / σ_{x,i}² / Σ_i p_i / σ_{x,i}²``; then the candidates
  overlapping ``b`` are suppressed (greedy NMS) and the loop continues.

Official code: yihui-he/KL-Loss (Detectron/Caffe2), commit 66c0ed9e.
``detectron/modeling/fast_rcnn_heads.py`` builds the loss as
``e^{−α}·smoothL1 + α/2`` with the smooth-L1 term under stop-gradient for α,
summed over coordinates and averaged over RoIs; ``detectron/utils/py_cpu_nms.py``
(``soft``) does the voting with ``σ_t = cfg.STD.IOU_SIGMA = 0.01``
(``detectron/core/config.py``), over candidates with IoU above
``STD_TH`` (0.9, lowered to 0.01 by the code for the ``stdiou`` method), and
weights ``1/σ²`` with ``σ = exp(α/2)`` (``detectron/core/test.py``). The loss
adds no parameters beyond the four α outputs per class.

Deviations from the paper and the official code:

* IoU is computed on continuous coordinates (area ``(x2 − x1)(y2 − y1)``), not
  Detectron's ``+1`` pixel convention.
* The voting loop here suppresses with hard NMS (``nms_threshold``); the
  official code's default applies soft-NMS to the scores (``STD.SOFT = 'soft'``).
  Voting itself is the paper's: over every remaining candidate with IoU > 0
  (``vote_threshold = 0``; the official code uses 0.01).
* ``σ_t`` defaults to the official ``0.01``; the paper tunes it per model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class KLLossConfig:
    sigma_t: float = 0.01  # σ_t of var voting: official cfg.STD.IOU_SIGMA (detectron/core/config.py)
    vote_threshold: float = 0.0  # Algorithm 1: candidates with IoU(b_i, b) > 0 vote
    nms_threshold: float = 0.5  # greedy NMS IoU threshold (Detectron's TEST.NMS default)
    alpha_init_std: float = 1e-4  # Sec. 3.2: α layer initialised with Gaussian std 0.0001


OFFICIAL = KLLossConfig()


# --------------------------------------------------------------------- the loss
def kl_loss(pred: torch.Tensor, alpha: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 5–6, element-wise: ``e^{−α} (x_g − x_e)²/2 + α/2`` or, for ``|x_g − x_e| > 1``,
    ``e^{−α} (|x_g − x_e| − 1/2) + α/2``. All tensors share one shape."""
    diff = (target - pred).abs()
    smooth = torch.where(diff > 1.0, diff - 0.5, 0.5 * diff**2)
    return torch.exp(-alpha) * smooth + 0.5 * alpha


def kl_box_loss(pred: torch.Tensor, alpha: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL Loss of boxes (R, 4): summed over the four coordinates, averaged over the R boxes
    (the official reduction)."""
    return kl_loss(pred, alpha, target).sum(dim=-1).mean()


# --------------------------------------------------------------------- the head
class KLBoxHead(nn.Module):
    """Fig. 3: from RoI features (R, C), box offsets (R, 4) and their α = log σ² (R, 4)."""

    def __init__(self, in_features: int, config: KLLossConfig = OFFICIAL) -> None:
        super().__init__()
        self.box = nn.Linear(in_features, 4)
        self.alpha = nn.Linear(in_features, 4)
        nn.init.normal_(self.alpha.weight, std=config.alpha_init_std)
        nn.init.zeros_(self.alpha.bias)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.box(features), self.alpha(features)


# --------------------------------------------------------------------- variance voting
def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes (x1, y1, x2, y2): a (N, 4), b (M, 4) → (N, M)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(dim=-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(dim=-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def variance_vote(box: torch.Tensor, candidates: torch.Tensor, variances: torch.Tensor,
                  sigma_t: float = OFFICIAL.sigma_t) -> torch.Tensor:
    """Sec. 3.3 for one selected box (4,): weighted average of candidates (K, 4) with
    weights ``p_i / σ_i²``, ``p_i = exp(−(1 − IoU(b_i, b))² / σ_t)``; variances (K, 4) are σ²."""
    iou = box_iou(candidates, box[None])[:, 0]
    p = torch.exp(-((1 - iou) ** 2) / sigma_t)[:, None]
    w = p / variances
    return (w * candidates).sum(dim=0) / w.sum(dim=0)


def var_voting_nms(boxes: torch.Tensor, scores: torch.Tensor, alphas: torch.Tensor,
                   config: KLLossConfig = OFFICIAL) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm 1 with hard suppression: boxes (N, 4), scores (N,), alphas (N, 4) = log σ².

    Returns the kept boxes after voting (K, 4) and their scores (K,), by decreasing score.
    """
    variances = alphas.exp()
    remaining = torch.argsort(scores, descending=True)
    kept_boxes, kept_scores = [], []
    while remaining.numel():
        top = remaining[0]
        iou = box_iou(boxes[remaining], boxes[top][None])[:, 0]
        voters = remaining[iou > config.vote_threshold]
        kept_boxes.append(variance_vote(boxes[top], boxes[voters], variances[voters], config.sigma_t))
        kept_scores.append(scores[top])
        remaining = remaining[1:][iou[1:] <= config.nms_threshold]
    if not kept_boxes:
        return boxes.new_zeros(0, 4), scores.new_zeros(0)
    return torch.stack(kept_boxes), torch.stack(kept_scores)


# --------------------------------------------------------------------- examples
@register_example(covers=[KLBoxHead, kl_loss, kl_box_loss])
def kl_loss_box_head() -> Example:
    g = seeded(0)
    head = KLBoxHead(8)
    feats = torch.randn(5, 8, generator=g)
    target = torch.randn(5, 4, generator=g) * 1.5

    def run(m: KLBoxHead, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pred, alpha = m(x)
        return pred, alpha, kl_box_loss(pred, alpha, target.to(x.device))

    return Example(model=head, inputs=(feats,), output_shapes=((5, 4), (5, 4), ()), run=run)


@register_example(covers=[var_voting_nms, variance_vote, box_iou])
def kl_loss_var_voting() -> Example:
    g = seeded(0)
    base = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 34.0]])
    boxes = (base.repeat(3, 1) + torch.randn(6, 4, generator=g)).requires_grad_(True)
    scores = torch.rand(6, generator=g)
    alphas = torch.randn(6, 4, generator=g) * 0.5
    return Example(model=nn.Module(), inputs=(boxes, scores, alphas), output_shapes=((2, 4), (2,)),
                   run=lambda _m, b, s, a: var_voting_nms(b, s, a))
