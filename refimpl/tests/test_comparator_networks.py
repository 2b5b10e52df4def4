"""Comparator Networks (arXiv:1807.11440): detect, attend and compare sets of faces."""

from __future__ import annotations

import math

import torch

from refimpl.comparator_networks import (
    TINY,
    Comparator,
    ComparatorConfig,
    ComparatorNetwork,
    Detector,
    aggregate_set,
    attend,
    comparator_loss,
    diversity_loss,
    spatial_softmax,
)

D = torch.float64


def test_defaults() -> None:
    c = ComparatorConfig()
    assert c.landmarks == 12  # Sec. 4.1
    assert c.aggregation == "softmax"  # Sec. 3.2, landmark-score recalibration
    assert c.in_channels == 3
    assert (c.channels, c.expert_dim, c.diversity_weight) == (16, 16, 1.0)  # my choice
    assert (TINY.landmarks, TINY.channels, TINY.expert_dim) == (4, 8, 8)


def test_each_landmark_map_sums_to_one_over_its_image() -> None:
    torch.manual_seed(0)
    _, maps = Detector(TINY)(torch.randn(3, 3, 6, 5))
    assert maps.shape == (3, 4, 6, 5)
    assert (maps >= 0).all()
    torch.testing.assert_close(maps.sum(dim=(2, 3)), torch.ones(3, 4))
    # Normalised over positions, not over landmarks: landmark sums at one position are not 1.
    assert not torch.allclose(maps.sum(dim=1), torch.ones(3, 6, 5))


def test_spatial_softmax_by_hand() -> None:
    logits = torch.tensor([0.0, math.log(3.0), 0.0, 0.0], dtype=D).view(1, 1, 2, 2)
    torch.testing.assert_close(spatial_softmax(logits).flatten(), torch.tensor([1, 3, 1, 1], dtype=D) / 6)


def test_diversity_is_zero_for_disjoint_maps_and_positive_for_identical() -> None:
    disjoint = torch.zeros(1, 3, 2, 2, dtype=D)
    disjoint[0, 0, 0, 0] = disjoint[0, 1, 0, 1] = 1.0
    disjoint[0, 2, 1, :] = 0.5
    assert diversity_loss(disjoint).item() == 0.0
    same = torch.full((1, 3, 2, 2), 0.25, dtype=D)
    assert math.isclose(diversity_loss(same).item(), 1 - 1 / 3, rel_tol=1e-12)
    # Partly overlapping: Σ max = 1 + 1 (maps 0, 1 share their mass) → 1 − 2/3, averaged with an identical image.
    partial = disjoint.clone()
    partial[0, 1] = disjoint[0, 0]
    both = torch.cat([partial, same])
    assert math.isclose(diversity_loss(both).item(), ((1 - 2 / 3) + (1 - 1 / 3)) / 2, rel_tol=1e-12)


def test_attend_is_the_map_weighted_feature_sum() -> None:
    feats = torch.arange(8, dtype=D).view(1, 2, 2, 2)  # channel 0: 0..3, channel 1: 4..7
    maps = torch.tensor([[1.0, 0, 0, 0], [0, 0.5, 0, 0.5]], dtype=D).view(1, 2, 2, 2)
    torch.testing.assert_close(attend(feats, maps), torch.tensor([[[0.0, 4.0], [2.0, 6.0]]], dtype=D))


def test_set_aggregation_by_hand() -> None:
    d = torch.tensor([[[1.0], [10.0]], [[3.0], [20.0]]], dtype=D)  # (N=2, K=2, C=1)
    s = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]], dtype=D)
    # Landmark 0: weights 1/4, 3/4 over the images; landmark 1: equal weights.
    torch.testing.assert_close(aggregate_set(d, s), torch.tensor([[2.5], [15.0]], dtype=D))
    torch.testing.assert_close(aggregate_set(d, None, "max"), torch.tensor([[3.0], [20.0]], dtype=D))


def test_comparison_by_hand() -> None:
    comp = Comparator(channels=1, expert_dim=1).double()
    with torch.no_grad():
        comp.expert.weight.copy_(torch.tensor([[1.0, -1.0]]))
        comp.expert.bias.fill_(0.5)
        comp.classifier.weight.fill_(2.0)
        comp.classifier.bias.fill_(-1.0)
    a = torch.tensor([[1.0], [2.0]], dtype=D)
    b = torch.tensor([[3.0], [-1.0]], dtype=D)
    # Landmark 0: ReLU(1 − 3 + 0.5) = 0; landmark 1: ReLU(2 + 1 + 0.5) = 3.5; mean 1.75 → 2·1.75 − 1.
    assert math.isclose(comp(a, b).item(), 2.5, rel_tol=1e-12)
    # The comparison is ordered (set A first): swapping the sets changes it.
    assert math.isclose(comp(b, a).item(), 1.5, rel_tol=1e-12)


def _net(aggregation: str = "softmax") -> ComparatorNetwork:
    torch.manual_seed(0)
    return ComparatorNetwork(ComparatorConfig(landmarks=4, channels=8, expert_dim=8, aggregation=aggregation)).double()


def test_permutation_invariance_within_a_set() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(4, 3, 6, 6, generator=g, dtype=D)
    b = torch.randn(3, 3, 6, 6, generator=g, dtype=D)
    for mode in ("softmax", "max"):
        net = _net(mode)
        logit, div = net(a, b)
        logit_p, div_p = net(a[[2, 0, 3, 1]], b[[1, 2, 0]])
        torch.testing.assert_close(logit_p, logit)
        torch.testing.assert_close(div_p, div)


def test_output_shape_is_independent_of_set_size_and_depends_on_the_images() -> None:
    net = _net()
    g = torch.Generator().manual_seed(2)
    outs = []
    for na, nb in ((1, 1), (2, 5), (7, 3)):
        logit, div = net(torch.randn(na, 3, 6, 6, generator=g, dtype=D), torch.randn(nb, 3, 6, 6, generator=g, dtype=D))
        assert logit.shape == () and div.shape == ()
        outs.append(logit.item())
    assert len(set(outs)) == 3
    da, _ = net.describe(torch.randn(5, 3, 6, 6, generator=g, dtype=D))
    assert da.shape == (4, 8)


def test_a_set_of_copies_describes_like_one_image() -> None:
    # Softmax weights over identical images average identical descriptors.
    net = _net()
    x = torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(3), dtype=D)
    torch.testing.assert_close(net.describe(x.repeat(3, 1, 1, 1))[0], net.describe(x)[0])


def test_loss_and_gradients_reach_every_part() -> None:
    net = _net()
    g = torch.Generator().manual_seed(4)
    logit, div = net(torch.randn(2, 3, 6, 6, generator=g, dtype=D), torch.randn(3, 3, 6, 6, generator=g, dtype=D))
    loss = comparator_loss(logit, torch.tensor(1.0, dtype=D), div)
    expected = math.log1p(math.exp(-logit.item())) + div.item()
    assert math.isclose(loss.item(), expected, rel_tol=1e-9)
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_forward_diversity_averages_both_sets() -> None:
    net = _net()
    g = torch.Generator().manual_seed(5)
    a = torch.randn(2, 3, 6, 6, generator=g, dtype=D)
    b = torch.randn(3, 3, 6, 6, generator=g, dtype=D)
    _, div = net(a, b)
    expected = (diversity_loss(net.detector(a)[1]) + diversity_loss(net.detector(b)[1])) / 2
    torch.testing.assert_close(div, expected)
