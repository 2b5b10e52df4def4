"""KL Loss (arXiv:1809.08545): boxes as Gaussians, and variance voting."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.kl_loss import (
    OFFICIAL,
    KLBoxHead,
    KLLossConfig,
    box_iou,
    kl_box_loss,
    kl_loss,
    var_voting_nms,
    variance_vote,
)

D = torch.float64


def test_defaults() -> None:
    c = KLLossConfig()
    assert c.sigma_t == 0.01  # official cfg.STD.IOU_SIGMA
    assert c.vote_threshold == 0.0  # Algorithm 1: IoU > 0
    assert c.nms_threshold == 0.5
    assert c.alpha_init_std == 1e-4  # Sec. 3.2
    assert c == OFFICIAL


def test_loss_by_hand_in_both_regimes() -> None:
    # |x_g − x_e| = 0.5 ≤ 1: e^{−0.5} · 0.5²/2 + 0.5/2
    small = kl_loss(torch.tensor(0.3, dtype=D), torch.tensor(0.5, dtype=D), torch.tensor(0.8, dtype=D))
    assert math.isclose(small.item(), math.exp(-0.5) * 0.125 + 0.25, rel_tol=1e-12)
    # |x_g − x_e| = 2.5 > 1: e^{1} · (2.5 − 0.5) + (−1)/2
    large = kl_loss(torch.tensor(0.0, dtype=D), torch.tensor(-1.0, dtype=D), torch.tensor(-2.5, dtype=D))
    assert math.isclose(large.item(), math.e * 2.0 - 0.5, rel_tol=1e-12)


def test_alpha_zero_is_smooth_l1_and_the_branches_meet_at_one() -> None:
    pred = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0], dtype=D)
    target = torch.tensor([0.2, -0.9, 1.7, -3.0, 0.4], dtype=D)
    zero = torch.zeros(5, dtype=D)
    torch.testing.assert_close(kl_loss(pred, zero, target), F.smooth_l1_loss(pred, target, reduction="none"))
    alpha = torch.tensor([0.7], dtype=D)
    below = kl_loss(torch.zeros(1, dtype=D), alpha, torch.tensor([1 - 1e-9], dtype=D))
    above = kl_loss(torch.zeros(1, dtype=D), alpha, torch.tensor([1 + 1e-9], dtype=D))
    torch.testing.assert_close(below, above)
    torch.testing.assert_close(below, 0.5 * torch.exp(-alpha) + alpha / 2)


def test_loss_is_minimised_at_sigma_squared_twice_the_error() -> None:
    # d/dα [e^{−α} s + α/2] = 0  ⇔  α = log(2s): larger errors are explained by larger variance.
    for diff in (0.5, 2.5):
        s = 0.5 * diff**2 if diff <= 1 else diff - 0.5
        alpha = torch.tensor(math.log(2 * s), dtype=D, requires_grad=True)
        kl_loss(torch.tensor(0.0, dtype=D), alpha, torch.tensor(diff, dtype=D)).backward()
        assert abs(alpha.grad.item()) < 1e-12


def test_box_loss_sums_coordinates_and_averages_boxes() -> None:
    pred = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=D)
    target = torch.tensor([[0.5, 0.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0]], dtype=D)
    alpha = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]], dtype=D)
    box0 = 0.125
    box1 = math.exp(-1.0) * 2.5 + 0.5
    assert math.isclose(kl_box_loss(pred, alpha, target).item(), (box0 + box1) / 2, rel_tol=1e-12)


def test_head_starts_near_unit_variance() -> None:
    head = KLBoxHead(16)
    assert head.alpha.weight.std().item() < 1e-3
    assert torch.count_nonzero(head.alpha.bias) == 0
    pred, alpha = head(torch.randn(7, 16))
    assert pred.shape == alpha.shape == (7, 4)
    assert alpha.abs().max() < 0.01


def test_iou_by_hand() -> None:
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=D)
    b = torch.tensor([[1.0, 0.0, 11.0, 10.0], [5.0, 5.0, 25.0, 10.0], [30.0, 30.0, 40.0, 40.0]], dtype=D)
    torch.testing.assert_close(box_iou(a, b)[0], torch.tensor([90 / 110, 25 / 175, 0.0], dtype=D))


def test_variance_vote_by_hand() -> None:
    # Selected box b = A; candidates A (σ² = 1) and B (σ² = 0.25, shifted right by 1, IoU 9/11).
    a = [0.0, 0.0, 10.0, 10.0]
    b = [1.0, 0.0, 11.0, 10.0]
    cands = torch.tensor([a, b], dtype=D)
    var = torch.tensor([[1.0] * 4, [0.25] * 4], dtype=D)
    sigma_t = 0.05
    p_b = math.exp(-((1 - 9 / 11) ** 2) / sigma_t)
    wa, wb = 1.0 / 1.0, p_b / 0.25
    expected = [(wa * a[k] + wb * b[k]) / (wa + wb) for k in range(4)]
    torch.testing.assert_close(variance_vote(cands[0], cands, var, sigma_t), torch.tensor(expected, dtype=D))


def test_confident_coordinates_dominate_the_vote() -> None:
    # Two boxes differing only in x1; the one with the smaller σ² on x1 wins x1 almost entirely.
    cands = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.5, 0.0, 10.0, 10.0]], dtype=D)
    var = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1e-4, 1.0, 1.0, 1.0]], dtype=D)
    out = variance_vote(cands[0], cands, var, sigma_t=1.0)
    assert abs(out[0].item() - 0.5) < 1e-3


def test_var_voting_nms_by_hand() -> None:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [30.0, 30.0, 40.0, 40.0], [1.0, 0.0, 11.0, 10.0]], dtype=D)
    scores = torch.tensor([0.9, 0.7, 0.8], dtype=D)
    alphas = torch.log(torch.tensor([[1.0] * 4, [1.0] * 4, [0.25] * 4], dtype=D))
    kept, kept_scores = var_voting_nms(boxes, scores, alphas)
    p = math.exp(-((1 - 9 / 11) ** 2) / 0.01)  # official σ_t
    w = p / 0.25
    first = [(0 + w * 1) / (1 + w), 0.0, (10 + w * 11) / (1 + w), 10.0]
    torch.testing.assert_close(kept, torch.tensor([first, [30.0, 30.0, 40.0, 40.0]], dtype=D))
    torch.testing.assert_close(kept_scores, torch.tensor([0.9, 0.7], dtype=D))


def test_only_overlapping_boxes_vote() -> None:
    # With a large σ_t a far box would still get weight e^{−1/σ_t}; Algorithm 1 excludes IoU = 0.
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]], dtype=D)
    kept, _ = var_voting_nms(boxes, torch.tensor([0.9, 0.1], dtype=D), torch.zeros(2, 4, dtype=D),
                             KLLossConfig(sigma_t=100.0))
    torch.testing.assert_close(kept, boxes)
