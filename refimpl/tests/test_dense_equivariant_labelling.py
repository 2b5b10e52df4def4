"""Thewlis et al. 2017 (arXiv:1706.02932): labels on S², probabilistic matching, equivariance loss."""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.dense_equivariant_labelling import (
    DenseLabeller,
    DenseLabellingConfig,
    equivariance_loss,
    matching_probability,
    random_tps_pair,
    sphere_embedding,
)
from refimpl.thin_plate_spline import pixel_grid

D = torch.float64


def test_config_defaults() -> None:
    assert DenseLabellingConfig() == DenseLabellingConfig(embedding_dim=3, width=16, gamma=1.0, scale=1.0,
                                                          warp_grid=3, warp_strength=0.1)


def test_labels_lie_on_the_unit_sphere_and_depend_on_the_image() -> None:
    torch.manual_seed(0)
    net = DenseLabeller(DenseLabellingConfig(width=4))
    a, b = net(torch.rand(2, 3, 5, 7)), net(torch.rand(2, 3, 5, 7))
    assert a.shape == (2, 3, 5, 7)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(2, 5, 7))
    assert not torch.allclose(a, b)
    torch.testing.assert_close(sphere_embedding(torch.tensor([[[[3.0]], [[0.0]], [[4.0]]]])).flatten(),
                               torch.tensor([0.6, 0.0, 0.8]))


def test_matching_probability_by_hand() -> None:
    # Two pixels per image; labels e_x and e_y in x, e_y and e_x in x' (the warp swaps them).
    ex, ey = torch.tensor([1.0, 0, 0], dtype=D), torch.tensor([0, 1.0, 0], dtype=D)
    phi = torch.stack([ex, ey], -1).view(1, 3, 1, 2)
    phi_w = torch.stack([ey, ex], -1).view(1, 3, 1, 2)
    p = matching_probability(phi, phi_w, scale=2.0)
    hi, lo = math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)
    torch.testing.assert_close(p[0], torch.tensor([[lo, hi], [hi, lo]], dtype=D))
    torch.testing.assert_close(p.sum(-1), torch.ones(1, 2, dtype=D))
    # Normalised over the positions v of x' (rows), also when x' has a different number of pixels.
    phi_3 = torch.stack([ex, ex, ey], -1).view(1, 3, 1, 3)
    p = matching_probability(phi, phi_3)
    e = math.e
    torch.testing.assert_close(p[0, 0], torch.tensor([e, e, 1], dtype=D) / (2 * e + 1))


def test_loss_by_hand_and_zero_for_a_sharp_equivariant_labelling() -> None:
    ex, ey = torch.tensor([1.0, 0, 0], dtype=D), torch.tensor([0, 1.0, 0], dtype=D)
    phi = torch.stack([ex, ey], -1).view(1, 3, 1, 2)
    phi_w = torch.stack([ey, ex], -1).view(1, 3, 1, 2)
    v = pixel_grid(1, 2, dtype=D)  # x = −0.5 and +0.5
    swapped = v.flip(0)[None]  # g sends pixel 0 to pixel 1 and back: the labels moved with the warp
    # Expected distance: the match lands on g(u) with p = hi, one pixel (distance 1) away with p = lo.
    lo = 1 / (math.exp(2) + 1)
    torch.testing.assert_close(equivariance_loss(phi, phi_w, swapped, scale=2.0), torch.tensor(lo, dtype=D))
    assert equivariance_loss(phi, phi_w, swapped, scale=60.0) < 1e-20
    # If the labels did not follow the warp (the identity map claimed instead), the loss is large.
    assert equivariance_loss(phi, phi_w, v[None], scale=60.0) > 0.99


def test_gamma_is_the_exponent_on_the_distance() -> None:
    ex, ey = torch.tensor([1.0, 0, 0], dtype=D), torch.tensor([0, 1.0, 0], dtype=D)
    phi = torch.stack([ex, ey], -1).view(1, 3, 1, 2)
    # Positions 1.5 away from the wrong pixel: loss = p_wrong · 1.5^γ + p_right · 0.5^γ.
    pos = torch.tensor([[[-2.0, 0.0], [2.0, 0.0]]], dtype=D)  # 1.5 and 2.5 from the two pixel centres
    p_same = math.exp(1) / (math.exp(1) + 1)
    p_other = 1 - p_same
    for gamma in (1.0, 2.0):
        expected = p_same * 1.5 ** gamma + p_other * 2.5 ** gamma
        torch.testing.assert_close(equivariance_loss(phi, phi, pos, gamma=gamma), torch.tensor(expected, dtype=D))


def test_random_tps_pair_without_displacement_is_the_identity() -> None:
    image = torch.rand(1, 3, 5, 5, dtype=D)
    warped, positions = random_tps_pair(image, DenseLabellingConfig(warp_strength=0.0))
    torch.testing.assert_close(warped, image)
    torch.testing.assert_close(positions[0], pixel_grid(5, 5, dtype=D))


def test_random_tps_pair_moves_content_to_the_forward_positions() -> None:
    # A smooth image (a linear ramp in x) read back through the warp: x'(g(u)) ≈ x(u).
    h = w = 16
    ramp = pixel_grid(h, w, dtype=D)[:, 0].reshape(1, 1, h, w)
    warped, positions = random_tps_pair(ramp, DenseLabellingConfig(warp_strength=0.05),
                                        torch.Generator().manual_seed(0))
    back = torch.nn.functional.grid_sample(warped, positions.view(1, h, w, 2), align_corners=False,
                                           padding_mode="border")
    interior = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    assert (back - ramp)[interior].abs().max() < 0.02
    assert (warped - ramp)[interior].abs().max() > 0.02  # the warp really moved things


@pytest.mark.slow
def test_a_trained_labeller_beats_a_random_one_on_its_warps() -> None:
    # Claim of the method: minimising the loss makes the labels follow the warps.
    torch.manual_seed(0)
    cfg = DenseLabellingConfig(width=8, warp_strength=0.08, scale=10.0)
    net = DenseLabeller(cfg)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 8), torch.linspace(-1, 1, 8), indexing="ij")
    image = torch.stack([xx, yy, xx * yy])[None]  # position-coded image, so labels can be learnt
    g = torch.Generator().manual_seed(1)
    pairs = [random_tps_pair(image, cfg, g) for _ in range(2)]

    def loss() -> torch.Tensor:
        return sum(equivariance_loss(net(image), net(w), p, cfg.gamma, cfg.scale) for w, p in pairs) / 2

    before = loss().item()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
    assert loss().item() < 0.7 * before
