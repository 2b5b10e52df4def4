"""PFLD (arXiv:1902.10859): the claims that define the paper."""

from __future__ import annotations

import math

import torch

from refimpl.pfld import TINY, AuxiliaryNet, InvertedResidual, PFLDBackbone, PFLDConfig, attribute_weights, pfld_loss


def test_loss_weighting_formula_by_hand(device: torch.device) -> None:
    # Two samples, 2 landmarks (4 coordinates), 3 attribute classes.
    lm = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]], device=device)
    lm_gt = torch.tensor([[1.0, 0.0, 1.0, 2.0], [0.5, 0.5, 0.5, 0.5]], device=device)  # ‖d‖² = 2 and 0
    ang_gt = torch.zeros(2, 3, device=device)
    ang = torch.tensor([[math.pi / 2, math.pi / 3, 0.0], [1.0, 1.0, 1.0]], device=device)
    attrs = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], device=device)
    # Class fractions (1, 1/2, 0) → ω = (1, 2, batch size 2); sample 0: ω_attr = 1 + 2 = 3.
    torch.testing.assert_close(attribute_weights(attrs), torch.tensor([1.0, 2.0, 2.0], device=device))
    # Sample 0: Σ_k (1 − cos θ_k) = (1 − 0) + (1 − ½) + 0 = 1.5; sample 1 contributes 0 (‖d‖ = 0).
    loss, l2 = pfld_loss(lm, lm_gt, ang, ang_gt, attrs)
    torch.testing.assert_close(loss, torch.tensor(3 * 1.5 * 2 / 2, device=device))
    torch.testing.assert_close(l2, torch.tensor(1.0, device=device))


def test_rare_attributes_weigh_more_and_correct_pose_cancels_the_sample() -> None:
    attrs = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]])  # class 1 is rare (1/4)
    w = attribute_weights(attrs)
    assert w[1] == 3 * w[0]
    lm, lm_gt = torch.zeros(4, 2), torch.ones(4, 2)
    ang_gt = torch.rand(4, 3)
    loss, _ = pfld_loss(lm, lm_gt, ang_gt.clone(), ang_gt, attrs)
    assert loss.item() == 0.0  # the angle term (1 − cos 0) vanishes


def test_standard_parameter_counts() -> None:
    # Sums over polarisZhao/PFLD-pytorch's PFLDInference and AuxiliaryNet (see the docstring).
    assert sum(p.numel() for p in PFLDBackbone(PFLDConfig()).parameters()) == 1_264_804
    assert sum(p.numel() for p in AuxiliaryNet(PFLDConfig()).parameters()) == 463_811


def test_shapes_multi_scale_and_auxiliary_angles() -> None:
    backbone, aux = PFLDBackbone(TINY).eval(), AuxiliaryNet(TINY).eval()
    features, landmarks = backbone(torch.rand(2, 3, 32, 32))
    assert features.shape == (2, TINY.width, 8, 8)  # S/4, fed to the auxiliary net
    assert landmarks.shape == (2, 2 * TINY.num_landmarks)
    assert aux(features).shape == (2, 3)
    assert backbone.fc.in_features == TINY.low_width + TINY.s2_width + TINY.s3_width  # three scales fused


def test_inverted_residual_adds_the_input_only_when_asked() -> None:
    block = InvertedResidual(8, 8, 1, True, 2).eval()
    x = torch.randn(1, 8, 5, 5)
    torch.testing.assert_close(block(x) - block.conv(x), x)
    assert InvertedResidual(8, 16, 2, False, 2)(x).shape == (1, 16, 3, 3)
