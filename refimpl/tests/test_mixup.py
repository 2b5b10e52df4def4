"""mixup (arXiv:1710.09412): the claims that define the method."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from refimpl.mixup import OFFICIAL, MixupConfig, mixup, mixup_loss, sample_mixup, soft_cross_entropy


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


def test_config_defaults() -> None:
    assert MixupConfig().alpha == 0.2  # Sec. 3.1: ImageNet, α ∈ [0.1, 0.4]
    assert OFFICIAL.alpha == 1.0  # facebookresearch/mixup-cifar10 @ eaff31a train.py: --alpha 1.


def test_permutation_permutes_and_follows_the_generator() -> None:
    draws = [sample_mixup(8, 1.0, torch.Generator().manual_seed(s)) for s in range(20)]
    for _, index in draws:
        assert sorted(index.tolist()) == list(range(8))  # a permutation of the batch
    assert sum(not torch.equal(index, torch.arange(8)) for _, index in draws) == 20  # never the identity here
    assert len({tuple(index.tolist()) for _, index in draws}) == 20  # different seeds, different pairings
    again = sample_mixup(8, 1.0, torch.Generator().manual_seed(7))
    assert again[0] == draws[7][0] and torch.equal(again[1], draws[7][1])  # same seed, same draw
    g = torch.Generator().manual_seed(7)
    first, second = sample_mixup(8, 1.0, g), sample_mixup(8, 1.0, g)
    assert first[0] != second[0] and not torch.equal(first[1], second[1])  # the generator advances


def test_lambda_moments_match_beta_alpha_alpha_for_several_alphas() -> None:
    # Beta(α, α): mean 1/2, variance 1 / (4 (2α + 1)); λ ∈ [0, 1].
    g = torch.Generator().manual_seed(1)
    for alpha in (0.2, 2.0):
        lams = torch.tensor([sample_mixup(2, alpha, g)[0] for _ in range(1500)], dtype=torch.float64)
        assert ((lams >= 0) & (lams <= 1)).all()
        assert abs(lams.mean().item() - 0.5) < 0.03
        var = 1 / (4 * (2 * alpha + 1))
        assert abs(lams.var().item() / var - 1) < 0.12
    defaults = torch.tensor([sample_mixup(2, generator=g)[0] for _ in range(1500)], dtype=torch.float64)
    assert abs(defaults.var().item() / (1 / (4 * 1.4)) - 1) < 0.12  # the default α is 0.2


def test_mixup_loss_hand_values() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 2])
    index = torch.tensor([1, 0])

    def ce(row: list[float], k: int) -> float:
        return -row[k] + math.log(sum(math.exp(v) for v in row))

    rows = logits.tolist()
    own = (ce(rows[0], 0) + ce(rows[1], 2)) / 2
    other = (ce(rows[0], 2) + ce(rows[1], 0)) / 2
    expected = 0.3 * own + 0.7 * other
    assert abs(mixup_loss(logits, y, 0.3, index).item() - expected) < 1e-12
    _, y_mix = mixup(torch.zeros(2, 1, dtype=torch.float64), y, 0.3, index, num_classes=3)
    torch.testing.assert_close(y_mix, torch.tensor([[0.3, 0.0, 0.7], [0.7, 0.0, 0.3]], dtype=torch.float64))
    assert abs(soft_cross_entropy(logits, y_mix).item() - expected) < 1e-12


def test_inputs_mix_with_lambda_on_the_unpermuted_batch() -> None:
    x = torch.tensor([[1.0], [10.0], [100.0]], dtype=torch.float64)
    x_mix, _ = mixup(x, torch.zeros(3, 2, dtype=torch.float64), 0.25, torch.tensor([2, 0, 1]))
    torch.testing.assert_close(x_mix, torch.tensor([[0.25 + 75.0], [2.5 + 0.75], [25.0 + 7.5]], dtype=torch.float64))


def test_integer_labels_need_the_number_of_classes() -> None:
    with pytest.raises(ValueError):
        mixup(torch.zeros(2, 1), torch.tensor([0, 1]), 0.5, torch.tensor([1, 0]))
