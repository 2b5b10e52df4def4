"""Rethinking the Usage of Batch Normalization and Dropout in the Training of Deep Neural Networks.

Guangyong Chen, Pengfei Chen, Yujun Shi, Chang-Yu Hsieh, Benben Liao, Shengyu
Zhang. 2019. arXiv:1905.05928. Catalog id: ``independent-components-layer``.

Implemented:

* Sec. 3, the Independent-Component (IC) layer: BatchNorm followed by Dropout,
  ``IC(x) = Dropout_p(BN(x))``, placed *before* each weight layer, so a layer
  reads ``Weight → ReLU → IC → Weight`` (Fig. 2 b) instead of
  ``Weight → BN → ReLU → Weight``.
* The claim that motivates it: BN whitens each unit (zero mean, unit variance)
  and Dropout, by keeping each unit independently with probability 1 − p,
  reduces the mutual correlation of the units: for the kept-and-rescaled
  units ``corr(y_i, y_j) = (1 − p) · corr(x_i, x_j)`` for i ≠ j.

Official code: none linked in the catalog; no parameters beyond BatchNorm's.

Deviations from the paper: ``drop_prob`` defaults to 0.05, one of the small
rates the paper reports using (the rate is a tuned hyperparameter there).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class ICConfig:
    drop_prob: float = 0.05  # Dropout rate p of the IC layer (small rates, see Deviations)


class ICLayer(nn.Module):
    """BatchNorm then Dropout over features (N, C) or (N, C, H, W)."""

    def __init__(self, num_features: int, drop_prob: float = ICConfig.drop_prob, spatial: bool = False) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features) if spatial else nn.BatchNorm1d(num_features)
        self.dropout = nn.Dropout(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.norm(x))


class ICBlock(nn.Module):
    """Fig. 2 b: ReLU of the previous weight layer's output, the IC layer, then the weight layer."""

    def __init__(self, in_features: int, out_features: int, drop_prob: float = ICConfig.drop_prob) -> None:
        super().__init__()
        self.ic = ICLayer(in_features, drop_prob)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.ic(torch.relu(x)))


@register_example(covers=[ICLayer, ICBlock])
def ic_layer_mlp() -> Example:
    g = seeded(0)
    model = nn.Sequential(nn.Linear(6, 16), ICBlock(16, 16), ICBlock(16, 4))
    return Example(model=model, inputs=(torch.randn(8, 6, generator=g),), output_shapes=((8, 4),))
