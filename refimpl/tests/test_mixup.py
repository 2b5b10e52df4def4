"""mixup (arXiv:1710.09412): the claims that define the method."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from refimpl.mixup import MixupConfig, mixup, mixup_loss, sample_mixup, soft_cross_entropy


def test_lambda_one_returns_the_original_examples() -> None:
    x = torch.randn(5, 3, 4, 4)
    y = torch.tensor([0, 1, 2, 1, 0])
    x_mix, y_mix = mixup(x, y, 1.0, torch.randperm(5), num_classes=3)
    torch.testing.assert_close(x_mix, x)
    torch.testing.assert_close(y_mix, F.one_hot(y, 3).float())


def test_mixing_is_the_convex_combination_with_the_permuted_batch(device: torch.device) -> None:
    x = torch.randn(4, 6, device=device)
    y = torch.tensor([0, 1, 2, 3], device=device)
    index = torch.tensor([2, 0, 3, 1], device=device)
    x_mix, y_mix = mixup(x, y, 0.3, index, num_classes=4)
    torch.testing.assert_close(x_mix[1], 0.3 * x[1] + 0.7 * x[0])
    expected = torch.zeros(4, device=device)
    expected[1], expected[0] = 0.3, 0.7
    torch.testing.assert_close(y_mix[1], expected)


def test_mixed_labels_are_distributions() -> None:
    y = torch.randint(0, 7, (16,))
    lam, index = sample_mixup(16, alpha=1.0, generator=torch.Generator().manual_seed(3))
    _, y_mix = mixup(torch.randn(16, 2), y, lam, index, num_classes=7)
    assert (y_mix >= 0).all() and (y_mix <= 1).all()
    torch.testing.assert_close(y_mix.sum(dim=1), torch.ones(16))


def test_mixup_loss_equals_cross_entropy_against_mixed_one_hot_targets() -> None:
    # CE is linear in the target, so the two forms used in practice agree.
    logits = torch.randn(8, 5)
    y = torch.randint(0, 5, (8,))
    index = torch.randperm(8)
    _, y_mix = mixup(torch.zeros(8, 1), y, 0.37, index, num_classes=5)
    torch.testing.assert_close(mixup_loss(logits, y, 0.37, index), soft_cross_entropy(logits, y_mix))


def test_lambda_follows_beta_alpha_alpha() -> None:
    # α = 1: Beta(1, 1) is uniform (mean 1/2, variance 1/12); small α piles λ near 0 and 1.
    g = torch.Generator().manual_seed(0)
    lams = torch.tensor([sample_mixup(2, 1.0, g)[0] for _ in range(4000)])
    assert abs(lams.mean().item() - 0.5) < 0.02
    assert abs(lams.var().item() - 1 / 12) < 0.01
    small = torch.tensor([sample_mixup(2, MixupConfig().alpha, g)[0] for _ in range(2000)])
    assert ((small < 0.1) | (small > 0.9)).float().mean() > 0.5
    assert sample_mixup(3, 0.0)[0] == 1.0  # α = 0 disables mixing
