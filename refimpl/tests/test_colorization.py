"""User-guided colorization (arXiv:1705.02999): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.colorization import (
    TINY,
    ColorizationConfig,
    LocalHintsNetwork,
    hints_from_points,
    huber_ab_loss,
    network_input,
    rgb_to_lab,
)


def test_standard_network_parameter_count() -> None:
    with torch.device("meta"):
        assert sum(p.numel() for p in LocalHintsNetwork(ColorizationConfig()).parameters()) == 34_051_074


def test_rgb_to_lab_matches_reference_values(device: torch.device) -> None:
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.5]], device=device)
    lab = rgb_to_lab(rgb.t().reshape(1, 3, 4, 1)).reshape(3, 4).t()
    expected = torch.tensor([[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [53.24, 80.09, 67.20], [53.39, 0.0, 0.0]],
                            device=device)
    torch.testing.assert_close(lab, expected, atol=2e-2, rtol=0)


def test_hints_are_patch_means_inside_the_mask_and_zero_elsewhere() -> None:
    ab = torch.arange(2 * 2 * 4 * 4, dtype=torch.float32).view(2, 2, 4, 4)
    hint, mask = hints_from_points(ab, [(0, 1, 1), (1, 0, 3)], patch_size=2)
    expected_mask = torch.zeros(2, 1, 4, 4)
    expected_mask[0, 0, 1:3, 1:3] = 1
    expected_mask[1, 0, 0:2, 3:4] = 1  # clipped at the border
    torch.testing.assert_close(mask, expected_mask)
    torch.testing.assert_close(hint * (1 - mask), torch.zeros_like(hint))
    torch.testing.assert_close(hint[0, :, 1, 1], ab[0, :, 1:3, 1:3].mean(dim=(1, 2)))
    torch.testing.assert_close(hint[0, :, 2, 2], hint[0, :, 1, 1])  # one colour per patch
    torch.testing.assert_close(hint[1, :, 1, 3], ab[1, :, 0:2, 3].mean(dim=1))


def test_network_input_stacks_normalised_l_hints_and_mask() -> None:
    lightness = torch.full((1, 1, 2, 2), 75.0)
    hint = torch.full((1, 2, 2, 2), 55.0)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    x = network_input(lightness, hint, mask)
    assert x.shape == (1, 4, 2, 2)
    torch.testing.assert_close(x[:, 0], torch.full((1, 2, 2), 0.25))
    torch.testing.assert_close(x[:, 1:3], torch.full((1, 2, 2, 2), 0.5))
    torch.testing.assert_close(x[:, 3:], mask - 0.5)


def test_network_predicts_bounded_ab_and_listens_to_hints() -> None:
    net = LocalHintsNetwork(TINY).eval()
    lightness = torch.rand(1, 1, 16, 16) * 100
    no_hint = net(lightness, torch.zeros(1, 2, 16, 16), torch.zeros(1, 1, 16, 16))
    hint, mask = hints_from_points(torch.full((1, 2, 16, 16), 60.0), [(0, 4, 4)], patch_size=3)
    with_hint = net(lightness, hint, mask)
    assert no_hint.shape == (1, 2, 16, 16) and with_hint.abs().max() <= 110
    assert not torch.allclose(no_hint, with_hint)


def test_shortcuts_are_additive() -> None:
    net = LocalHintsNetwork(TINY)
    assert isinstance(net.short3_8, nn.Conv2d) and net.short3_8.out_channels == net.up8.out_channels
    assert net.conv8[1].in_channels == TINY.widths[2]  # not doubled by concatenation


def test_huber_loss_is_quadratic_then_linear() -> None:
    pred = torch.tensor([0.5, 3.0])
    target = torch.zeros(2)
    torch.testing.assert_close(huber_ab_loss(pred, target), torch.tensor((0.5 * 0.25 + (3.0 - 0.5)) / 2))
