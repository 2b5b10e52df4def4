"""TUNIT (arXiv:2006.06500): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from refimpl.tunit import (
    OFFICIAL,
    TINY,
    GuidingNetwork,
    TUNITConfig,
    enqueue,
    guiding_network_loss,
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


def test_style_contrastive_loss_matches_infonce_closed_form_on_raw_dot_products() -> None:
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[2.0, 0.0]])  # dot product 2 (a normalised version would give 1)
    neg = torch.tensor([[0.0, 3.0], [-1.0, 0.5]])  # dot products 0 and −1
    tau = 0.5
    expected = -math.log(math.exp(2 / tau) / (math.exp(2 / tau) + math.exp(0) + math.exp(-1 / tau)))
    torch.testing.assert_close(style_contrastive_loss(q, k, neg, tau), torch.tensor(expected))
    worse = style_contrastive_loss(q, torch.tensor([[0.0, 1.0]]), neg, tau)
    assert worse > style_contrastive_loss(q, k, neg, tau)


def test_momentum_update_moves_keys_towards_queries() -> None:
    q, k = nn.Linear(2, 2), nn.Linear(2, 2)
    q_w, k_w = q.weight.detach().clone(), k.weight.detach().clone()
    momentum_update(k, q, 0.9)
    torch.testing.assert_close(k.weight, 0.9 * k_w + 0.1 * q_w)
    torch.testing.assert_close(q.weight, q_w)


# --------------------------------------------------------------------- official figures
# Facts from clovaai/tunit at 405a77c146b067837ed7c25dc53f95893e8f3f99: models/guidingNet.py GuidingNet(128)
# (output_k cont 128, disc 10) counted with sum(p.numel()); tools/ops.py calc_iic_loss and
# calc_contrastive_loss evaluated in float64 on the inputs below.
OFFICIAL_COUNTS = {"all": 9_296_778, "features": 9_225_984, "cluster": 5_130, "style": 65_664}


def test_config_defaults_are_the_official_ones() -> None:
    c = TUNITConfig()
    assert c.widths == (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")  # cfg['vgg11']
    assert (c.num_domains, c.style_dim) == (10, 128)  # main.py --output_k 10, --sty_dim 128
    assert (c.tau, c.momentum, c.queue_size) == (0.07, 0.999, 1024)  # ops.py temp, update_average, dequeue K
    assert (c.lambda_mi, c.iic_eps) == (5.0, 1e-10)  # train_unsupervised.py 5.0 · iic; calc_iic_loss EPS
    assert c == OFFICIAL


def test_official_guiding_network_parameter_count_and_shapes() -> None:
    with torch.device("meta"):
        net = GuidingNetwork(OFFICIAL)
        logits, style = net(torch.empty(2, 3, 128, 128))
    counts = [sum(p.numel() for p in m.parameters()) for m in (net, net.features, net.cluster_head, net.style_head)]
    assert counts == [OFFICIAL_COUNTS[k] for k in ("all", "features", "cluster", "style")]
    assert logits.shape == (2, 10) and style.shape == (2, 128)


def test_guiding_network_is_vgg_with_batch_norm_relu_and_max_pooling() -> None:
    net = GuidingNetwork(TINY)
    kinds = [type(m) for m in net.features]
    conv_bn_relu = [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d]
    assert kinds == conv_bn_relu * 3 + [nn.AdaptiveAvgPool2d, nn.Flatten]
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert all(m.kernel_size == 2 for m in net.features if isinstance(m, nn.MaxPool2d))
    x = torch.rand(3, 3, 16, 24)
    logits, style = net(x)
    assert logits.shape == (3, 3) and style.shape == (3, 5)
    assert (logits[0] - logits[1]).abs().max() > 1e-4  # the tiny network's output depends on its input
    # both heads read the same pooled features
    h = net.features(x)
    torch.testing.assert_close(logits, net.cluster_head(h))
    torch.testing.assert_close(style, net.style_head(h))


def test_iic_loss_matches_the_official_code_on_soft_assignments() -> None:
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.25, 0.25]], dtype=torch.float64)
    q = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]], dtype=torch.float64)
    assert iic_loss(p, q).item() == pytest.approx(-0.009989810996181056, rel=1e-12)
    z = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)  # empty third cluster: ε floors
    assert iic_loss(z, z).item() == pytest.approx(-0.693147178811878, rel=1e-14, abs=0)


def test_style_contrastive_loss_matches_the_official_code() -> None:
    q = torch.tensor([[0.3, -0.1], [0.05, 0.2]], dtype=torch.float64)
    k = torch.tensor([[0.2, 0.1], [-0.1, 0.25]], dtype=torch.float64)
    queue = torch.tensor([[0.1, 0.3], [-0.2, 0.05], [0.4, -0.3]], dtype=torch.float64)
    loss = style_contrastive_loss(q, k, queue)  # τ = 0.07 by default
    assert loss.item() == pytest.approx(1.4579521017652868, rel=1e-12)


def test_style_contrastive_gradient_reaches_the_query_only() -> None:
    q = torch.randn(3, 4, requires_grad=True)
    k = torch.randn(3, 4, requires_grad=True)
    style_contrastive_loss(q, k, torch.randn(5, 4)).backward()
    assert q.grad is not None and q.grad.abs().sum() > 0 and k.grad is None


def test_enqueue_keeps_the_newest_keys_first_in_first_out() -> None:
    queue = torch.arange(6.0).view(3, 2)
    keys = torch.tensor([[10.0, 11.0], [12.0, 13.0]], requires_grad=True)
    out = enqueue(queue, keys, size=4)
    torch.testing.assert_close(out, torch.tensor([[2.0, 3.0], [4.0, 5.0], [10.0, 11.0], [12.0, 13.0]]))
    assert not out.requires_grad
    assert enqueue(queue, keys).shape == (5, 2)  # below the default 1024 nothing is dropped


def test_guiding_network_loss_weights_the_mutual_information_term() -> None:
    total = guiding_network_loss(torch.tensor(0.3), torch.tensor(2.0))
    assert total.item() == pytest.approx(2.0 + 5.0 * 0.3)
    assert guiding_network_loss(torch.tensor(0.3), torch.tensor(2.0), TUNITConfig(lambda_mi=2.0)).item() == (
        pytest.approx(2.6))


def test_joint_distribution_is_asymmetric_before_symmetrising() -> None:
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    q = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    # Σ_b p_b q_bᵀ = [[0, 2], [0, 1]]; symmetrised [[0, 1], [1, 1]]; normalised by 3
    torch.testing.assert_close(joint_distribution(p, q), torch.tensor([[0.0, 1.0], [1.0, 1.0]]) / 3)


def test_momentum_update_with_the_default_momentum() -> None:
    q, k = nn.Linear(2, 3), nn.Linear(2, 3)
    q_w, k_w = q.weight.detach().clone(), k.weight.detach().clone()
    q_b, k_b = q.bias.detach().clone(), k.bias.detach().clone()
    momentum_update(k, q)
    torch.testing.assert_close(k.weight, 0.999 * k_w + 0.001 * q_w)
    torch.testing.assert_close(k.bias, 0.999 * k_b + 0.001 * q_b)


def test_enqueue_keeps_1024_keys_by_default() -> None:
    queue = torch.zeros(1024, 2)
    keys = torch.ones(3, 2)
    out = enqueue(queue, keys)
    assert out.shape == (1024, 2) and out[-3:].eq(1).all() and out[:-3].eq(0).all()
