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
* Eq. 2, the contrastive (InfoNCE / MoCo) style loss
  ``−log exp(s·s⁺/τ) / Σᵢ exp(s·sᵢ/τ)`` with temperature τ = 0.07 on the raw
  (unnormalised) style codes, over one positive key from the momentum encoder
  (no gradient) and a first-in-first-out queue of 1024 negative keys, the
  momentum (EMA) update of the key encoder, and the guiding network's loss
  ``L_style + 5 · L_MI`` of the authors' trainer.

Official preset: ``OFFICIAL`` is clovaai/tunit at
405a77c146b067837ed7c25dc53f95893e8f3f99, ``models/guidingNet.py``
``GuidingNet`` (VGG-11 with batch norm, K = 10, style 128) with the defaults of
``main.py`` and ``train/train_unsupervised.py`` / ``tools/ops.py`` (τ 0.07,
queue 1024, EMA 0.999, IIC ε 1e-10, weight 5 on the IIC term). It has
9,296,778 parameters (features 9,225,984; clustering head 5,130; style head
65,664); at 128×128 it returns (10,) logits and a (128,) style code. Tested,
with the official IIC and contrastive losses on small inputs.

Deviations from the paper and the official code:

* Only the guiding network and its losses are implemented; the generator
  (AdaIN decoder as in ``refimpl.funit``/``refimpl.munit``) and the
  multi-task discriminator are not repeated here.
* Weights keep PyTorch's default initialisation (the authors use Kaiming
  fan-out for convs and N(0, 0.01) for the heads).
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
    tau: float = 0.07  # Eq. 2 temperature (tools/ops.py calc_contrastive_loss temp)
    momentum: float = 0.999  # key-encoder EMA (tools/ops.py update_average beta)
    queue_size: int = 1024  # negative keys kept (tools/ops.py dequeue_data K)
    lambda_mi: float = 5.0  # weight of the IIC term in E's loss (train_unsupervised.py: moco + 5.0 · iic)
    iic_eps: float = 1e-10  # floor on the joint and its marginals before the log (calc_iic_loss EPS)


OFFICIAL = TUNITConfig()  # clovaai/tunit main.py defaults (--output_k 10, --sty_dim 128), models/guidingNet.py
TINY = TUNITConfig(widths=(4, "M", 8, "M", 8, "M"), num_domains=3, style_dim=5, queue_size=8)


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


def iic_loss(p: torch.Tensor, p_aug: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Eq. 1: ``−I(z, z⁺) = −Σ_ij P_ij (log P_ij − log P_i − log P_j)``; p, p_aug are probabilities (B, K).

    The marginals come from the joint before P, P_i and P_j are floored at ``eps`` (as the authors' code).
    """
    joint = joint_distribution(p, p_aug)
    p_i = joint.sum(1, keepdim=True).clamp(min=eps)
    p_j = joint.sum(0, keepdim=True).clamp(min=eps)
    joint = joint.clamp(min=eps)
    return -(joint * (joint.log() - p_i.log() - p_j.log())).sum()


def style_contrastive_loss(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
                           tau: float = 0.07) -> torch.Tensor:
    """Eq. 2 (InfoNCE) on raw dot products: query, positive (N, D); negatives (M, D).

    The positive comes from the momentum encoder and gets no gradient.
    """
    k = positive.detach()
    logits = torch.cat([(query * k).sum(1, keepdim=True), query @ negatives.t()], 1) / tau  # positive at 0
    return F.cross_entropy(logits, torch.zeros(query.size(0), dtype=torch.long, device=query.device))


def enqueue(queue: torch.Tensor, keys: torch.Tensor, size: int = 1024) -> torch.Tensor:
    """Append this batch's keys (N, D) to the queue (M, D) and keep the newest ``size``."""
    return torch.cat([queue, keys.detach()], 0)[-size:]


def guiding_network_loss(mi_loss: torch.Tensor, style_loss: torch.Tensor,
                         config: TUNITConfig = TUNITConfig()) -> torch.Tensor:
    """E's objective in the authors' trainer: ``L_style + λ_MI · L_MI``."""
    return style_loss + config.lambda_mi * mi_loss


@torch.no_grad()
def momentum_update(key_encoder: nn.Module, query_encoder: nn.Module, momentum: float = 0.999) -> None:
    """θ_k ← m θ_k + (1 − m) θ_q."""
    for pk, pq in zip(key_encoder.parameters(), query_encoder.parameters(), strict=True):
        pk.mul_(momentum).add_(pq, alpha=1 - momentum)


def max_mutual_information(num_domains: int) -> float:
    """The IIC optimum: I = log K for confident, balanced, consistent assignments."""
    return math.log(num_domains)


# --------------------------------------------------------------------- examples
@register_example(covers=[GuidingNetwork, iic_loss, joint_distribution, style_contrastive_loss, enqueue,
                          guiding_network_loss])
def tunit_guiding() -> Example:
    g = seeded(0)
    model = GuidingNetwork(TINY)
    x = torch.rand(4, 3, 16, 16, generator=g)
    x_aug = x.flip(-1)
    negatives = torch.randn(6, TINY.style_dim, generator=g)

    def run(m: GuidingNetwork, x: torch.Tensor, x_aug: torch.Tensor, negatives: torch.Tensor):
        logits, style = m(x)
        logits_aug, style_aug = m(x_aug)
        mi = iic_loss(logits.softmax(1), logits_aug.softmax(1), TINY.iic_eps)
        queue = enqueue(negatives, style_aug, TINY.queue_size)
        loss = guiding_network_loss(mi, style_contrastive_loss(style, style_aug, queue[:-4], TINY.tau), TINY)
        return logits, style, loss

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
