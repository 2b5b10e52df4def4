"""Blending a face (or its code) with its k nearest training images."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.knn_blending import KNNBlendConfig, knn_blend, knn_code_blend, nearest_neighbours

BANK = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.0, 2.0], [9.0, 9.0]])


def test_config_defaults() -> None:
    assert KNNBlendConfig() == KNNBlendConfig(k=3, weight=0.5)


def test_nearest_neighbours_by_hand() -> None:
    q = torch.tensor([[0.9, 0.1], [8.0, 8.0]])
    # distances from (0.9, 0.1): 0.906, 0.141, 6.4, 2.09, 11.4 -> 1, 0, 3
    assert nearest_neighbours(q, BANK, 3).tolist() == [[1, 0, 3], [4, 2, 3]]


def test_blend_is_the_weighted_mean_with_the_neighbours() -> None:
    q = torch.tensor([[0.9, 0.1]])
    # neighbours 1, 0 (k = 2): mean (0.5, 0); weight 0.25 -> 0.75 q + 0.25 (0.5, 0)
    torch.testing.assert_close(knn_blend(q, BANK, k=2, weight=0.25), torch.tensor([[0.8, 0.075]]))
    torch.testing.assert_close(knn_blend(q, BANK, k=2, weight=0.0), q)
    images = BANK.view(5, 1, 1, 2)  # works on images too (flattened for the search)
    torch.testing.assert_close(knn_blend(q.view(1, 1, 1, 2), images, k=2, weight=0.25).flatten(),
                               torch.tensor([0.8, 0.075]))


def test_code_blend_searches_and_blends_in_code_space() -> None:
    enc = nn.Linear(2, 2, bias=False)
    dec = nn.Identity()
    with torch.no_grad():
        enc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))  # flips y in code space
    x = torch.tensor([[0.9, 0.1]])
    codes = enc(BANK)
    out = knn_code_blend(enc, dec, x, codes, k=2, weight=0.25)
    torch.testing.assert_close(out, torch.tensor([[0.8, -0.075]]), atol=1e-6, rtol=0)
