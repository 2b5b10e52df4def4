"""PFLD (arXiv:1902.10859): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from refimpl.pfld import (
    OFFICIAL,
    OFFICIAL_ATTRIBUTE_COLUMNS,
    OFFICIAL_FALLBACK_WEIGHT,
    TINY,
    AuxiliaryNet,
    InvertedResidual,
    PFLDBackbone,
    PFLDConfig,
    attribute_weights,
    pfld_loss,
)


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


def test_loss_equals_the_official_loss_on_a_worked_example() -> None:
    # polarisZhao/PFLD-pytorch pfld/loss.py PFLDLoss (commit b00750c3) run in float64 on these tensors
    # with train_batchsize 256 gives (0.062300869290541794, 0.38). By hand: columns 1:6 of the flags →
    # class fractions (1/3, 1/3, 0, 2/3, 0), ω = (3, 3, 256, 1.5, 256); sample weights 4.5, 4.5, 0.
    attr = torch.tensor([[1, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.int32)
    lm_gt = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5], [0.9, 0.1, 0.2, 0.3]], dtype=torch.float64)
    lm = torch.tensor([[0.0, 0.2, 0.5, 0.4], [0.4, 0.7, 0.5, 0.2], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    ang_gt = torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.5, -0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
    ang = torch.tensor([[0.4, 0.1, 0.3], [0.2, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    flags = attr[:, OFFICIAL_ATTRIBUTE_COLUMNS]
    torch.testing.assert_close(attribute_weights(flags, OFFICIAL_FALLBACK_WEIGHT),
                               torch.tensor([3.0, 3.0, 256.0, 1.5, 256.0]))
    weighted, l2 = pfld_loss(lm, lm_gt, ang, ang_gt, flags, fallback_weight=OFFICIAL_FALLBACK_WEIGHT)
    torch.testing.assert_close(weighted, torch.tensor(0.062300869290541794, dtype=torch.float64))
    torch.testing.assert_close(l2, torch.tensor(0.38, dtype=torch.float64))
    hand = (2 * (1 - math.cos(0.3)) * 4.5 * 0.05 + (1 - math.cos(0.2) + 2 * (1 - math.cos(0.5))) * 4.5 * 0.14) / 3
    assert weighted.item() == pytest.approx(hand)
    assert slice(1, 6) == OFFICIAL_ATTRIBUTE_COLUMNS and OFFICIAL_FALLBACK_WEIGHT == 256.0


def test_official_output_shapes_at_112() -> None:
    # models/pfld.py: out1 (64, 28, 28), 196 landmark values; AuxiliaryNet 3 angles.
    backbone, aux = PFLDBackbone(OFFICIAL).eval(), AuxiliaryNet(OFFICIAL).eval()
    features, landmarks = backbone(torch.rand(1, 3, 112, 112))
    assert features.shape == (1, 64, 28, 28) and landmarks.shape == (1, 196) and aux(features).shape == (1, 3)
    c = PFLDConfig()
    assert (c.num_landmarks, c.image_size, c.width, c.mid_width, c.low_width, c.s2_width, c.s3_width) == (
        98, 112, 64, 128, 16, 32, 128)
    assert (c.stage3_blocks, c.stage5_blocks, c.aux_widths, c.aux_hidden) == (4, 5, (128, 128, 32, 128), 32)


def test_multi_scale_fusion_averages_two_scales_and_keeps_the_third() -> None:
    backbone = PFLDBackbone(TINY).eval()
    x = torch.rand(2, 3, 32, 32)
    s1 = backbone.stage45(backbone.stage3(backbone.stem(x)))
    s2 = backbone.conv7(s1)
    s3 = backbone.conv8(s2).clamp_min(0)
    assert s1.shape[-1] == 4 and s2.shape[-1] == 2 and s3.shape[-1] == 1
    backbone.fc = nn.Identity()
    fused = backbone(x)[1]
    torch.testing.assert_close(fused, torch.cat([s1.mean((2, 3)), s2.mean((2, 3)), s3.flatten(1)], 1))


def test_auxiliary_net_max_pools_its_last_map() -> None:
    aux = AuxiliaryNet(TINY).eval()
    features = torch.rand(2, TINY.width, 8, 8)
    h = aux.convs(features)
    aux.fc = nn.Identity()
    torch.testing.assert_close(aux(features), h.amax((2, 3)))
    strides = [m.stride[0] for m in aux.modules() if isinstance(m, nn.Conv2d)]
    assert strides == [2, 1, 2, 1]


def test_inverted_residual_layout_and_strides() -> None:
    block = InvertedResidual(8, 16, 2, False, 4)
    convs = [m for m in block.conv if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.groups) for c in convs] == [
        (8, 32, 1, 1, 1), (32, 32, 3, 2, 32), (32, 16, 1, 1, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in block.conv) == 2 and not isinstance(block.conv[-1], nn.ReLU)
    backbone = PFLDBackbone(PFLDConfig())
    assert [b.residual for b in backbone.stage3] == [False, True, True, True, True]
    assert [b.residual for b in backbone.stage45] == [False, False] + [True] * 5 + [False]
