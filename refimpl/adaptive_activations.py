"""Adaptively Customizing Activation Functions for Various Layers.

Haigen Hu, Aizhu Liu, Qiu Guan, Xiaoxin Li, Shengyong Chen, Qianwei Zhou. 2021.
arXiv:2112.09442. Catalog id: ``adaptive-activation-functions``.

Implemented: the three adaptive activations, each with learnable scalars
(a_i, b_i, c_i, d_i) per layer i:

* ASigmoid: ``f(z) = b · σ(a · z + c) + d``
* ATanh:    ``f(z) = b · tanh(a · z + c) + d``
* AReLU:    ``f(z) = max(a · z + c, b · z + d)``

Initialisation reproduces the plain function: a = b = 1, c = d = 0 for
ASigmoid/ATanh; for AReLU a = 1, c = 0 and b = d = 0 gives ``max(z, 0)``.

Official code: none found; no parameters beyond the four scalars per layer.

Deviations from the paper: the parameters are one scalar each per layer (the
"per layer" reading of the notes), not per channel.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import Example, register_example, seeded


class _Adaptive(nn.Module):
    def __init__(self, a: float, b: float, c: float, d: float) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(float(a)))
        self.b = nn.Parameter(torch.tensor(float(b)))
        self.c = nn.Parameter(torch.tensor(float(c)))
        self.d = nn.Parameter(torch.tensor(float(d)))


class ASigmoid(_Adaptive):
    """b · σ(a · z + c) + d; starts as the plain sigmoid."""

    def __init__(self) -> None:
        super().__init__(1.0, 1.0, 0.0, 0.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.b * torch.sigmoid(self.a * z + self.c) + self.d


class ATanh(_Adaptive):
    """b · tanh(a · z + c) + d; starts as the plain tanh."""

    def __init__(self) -> None:
        super().__init__(1.0, 1.0, 0.0, 0.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.b * torch.tanh(self.a * z + self.c) + self.d


class AReLU(_Adaptive):
    """max(a · z + c, b · z + d); starts as the plain ReLU."""

    def __init__(self) -> None:
        super().__init__(1.0, 0.0, 0.0, 0.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.maximum(self.a * z + self.c, self.b * z + self.d)


@register_example(covers=[ASigmoid, ATanh, AReLU])
def adaptive_activations_mlp() -> Example:
    g = seeded(0)
    model = nn.Sequential(nn.Linear(4, 8), AReLU(), nn.Linear(8, 8), ATanh(), nn.Linear(8, 8), ASigmoid())
    with torch.no_grad():  # move AReLU off its kink so both of its lines are active somewhere
        model[1].b.fill_(0.1)
        model[1].d.fill_(0.05)
    return Example(model=model, inputs=(torch.randn(6, 4, generator=g),), output_shapes=((6, 8),))
