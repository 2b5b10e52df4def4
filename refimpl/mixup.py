"""mixup: Beyond Empirical Risk Minimization.

Hongyi Zhang, Moustapha Cisse, Yann N. Dauphin, David Lopez-Paz. ICLR 2018.
arXiv:1710.09412. Catalog id: ``mixup``.

Implemented:

* Sec. 2, the vicinal distribution: virtual examples
  ``x̃ = λ x_i + (1 − λ) x_j``, ``ỹ = λ y_i + (1 − λ) y_j`` with
  ``λ ~ Beta(α, α)`` and (x_j, y_j) a random permutation of the batch, as
  in the paper's Fig. 1b (one λ per batch, one shuffled copy of the batch).
* The loss on mixed targets, written as the authors' code writes it:
  ``λ · CE(f(x̃), y_i) + (1 − λ) · CE(f(x̃), y_j)``, which equals the
  cross-entropy against the mixed one-hot target ``ỹ`` because CE is
  linear in the target distribution.

Parameter count: none; mixup is a data/loss transformation applied to any
classifier. ``OFFICIAL`` is the authors' CIFAR-10 setting
(facebookresearch/mixup-cifar10 @ eaff31a ``train.py``: ``--alpha`` 1.0,
``np.random.beta(alpha, alpha)``, ``torch.randperm``, the two-term loss).

Deviations from the paper:

* The sampling of λ and the permutation is split from the mixing so that
  both can be passed in (tests and the example registry need determinism);
  ``sample_mixup`` draws them as the paper does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class MixupConfig:
    alpha: float = 0.2  # Sec. 3.1: α ∈ [0.1, 0.4] on ImageNet (α = 1 in the CIFAR-10 runs, Sec. 3.2)


OFFICIAL = MixupConfig(alpha=1.0)  # facebookresearch/mixup-cifar10 train.py default --alpha


# --------------------------------------------------------------------- sampling and mixing
def sample_mixup(batch_size: int, alpha: float = MixupConfig.alpha,
                 generator: torch.Generator | None = None) -> tuple[float, torch.Tensor]:
    """Draw λ ~ Beta(α, α) and a permutation of the batch; α ≤ 0 means no mixing (λ = 1)."""
    if alpha > 0:
        # Beta(α, α) from two Gammas so that the draw follows ``generator``.
        a = torch._standard_gamma(torch.full((2,), float(alpha)), generator=generator)
        lam = float(a[0] / a.sum())
    else:
        lam = 1.0
    return lam, torch.randperm(batch_size, generator=generator)


def mixup(x: torch.Tensor, y: torch.Tensor, lam: float | torch.Tensor, index: torch.Tensor,
          num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Virtual examples (x̃, ỹ): x (N, ...), y (N,) class indices or (N, K) soft targets.

    Returns x̃ (N, ...) and ỹ (N, K): ``λ x + (1 − λ) x[index]`` and likewise for one-hot y.
    """
    if y.dim() == 1:
        if num_classes is None:
            raise ValueError("num_classes is needed to one-hot integer labels")
        y = F.one_hot(y, num_classes).to(x.dtype)
    return lam * x + (1 - lam) * x[index], lam * y + (1 - lam) * y[index]


def mixup_loss(logits: torch.Tensor, y: torch.Tensor, lam: float | torch.Tensor,
               index: torch.Tensor) -> torch.Tensor:
    """λ · CE(logits, y) + (1 − λ) · CE(logits, y[index]) for integer labels y (N,)."""
    return lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[index])


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a distribution: mean over the batch of −Σ_k ỹ_k log softmax_k."""
    return -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


# --------------------------------------------------------------------- examples
@register_example(covers=[mixup, mixup_loss, sample_mixup, soft_cross_entropy])
def mixup_classifier() -> Example:
    g = seeded(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    x = torch.rand(4, 3, 2, 2, generator=g)
    y = torch.tensor([0, 3, 1, 4])
    lam, index = sample_mixup(4, alpha=1.0, generator=g)

    def run(m: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y_d, index_d = y.to(x.device), index.to(x.device)
        x_mix, y_mix = mixup(x, y_d, lam, index_d, num_classes=5)
        logits = m(x_mix)
        return logits, mixup_loss(logits, y_d, lam, index_d), soft_cross_entropy(logits, y_mix)

    return Example(model=model, inputs=(x,), output_shapes=((4, 5), (), ()), run=run)
