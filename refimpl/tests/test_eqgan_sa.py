"""EqGAN-SA (arXiv:2112.00718): D's heatmap and the alignment of G's attention."""

from __future__ import annotations

import torch

from refimpl.eqgan_sa import (
    TinyDiscriminator,
    alignment_loss,
    generator_attention,
    grad_cam,
    normalize_heatmap,
)


def test_heatmaps_are_normalised_to_unit_range(device: torch.device) -> None:
    torch.manual_seed(0)
    d = TinyDiscriminator().to(device)
    img = torch.randn(3, 3, 16, 16, device=device)
    score, feat = d(img)
    heat = grad_cam(feat, score)
    assert heat.shape == (3, 1, 8, 8)
    flat = heat.flatten(1)
    torch.testing.assert_close(flat.min(1).values, torch.zeros(3, device=device))
    torch.testing.assert_close(flat.max(1).values, torch.ones(3, device=device), atol=1e-5, rtol=0)


def test_normalisation_is_per_image_and_scale_invariant() -> None:
    h = torch.rand(2, 1, 4, 4)
    scaled = h * torch.tensor([3.0, 0.1]).view(2, 1, 1, 1) + 5
    torch.testing.assert_close(normalize_heatmap(scaled), normalize_heatmap(h), atol=1e-5, rtol=1e-5)


def test_grad_cam_on_a_linear_critic_highlights_the_weighted_region() -> None:
    # D(x) = Σ w_hw F_hw with w > 0 only in the top-left quadrant and one channel:
    # α = mean(w) > 0, heat ∝ ReLU(F) · α — the critic's own features drive the map.
    feat = torch.zeros(1, 1, 4, 4)
    feat[..., :2, :2] = 1.0
    feat.requires_grad_(True)
    w = torch.zeros(1, 1, 4, 4)
    w[..., :2, :2] = 2.0
    score = (feat * w).sum().view(1, 1)
    heat = grad_cam(feat, score)
    expected = torch.zeros(1, 1, 4, 4)
    expected[..., :2, :2] = 1.0
    torch.testing.assert_close(heat, expected, atol=1e-6, rtol=0)


def test_channel_weights_come_from_spatially_averaged_gradients() -> None:
    # Two channels; the score uses only channel 1, so channel 0's pattern must not appear.
    feat = torch.zeros(1, 2, 2, 2)
    feat[0, 0, 0, 0] = 5.0
    feat[0, 1, 1, 1] = 1.0
    feat.requires_grad_(True)
    heat = grad_cam(feat, feat[:, 1].sum().view(1, 1))
    assert heat[0, 0, 1, 1].item() == 1.0 and heat[0, 0, 0, 0].item() == 0.0


def test_alignment_loss_is_zero_for_identical_maps_and_positive_otherwise() -> None:
    feats = torch.rand(2, 4, 8, 8)
    att = generator_attention(feats)
    assert alignment_loss(att, att.clone()).item() == 0.0
    # D's heatmap at a coarser resolution is resized to G's before comparison.
    coarse = torch.zeros(2, 1, 4, 4)
    assert alignment_loss(torch.zeros(2, 1, 8, 8), coarse).item() == 0.0
    assert alignment_loss(att, 1 - att).item() > 0.01


def test_alignment_loss_trains_only_the_generator_side() -> None:
    g_att = torch.rand(1, 1, 4, 4, requires_grad=True)
    d_heat = torch.rand(1, 1, 4, 4, requires_grad=True)
    alignment_loss(g_att, d_heat).backward()
    assert g_att.grad is not None and d_heat.grad is None
