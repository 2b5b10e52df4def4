"""TUNIT (arXiv:2006.06500): the claims that define the paper."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.tunit import (
    TINY,
    GuidingNetwork,
    TUNITConfig,
    iic_loss,
    joint_distribution,
    max_mutual_information,
    momentum_update,
    style_contrastive_loss,
)


def test_mi_of_identical_balanced_one_hot_assignments_is_log_k(device: torch.device) -> None:
    k = 5
    p = F.one_hot(torch.arange(20, device=device) % k, k).float()
    torch.testing.assert_close(iic_loss(p, p), torch.tensor(-math.log(k), device=device), atol=1e-6, rtol=0)
    assert math.isclose(max_mutual_information(k), math.log(k))


def test_mi_is_zero_for_independent_or_collapsed_assignments() -> None:
    k = 4
    uniform = torch.full((8, k), 1 / k)
    onehot = F.one_hot(torch.arange(8) % k, k).float()
    assert abs(iic_loss(uniform, onehot).item()) < 1e-6  # no information shared
    collapsed = F.one_hot(torch.zeros(8, dtype=torch.long), k).float()
    assert abs(iic_loss(collapsed, collapsed).item()) < 1e-5  # all in one cluster: H(z) = 0
    # A consistent relabelling keeps all the information (IIC ignores cluster names)...
    relabelled = onehot[:, torch.tensor([1, 0, 3, 2])]
    torch.testing.assert_close(iic_loss(onehot, relabelled), torch.tensor(-math.log(k)))
    # ...inconsistent pairs lose some: half the pairs agree, half are shifted by one cluster.
    mixed = F.one_hot(torch.tensor([0, 1, 2, 3, 1, 2, 3, 0]), k).float()
    assert iic_loss(onehot, mixed).item() > -math.log(k) + 0.1


def test_joint_distribution_is_symmetric_and_normalised() -> None:
    g = torch.Generator().manual_seed(0)
    p, q = torch.rand(6, 3, generator=g).softmax(1), torch.rand(6, 3, generator=g).softmax(1)
    joint = joint_distribution(p, q)
    torch.testing.assert_close(joint, joint.t())
    torch.testing.assert_close(joint.sum(), torch.tensor(1.0))
    expected = sum(torch.outer(p[b], q[b]) + torch.outer(q[b], p[b]) for b in range(6)) / 12
    torch.testing.assert_close(joint, expected)


def test_guiding_network_heads() -> None:
    net = GuidingNetwork(TINY)
    logits, style = net(torch.rand(2, 3, 16, 16))
    assert logits.shape == (2, TINY.num_domains) and style.shape == (2, TINY.style_dim)
    full = TUNITConfig()
    assert sum(w != "M" for w in full.widths) == 8  # VGG-11: eight conv layers
    with torch.device("meta"):
        assert GuidingNetwork(full).cluster_head.in_features == 512


def test_style_contrastive_loss_matches_infonce_closed_form() -> None:
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[2.0, 0.0]])  # normalised: same direction, similarity 1
    neg = torch.tensor([[0.0, 3.0], [-1.0, 0.0]])  # similarities 0 and −1
    tau = 0.5
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0) + math.exp(-1 / tau)))
    torch.testing.assert_close(style_contrastive_loss(q, k, neg, tau), torch.tensor(expected))
    worse = style_contrastive_loss(q, torch.tensor([[0.0, 1.0]]), neg, tau)
    assert worse > style_contrastive_loss(q, k, neg, tau)


def test_momentum_update_moves_keys_towards_queries() -> None:
    q, k = nn.Linear(2, 2), nn.Linear(2, 2)
    q_w, k_w = q.weight.detach().clone(), k.weight.detach().clone()
    momentum_update(k, q, 0.9)
    torch.testing.assert_close(k.weight, 0.9 * k_w + 0.1 * q_w)
    torch.testing.assert_close(q.weight, q_w)
