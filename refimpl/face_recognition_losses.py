"""Face-recognition losses: normalised softmax heads with margins, center loss and triplet loss.

One module for six papers that share one building block, the cosine logit
``cos θ_j = Wᵀ_j x / (‖W_j‖ ‖x‖)`` of a feature x against each class weight:

* NormFace — Feng Wang, Xiang Xiang, Jian Cheng, Alan L. Yuille. ACM MM 2017.
  arXiv:1704.06369. Catalog id ``normface``. Normalise features and
  weights, multiply the cosine by a (learned) scale s.
* SphereFace — Weiyang Liu, Yandong Wen, Zhiding Yu, Ming Li, Bhiksha Raj,
  Le Song. CVPR 2017. arXiv:1704.08063. Catalog id ``sphereface``.
  A-Softmax, the multiplicative angular margin on the target,
  ``‖x‖ ψ(θ_y)`` with ``ψ(θ) = (−1)^k cos(mθ) − 2k`` for
  ``θ ∈ [kπ/m, (k + 1)π/m]``, m = 4, weights normalised, features not;
  the authors' training blends ``(λ‖x‖cos θ + ‖x‖ψ(θ)) / (1 + λ)`` with λ
  annealed by ``sphereface_lambda``: ``λ = max(λ_min, base (1 + γ t)^(−power))``
  at forward pass t = 1, 2, … (base 1000, γ = 0.12, power 1, λ_min = 5:
  wy1iu/sphereface ``train/code/sphereface_model.prototxt`` and its Caffe
  layer ``margin_inner_product_layer.cpp``, which counts t from 1).
* CosFace — Hao Wang et al. CVPR 2018. arXiv:1801.09414. Catalog id
  ``cosface``. Eq. 4: the large margin cosine loss, target logit
  ``s (cos θ_y − m)``, s = 64, m = 0.35 (its experiments). The ArcFace authors'
  insightface code uses m = 0.40 (``OFFICIAL_INSIGHTFACE``).
* ArcFace — Jiankang Deng, Jia Guo, Niannan Xue, Stefanos Zafeiriou. CVPR
  2019. arXiv:1801.07698. Catalog id ``arcface``. Eq. 3: the additive
  angular margin, target logit ``s cos(θ_y + m)``, s = 64, m = 0.5; with the
  authors' fallback where θ_y + m would pass π (cos θ ≤ cos(π − m)):
  ``s (cos θ − m sin m)``, which keeps the logit decreasing in θ, or the
  "easy margin" variant (no margin where cos θ ≤ 0).
* Center loss — Yandong Wen, Kaipeng Zhang, Zhifeng Li, Yu Qiao. ECCV 2016.
  Catalog id ``center-loss``. ``L_C = ½ Σ_i ‖x_i − c_{y_i}‖²`` and the
  centre update rule ``c_j ← c_j − α Δc_j`` with
  ``Δc_j = Σ_i δ(y_i = j)(c_j − x_i) / (1 + Σ_i δ(y_i = j))``.
* FaceNet — Florian Schroff, Dmitry Kalenichenko, James Philbin. CVPR 2015.
  arXiv:1503.03832. Catalog id ``facenet``. The triplet loss
  ``Σ_i [‖f(a_i) − f(p_i)‖² − ‖f(a_i) − f(n_i)‖² + α]₊`` (Eq. 3, a sum
  over the triplets) on L2-normalised embeddings, α = 0.2; the official
  code (davidsandberg/facenet ``src/facenet.py``) takes the mean
  (``OFFICIAL_FACENET``); and the semi-hard negatives of its triplet selection
  (``‖f(a) − f(p)‖² < ‖f(a) − f(n)‖²``, the closest such negative).

Parameter count: each head holds one (classes × features) weight matrix
(e.g. 512 × 85,742 for ArcFace on MS1MV2); no backbone is included, any
embedding network can feed the heads.

Official presets: ``OFFICIAL_INSIGHTFACE`` (deepinsight/insightface
``recognition/arcface_torch/losses.py`` at commit
2e2e8c97c7bc3e79a4d5403ae12cd5dd2bd69658: ArcFace s = 64, m = 0.5 with the
``th``/``mm`` fallback; CosFace s = 64, m = 0.40) and ``OFFICIAL_FACENET``
(davidsandberg/facenet commit 096ed770f163957c1e56efa7feeb194773920f6e:
the triplet loss averaged over the triplets).

Deviations from the papers:

* Official code against the papers: CosFace m = 0.40 in insightface
  (paper 0.35); FaceNet's mean over triplets (paper: a sum). The defaults
  are the papers'; the presets above hold the official values.
* The heads return logits; the softmax cross-entropy is applied outside
  (``F.cross_entropy``), as the authors' code does.
* Center loss is averaged over the batch (the authors' Caffe layer divides
  by the batch size); the centres are a buffer updated by the paper's rule, not by
  back-propagation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class FaceLossConfig:
    embedding_dim: int = 512  # ArcFace experiments: 512-D embedding
    arcface_scale: float = 64.0  # ArcFace experiments: s = 64
    arcface_margin: float = 0.5  # ArcFace experiments: m = 0.5
    cosface_scale: float = 64.0  # CosFace experiments: s = 64
    cosface_margin: float = 0.35  # CosFace experiments: m = 0.35
    sphereface_margin: int = 4  # SphereFace experiments: m = 4
    normface_scale: float = 16.0  # NormFace learns s; this is its starting value here
    center_alpha: float = 0.5  # Center loss experiments: α = 0.5 (centre learning rate)
    center_weight: float = 0.003  # Center loss experiments: λ = 0.003
    triplet_margin: float = 0.2  # FaceNet experiments: α = 0.2
    triplet_reduction: str = "sum"  # FaceNet Eq. 3: a sum over the triplets ("mean" in the official code)
    facenet_dim: int = 128  # FaceNet: 128-D embedding
    sphereface_lambda_base: float = 1000.0  # sphereface_model.prototxt: base
    sphereface_lambda_gamma: float = 0.12  # sphereface_model.prototxt: gamma
    sphereface_lambda_power: float = 1.0  # sphereface_model.prototxt: power
    sphereface_lambda_min: float = 5.0  # sphereface_model.prototxt: lambda_min


OFFICIAL_INSIGHTFACE = FaceLossConfig(cosface_margin=0.40)  # insightface arcface_torch/losses.py CosFace(s=64, m=0.40)
OFFICIAL_FACENET = FaceLossConfig(triplet_reduction="mean")  # davidsandberg/facenet src/facenet.py reduce_mean


# --------------------------------------------------------------------- the shared block
def cosine_logits(features: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """cos θ (N, K) between features (N, D) and class weights (K, D)."""
    return F.linear(F.normalize(features, dim=1), F.normalize(weight, dim=1))


class _CosineHead(nn.Module):
    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.xavier_uniform_(self.weight)

    def cosine(self, features: torch.Tensor) -> torch.Tensor:
        return cosine_logits(features, self.weight).clamp(-1.0, 1.0)


def _replace_target(cos: torch.Tensor, labels: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """cos with column labels[i] of row i replaced by target[i] (only the target logit changes)."""
    one_hot = F.one_hot(labels, cos.shape[1]).to(torch.bool)
    return torch.where(one_hot, target.unsqueeze(1), cos)


# --------------------------------------------------------------------- NormFace
class NormFaceHead(_CosineHead):
    """Normalised softmax: logits s · cos θ_j, |logit| ≤ s; s learned when ``learn_scale``."""

    def __init__(self, in_features: int, num_classes: int, scale: float = FaceLossConfig.normface_scale,
                 learn_scale: bool = True) -> None:
        super().__init__(in_features, num_classes)
        s = torch.tensor(float(scale))
        if learn_scale:
            self.scale = nn.Parameter(s)
        else:
            self.register_buffer("scale", s)

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.scale * self.cosine(features)


# --------------------------------------------------------------------- CosFace
class CosFaceHead(_CosineHead):
    """Large margin cosine: s (cos θ_j − m·[j = y])."""

    def __init__(self, in_features: int, num_classes: int, scale: float = FaceLossConfig.cosface_scale,
                 margin: float = FaceLossConfig.cosface_margin) -> None:
        super().__init__(in_features, num_classes)
        self.scale, self.margin = scale, margin

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.cosine(features)
        target = cos.gather(1, labels[:, None]).squeeze(1) - self.margin
        return self.scale * _replace_target(cos, labels, target)


# --------------------------------------------------------------------- ArcFace
def arc_margin_target(cos: torch.Tensor, margin: float = 0.5, easy_margin: bool = False) -> torch.Tensor:
    """cos(θ + m) where θ + m stays in [0, π], else the authors' fallback.

    easy_margin=False: ``cos θ − m sin m`` once cos θ ≤ cos(π − m) (linear
    continuation at θ = π − m, so the target logit keeps decreasing in θ).
    easy_margin=True: plain ``cos θ`` wherever cos θ ≤ 0.
    """
    sin = (1.0 - cos**2).clamp_min(0.0).sqrt()
    phi = cos * math.cos(margin) - sin * math.sin(margin)  # cos(θ + m)
    if easy_margin:
        return torch.where(cos > 0, phi, cos)
    threshold = math.cos(math.pi - margin)
    return torch.where(cos > threshold, phi, cos - math.sin(math.pi - margin) * margin)


class ArcMarginHead(_CosineHead):
    """Additive angular margin: s cos(θ_y + m) on the target, s cos θ_j elsewhere."""

    def __init__(self, in_features: int, num_classes: int, scale: float = FaceLossConfig.arcface_scale,
                 margin: float = FaceLossConfig.arcface_margin, easy_margin: bool = False) -> None:
        super().__init__(in_features, num_classes)
        self.scale, self.margin, self.easy_margin = scale, margin, easy_margin

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.cosine(features)
        target = arc_margin_target(cos.gather(1, labels[:, None]).squeeze(1), self.margin, self.easy_margin)
        return self.scale * _replace_target(cos, labels, target)


# --------------------------------------------------------------------- SphereFace
def sphereface_psi(cos: torch.Tensor, m: int = 4) -> torch.Tensor:
    """ψ(θ) = (−1)^k cos(mθ) − 2k, k = ⌊mθ/π⌋: monotonically decreasing on [0, π], ψ(0) = 1."""
    theta = cos.clamp(-1.0, 1.0).acos()
    k = torch.floor(m * theta / math.pi).clamp(max=m - 1)
    sign = 1.0 - 2.0 * torch.remainder(k, 2)  # (−1)^k
    return sign * torch.cos(m * theta) - 2.0 * k


def sphereface_lambda(iteration: int, base: float = FaceLossConfig.sphereface_lambda_base,
                      gamma: float = FaceLossConfig.sphereface_lambda_gamma,
                      power: float = FaceLossConfig.sphereface_lambda_power,
                      lambda_min: float = FaceLossConfig.sphereface_lambda_min) -> float:
    """The annealed blend weight λ = max(λ_min, base (1 + γ t)^(−power)) at forward pass t ≥ 1."""
    return max(lambda_min, base * (1.0 + gamma * iteration) ** (-power))


class SphereFaceHead(nn.Module):
    """A-Softmax: ‖x‖ ψ(θ_y) on the target (blended with ‖x‖ cos θ_y by λ), ‖x‖ cos θ_j elsewhere.

    Weights are normalised, features are not: the feature norm plays the scale's role.
    """

    def __init__(self, in_features: int, num_classes: int, margin: int = FaceLossConfig.sphereface_margin) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.xavier_uniform_(self.weight)
        self.margin = margin

    def forward(self, features: torch.Tensor, labels: torch.Tensor, lam: float = 0.0) -> torch.Tensor:
        norm = features.norm(dim=1)
        cos = cosine_logits(features, self.weight).clamp(-1.0, 1.0)
        cos_y = cos.gather(1, labels[:, None]).squeeze(1)
        target = (lam * cos_y + sphereface_psi(cos_y, self.margin)) / (1.0 + lam)
        return norm[:, None] * _replace_target(cos, labels, target)


# --------------------------------------------------------------------- center loss
class CenterLoss(nn.Module):
    """L_C = ½ mean_i ‖x_i − c_{y_i}‖²; centres (K, D) are updated by the paper's rule via ``update``."""

    def __init__(self, num_classes: int, feature_dim: int, alpha: float = FaceLossConfig.center_alpha) -> None:
        super().__init__()
        self.register_buffer("centers", torch.zeros(num_classes, feature_dim))
        self.alpha = alpha

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((features - self.centers[labels]) ** 2).sum(dim=1).mean()

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Centre update: c_j ← c_j − α Σ_{i: y_i = j}(c_j − x_i) / (1 + n_j)."""
        k = self.centers.shape[0]
        counts = torch.bincount(labels, minlength=k).to(features.dtype)
        sums = torch.zeros_like(self.centers).index_add_(0, labels, features.detach())
        delta = (counts[:, None] * self.centers - sums) / (1.0 + counts[:, None])
        self.centers -= self.alpha * delta


# --------------------------------------------------------------------- FaceNet
def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 margin: float = FaceLossConfig.triplet_margin,
                 reduction: str = FaceLossConfig.triplet_reduction) -> torch.Tensor:
    """Eq. 3: Σ over triplets of [‖a − p‖² − ‖a − n‖² + α]₊ (embeddings expected L2-normalised).

    ``reduction="mean"`` averages over the triplets instead, as the official code.
    """
    d_ap = ((anchor - positive) ** 2).sum(dim=1)
    d_an = ((anchor - negative) ** 2).sum(dim=1)
    hinge = F.relu(d_ap - d_an + margin)
    if reduction == "sum":
        return hinge.sum()
    if reduction == "mean":
        return hinge.mean()
    raise ValueError(f"unknown reduction {reduction!r}: expected 'sum' or 'mean'")


def semi_hard_negatives(anchor: torch.Tensor, positive: torch.Tensor, candidates: torch.Tensor,
                        candidate_labels: torch.Tensor, anchor_labels: torch.Tensor) -> torch.Tensor:
    """Sec. 3.2: per anchor, the index of the closest negative farther than the positive.

    Negatives are candidates of another identity; when none is farther than
    the positive, the farthest negative is used. Returns (N,) indices into candidates.
    """
    d_ap = ((anchor - positive) ** 2).sum(dim=1, keepdim=True)  # (N, 1)
    d_an = torch.cdist(anchor, candidates) ** 2  # (N, M)
    negative = anchor_labels[:, None] != candidate_labels[None, :]
    semi_hard = negative & (d_an > d_ap)
    inf = torch.tensor(float("inf"), device=d_an.device, dtype=d_an.dtype)
    closest = torch.where(semi_hard, d_an, inf).argmin(dim=1)
    farthest = torch.where(negative, d_an, -inf).argmax(dim=1)
    return torch.where(semi_hard.any(dim=1), closest, farthest)


# --------------------------------------------------------------------- examples
@register_example(covers=[ArcMarginHead, CosFaceHead, NormFaceHead, SphereFaceHead, cosine_logits,
                          arc_margin_target, sphereface_psi, sphereface_lambda, CenterLoss])
def face_margin_heads() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({
        "embed": nn.Linear(10, 8),
        "arcface": ArcMarginHead(8, 5), "cosface": CosFaceHead(8, 5),
        "normface": NormFaceHead(8, 5), "sphereface": SphereFaceHead(8, 5),
        "center": CenterLoss(5, 8),  # no parameters: its centres are a buffer
    })
    x = torch.randn(4, 10, generator=g)
    labels = torch.tensor([0, 2, 4, 2])

    def run(m: nn.ModuleDict, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f, y = m["embed"](x), labels.to(x.device)
        logits = [m[name](f, y) for name in ("arcface", "cosface", "normface")]
        logits.append(m["sphereface"](f, y, lam=sphereface_lambda(1000)))
        loss = sum(F.cross_entropy(lg, y) for lg in logits) + FaceLossConfig.center_weight * m["center"](f, y)
        return (*logits, loss)

    return Example(model=model, inputs=(x,), output_shapes=((4, 5),) * 4 + ((),), run=run)


@register_example(covers=[triplet_loss, semi_hard_negatives])
def facenet_triplets() -> Example:
    g = seeded(0)
    model = nn.Linear(6, 4)
    x = torch.randn(6, 6, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])

    def run(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        emb, y = F.normalize(m(x), dim=1), labels.to(x.device)
        a, p = emb[0::2], emb[1::2]
        neg = semi_hard_negatives(a, p, emb, y, y[0::2])
        return triplet_loss(a, p, emb[neg], margin=1.0)

    return Example(model=model, inputs=(x,), output_shapes=((),), run=run)
