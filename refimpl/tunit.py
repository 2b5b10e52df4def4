"""Rethinking the Truly Unsupervised Image-to-Image Translation (TUNIT).

Kyungjune Baek, Yunjey Choi, Youngjung Uh, Jaejun Yoo, Hyunjung Shim. ICCV 2021.
arXiv:2006.06500. Catalog id: ``tunit``.

Implemented:

* Sec. 3.1, the guiding network E: a shared VGG-11-BN backbone with two heads,
  a clustering head producing a soft pseudo-domain assignment over K domains
  and a style head producing the style code.
* Eq. 1, the IIC objective (Ji et al.): maximise the mutual information
  ``I(p, p⁺)`` between the domain assignments of an image and of its
  augmented copy, from the symmetrised joint distribution
  ``P = 1/(2B) Σ_b (p_b p⁺_bᵀ + p⁺_b p_bᵀ)``; the loss is ``−I``.
* Eq. 2, the contrastive (InfoNCE / MoCo) style loss with temperature
  τ = 0.07 over one positive key and a queue of negative keys, and the
  momentum (EMA) update of the key encoder.

Parameter count: not tested.

Deviations from the paper:

* Only the guiding network and its two losses are implemented; the
  generator (AdaIN decoder as in ``refimpl.funit``/``refimpl.munit``) and the
  multi-task discriminator are not repeated here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded

VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


@dataclass(frozen=True)
class TUNITConfig:
    widths: tuple[int | str, ...] = VGG11  # Sec. 3.1 / authors' code: VGG-11 with batch norm
    num_domains: int = 10  # K, the number of pseudo domains (AnimalFaces-10)
    style_dim: int = 128  # style code dimension
    tau: float = 0.07  # Eq. 2 temperature
    momentum: float = 0.999  # key-encoder EMA (MoCo)


TINY = TUNITConfig(widths=(4, "M", 8, "M", 8, "M"), num_domains=3, style_dim=5)


class GuidingNetwork(nn.Module):
    """x (N, 3, H, W) → (cluster logits (N, K), style code (N, style_dim))."""

    def __init__(self, config: TUNITConfig = TUNITConfig()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for w in config.widths:
            if w == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, int(w), 3, padding=1), nn.BatchNorm2d(int(w)), nn.ReLU(True)]
                c = int(w)
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.cluster_head = nn.Linear(c, config.num_domains)
        self.style_head = nn.Linear(c, config.style_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.cluster_head(h), self.style_head(h)


def joint_distribution(p: torch.Tensor, p_aug: torch.Tensor) -> torch.Tensor:
    """Symmetrised K×K joint of two (B, K) assignment distributions."""
    joint = (p.unsqueeze(2) * p_aug.unsqueeze(1)).sum(0)
    joint = (joint + joint.t()) / 2
    return joint / joint.sum()


def iic_loss(p: torch.Tensor, p_aug: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Eq. 1: ``−I(z, z⁺) = −Σ_ij P_ij (log P_ij − log P_i − log P_j)``; p, p_aug are probabilities (B, K)."""
    joint = joint_distribution(p, p_aug).clamp(min=eps)
    p_i = joint.sum(1, keepdim=True)
    p_j = joint.sum(0, keepdim=True)
    return -(joint * (joint.log() - p_i.log() - p_j.log())).sum()


def style_contrastive_loss(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
                           tau: float = 0.07) -> torch.Tensor:
    """Eq. 2 (InfoNCE): query, positive (N, D); negatives (M, D); vectors are L2-normalised here."""
    q, k, neg = F.normalize(query, dim=1), F.normalize(positive, dim=1), F.normalize(negatives, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ neg.t()], 1) / tau  # positive at index 0
    return F.cross_entropy(logits, torch.zeros(q.size(0), dtype=torch.long, device=q.device))


@torch.no_grad()
def momentum_update(key_encoder: nn.Module, query_encoder: nn.Module, momentum: float = 0.999) -> None:
    """θ_k ← m θ_k + (1 − m) θ_q."""
    for pk, pq in zip(key_encoder.parameters(), query_encoder.parameters(), strict=True):
        pk.mul_(momentum).add_(pq, alpha=1 - momentum)


def max_mutual_information(num_domains: int) -> float:
    """The IIC optimum: I = log K for confident, balanced, consistent assignments."""
    return math.log(num_domains)


# --------------------------------------------------------------------- examples
@register_example(covers=[GuidingNetwork, iic_loss, joint_distribution, style_contrastive_loss])
def tunit_guiding() -> Example:
    g = seeded(0)
    model = GuidingNetwork(TINY)
    x = torch.rand(4, 3, 16, 16, generator=g)
    x_aug = x.flip(-1)
    negatives = torch.randn(6, TINY.style_dim, generator=g)

    def run(m: GuidingNetwork, x: torch.Tensor, x_aug: torch.Tensor, negatives: torch.Tensor):
        logits, style = m(x)
        logits_aug, style_aug = m(x_aug)
        mi = iic_loss(logits.softmax(1), logits_aug.softmax(1))
        return logits, style, mi + style_contrastive_loss(style, style_aug, negatives, TINY.tau)

    return Example(model=model, inputs=(x, x_aug, negatives),
                   output_shapes=((4, TINY.num_domains), (4, TINY.style_dim), ()), run=run)


@register_example(covers=[momentum_update, max_mutual_information])
def tunit_momentum() -> Example:
    seeded(0)
    model = nn.ModuleDict({"q": nn.Linear(3, 2), "k": nn.Linear(3, 2)})
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))

    def run(m: nn.ModuleDict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        momentum_update(m["k"], m["q"], 0.5)
        return m["q"](x) + m["k"](x), torch.tensor(max_mutual_information(TINY.num_domains))

    return Example(model=model, inputs=(x,), output_shapes=((2, 2), ()), run=run)
