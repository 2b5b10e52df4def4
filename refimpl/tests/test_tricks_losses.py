"""Hinge loss and wrong-pixel penalty (the notes' loss tricks): their defining properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from refimpl.tricks_losses import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    hinge_loss,
    wrong_pixel_penalty,
    wrong_pixel_weight,
)


def test_hinge_is_zero_beyond_the_margin_and_matches_hand_values(device: torch.device) -> None:
    out = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.3, -3.0], device=device)
    gt = torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0, -1.0], device=device)
    # max(0, 1 − gt·out): 1−2→0, 1−1→0, 0.5, 2, 1.3, 1−3→0
    expected = torch.tensor([0.0, 0.0, 0.5, 2.0, 1.3, 0.0], device=device)
    torch.testing.assert_close(hinge_loss(out, gt, reduction="none"), expected)
    torch.testing.assert_close(hinge_loss(out, gt), expected.mean())
    torch.testing.assert_close(hinge_loss(out, gt, reduction="sum"), expected.sum())


def test_hinge_is_linear_inside_the_margin_with_slope_minus_label() -> None:
    out = torch.tensor([-2.0, 0.0, 0.9, 1.5, -0.5, 3.0], requires_grad=True)
    gt = torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
    hinge_loss(out, gt, reduction="sum").backward()
    # inside (gt·out < 1): d/d out = −gt; beyond the margin: 0
    torch.testing.assert_close(out.grad, torch.tensor([-1.0, -1.0, -1.0, 0.0, 1.0, 1.0]))
    assert hinge_loss(torch.tensor([0.5]), torch.tensor([1.0]), margin=2.0).item() == 1.5


def test_gan_hinge_losses_match_hand_values() -> None:
    # The formulas of pfnet-research/sngan_projection@ab97f6b, updater.py: loss_hinge_dis and loss_hinge_gen.
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.0])
    # D: mean(max(0, 1 − [0.5, 2])) + mean(max(0, 1 + [−2, 0])) = 0.25 + 0.5
    torch.testing.assert_close(hinge_discriminator_loss(real, fake), torch.tensor(0.75))
    torch.testing.assert_close(hinge_generator_loss(fake), torch.tensor(1.0))
    # A critic past both margins has zero loss, whatever the size of its scores.
    assert hinge_discriminator_loss(torch.tensor([5.0, 1.0]), torch.tensor([-1.0, -7.0])).item() == 0.0


def test_wrong_pixel_weight_is_zero_when_confidently_right_and_one_when_confidently_wrong() -> None:
    out = torch.tensor([20.0, -20.0, 0.0, 20.0, -20.0])
    gt = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    w = wrong_pixel_weight(out, gt)
    torch.testing.assert_close(w, torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]), atol=1e-6, rtol=0)
    # Monotone in the error: for gt = 1, the weight grows as the logit moves the wrong way.
    logits = torch.linspace(5, -5, 11)
    weights = wrong_pixel_weight(logits, torch.ones(11))
    assert (weights[1:] > weights[:-1]).all()


def test_wrong_pixel_penalty_multiplies_the_unreduced_loss_by_the_weight(device: torch.device) -> None:
    # Hand value: out = 0, gt = 1 → BCE = log 2, weight = ½ → ½ log 2.
    out = torch.zeros(1, device=device)
    gt = torch.ones(1, device=device)
    assert math.isclose(wrong_pixel_penalty(out, gt).item(), 0.5 * math.log(2), rel_tol=1e-6)
    # Elementwise against the formula of the notes, for any per-pixel loss.
    out = torch.randn(2, 1, 4, 4, device=device)
    gt = (torch.rand(2, 1, 4, 4, device=device) > 0.5).float()
    expected = F.binary_cross_entropy_with_logits(out, gt, reduction="none") * (torch.sigmoid(out) - gt).abs()
    torch.testing.assert_close(wrong_pixel_penalty(out, gt, reduction="none"), expected)
    torch.testing.assert_close(wrong_pixel_penalty(out, gt), expected.mean())
    mse = F.mse_loss(out, gt, reduction="none") * (torch.sigmoid(out) - gt).abs()
    torch.testing.assert_close(wrong_pixel_penalty(out, gt, F.mse_loss, reduction="sum"), mse.sum())


def test_wrong_pixel_penalty_suppresses_confident_correct_pixels_more_than_plain_bce() -> None:
    # Confident-right pixels shrink (weight ≈ 0) relative to a confident-wrong pixel (weight ≈ 1).
    out = torch.tensor([4.0, -4.0])
    gt = torch.tensor([1.0, 1.0])
    plain = F.binary_cross_entropy_with_logits(out, gt, reduction="none")
    weighted = wrong_pixel_penalty(out, gt, reduction="none")
    assert weighted[0] / weighted[1] < (plain[0] / plain[1]) / 50


def test_unknown_reduction_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown reduction"):
        hinge_loss(torch.zeros(1), torch.ones(1), reduction="avg")
