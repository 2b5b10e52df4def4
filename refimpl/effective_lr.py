"""Rethinking the Hyperparameters for Fine-tuning.

Hao Li, Pratik Chaudhari, Hao Yang, Michael Lam, Avinash Ravichandran, Rahul
Bhotika, Stefano Soatto. ICLR 2020. arXiv:2002.11770. Catalog id:
``rethinking-finetuning-hyperparameters``.

Implemented (Sec. 3.3, "effective learning rate"):

* SGD with momentum, ``v_t = m · v_{t−1} + g_t``, ``θ_t = θ_{t−1} − η · v_t``
  (PyTorch's ``SGD(momentum=m, dampening=0)``), has the effective learning rate
  ``η' = η / (1 − m)``: with a slowly varying gradient the update approaches
  ``η/(1 − m) · g``, so (η, m) pairs with the same η' train alike; the paper
  therefore searches η' and m rather than η and m independently.
* ``equivalent_learning_rate``: the η that keeps η' fixed when m changes,
  ``η = η' (1 − m)``.

Official code: none released (the paper links no repository); the paper's own
numbers are pinned instead (η = 0.01, m = 0.9 gives η' = 0.1, Sec. 3.3) and the
claim is tested numerically on a quadratic.

Deviations from the paper: none in the formulas; the paper's weight decay
(L2-SP vs L2) part of the study is not implemented.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .registry import Example, register_example, seeded


def effective_learning_rate(lr: float, momentum: float) -> float:
    """η' = η / (1 − m)."""
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    return lr / (1.0 - momentum)


def equivalent_learning_rate(effective_lr: float, momentum: float) -> float:
    """The η giving effective rate η' at momentum m: η' (1 − m)."""
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    return effective_lr * (1.0 - momentum)


def sgd_trajectory(loss_fn: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, lr: float,
                   momentum: float, steps: int) -> torch.Tensor:
    """Iterates of heavy-ball SGD ``v ← m v + g``, ``θ ← θ − η v`` from ``start`` (the update of
    ``torch.optim.SGD(momentum=m, dampening=0)``, written out because that optimiser's first step
    imports torch._dynamo, seconds on a small machine): (steps + 1, *start.shape)."""
    theta = start.detach().clone()
    velocity = torch.zeros_like(theta)
    out = [theta.clone()]
    for _ in range(steps):
        point = theta.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(point), point)
        velocity = momentum * velocity + grad
        theta = theta - lr * velocity
        out.append(theta.clone())
    return torch.stack(out)


@register_example(covers=[effective_learning_rate, equivalent_learning_rate])
def effective_lr_step() -> Example:
    g = seeded(0)
    model = nn.Linear(3, 1)
    x = torch.randn(4, 3, generator=g)
    lr = equivalent_learning_rate(0.1, 0.9)

    def run(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        # one momentum-SGD step's update direction scaled by the effective rate
        loss = m(x).pow(2).mean()
        return loss * effective_learning_rate(lr, 0.9)

    return Example(model=model, inputs=(x,), output_shapes=((),), run=run)
