"""pix2pixHD (arXiv:1711.11585): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.losses_gan import lsgan_discriminator_loss, lsgan_generator_loss
from refimpl.pix2pix import PatchDiscriminator
from refimpl.pix2pixhd import (
    TINY,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    downsample,
    feature_matching_loss,
    generator_input,
    instance_average_pool,
    instance_boundary_map,
    multiscale_discriminator_loss,
    multiscale_generator_loss,
)


def test_boundary_map_marks_exactly_pixels_with_a_differing_4_neighbour(device: torch.device) -> None:
    ids = torch.tensor([
        [1, 1, 1, 2, 2],
        [1, 1, 1, 2, 2],
        [3, 3, 1, 2, 2],
        [3, 3, 3, 3, 3],
    ], device=device).view(1, 1, 4, 5)
    expected = torch.tensor([
        [0, 0, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1],
    ], dtype=torch.float32, device=device).view(1, 1, 4, 5)
    torch.testing.assert_close(instance_boundary_map(ids), expected)


def test_boundary_map_ignores_diagonal_neighbours_and_uniform_maps() -> None:
    # Two instances touching only diagonally: the 4-neighbour rule still marks their 4-contacts.
    ids = torch.tensor([[1, 2], [2, 1]]).view(1, 1, 2, 2)
    assert instance_boundary_map(ids).sum() == 4
    corner = torch.zeros(1, 1, 3, 3, dtype=torch.long)
    corner[..., 0, 0] = 5  # one corner pixel: it and its right and lower neighbours
    expected = torch.zeros(1, 1, 3, 3)
    expected[..., 0, 0] = expected[..., 0, 1] = expected[..., 1, 0] = 1
    torch.testing.assert_close(instance_boundary_map(corner), expected)
    assert instance_boundary_map(torch.full((1, 1, 4, 4), 7)).sum() == 0


def test_generator_input_is_one_hot_labels_plus_boundary_channel() -> None:
    labels = torch.tensor([[[0, 2], [1, 2]]])
    inst = torch.tensor([[[[0, 0], [0, 1]]]])
    s = generator_input(labels, inst, num_classes=3)
    assert s.shape == (1, 4, 2, 2)
    torch.testing.assert_close(s[:, :3].argmax(1), labels)
    torch.testing.assert_close(s[:, :3].sum(1), torch.ones(1, 2, 2))
    torch.testing.assert_close(s[:, 3:], instance_boundary_map(inst))


def test_local_enhancer_runs_g1_at_half_resolution_and_sums_features(device: torch.device) -> None:
    g = LocalEnhancer.from_config(TINY).to(device)
    shapes = {}
    g.global_generator.register_forward_pre_hook(lambda _m, args: shapes.__setitem__("g1_in", args[0].shape))
    g.global_generator.register_forward_hook(lambda _m, _a, out: shapes.__setitem__("g1_out", out.shape))
    g.front.register_forward_hook(lambda _m, _a, out: shapes.__setitem__("front", out.shape))
    out = g(torch.rand(1, TINY.label_nc + 1, 32, 32, device=device))
    assert out.shape == (1, 3, 32, 32)
    assert shapes["g1_in"] == (1, TINY.label_nc + 1, 16, 16)
    assert shapes["g1_out"] == shapes["front"] == (1, 2 * TINY.ngf, 16, 16)


def test_global_generator_is_resolution_preserving() -> None:
    g = GlobalGenerator(4, 3, ngf=2, n_downsampling=3, n_blocks=1)
    out = g(torch.rand(2, 4, 24, 40))
    assert out.shape == (2, 3, 24, 40) and out.abs().max() <= 1


def test_multiscale_discriminator_sees_three_scales_with_pix2pix_patchgans() -> None:
    d = MultiscaleDiscriminator(3, ndf=2, n_layers=3, num_d=3)
    assert all(isinstance(k, PatchDiscriminator) for k in d.discriminators)
    x = torch.rand(1, 3, 64, 64)
    results = d(x)
    assert len(results) == 3 and all(len(r) == 5 for r in results)  # 4 feature stages + logits
    # padding 2: 64 → 33 → 17 → 9 → 10 → 11; 32 → 17 → 9 → 5 → 6 → 7; 16 → 9 → 5 → 3 → 4 → 5
    assert [tuple(r[-1].shape[-2:]) for r in results] == [(11, 11), (7, 7), (5, 5)]
    torch.testing.assert_close(results[1][-1], d.discriminators[1](downsample(x)))


def test_feature_matching_loss_is_zero_for_equal_features_and_40c_for_an_offset() -> None:
    real = [[torch.randn(1, 2, 4, 4) for _ in range(4)] + [torch.randn(1, 1, 3, 3)] for _ in range(3)]
    assert feature_matching_loss(real, real).item() == 0.0
    offset = [[f + 0.25 for f in feats[:-1]] + [feats[-1] + 100] for feats in real]  # logits are not matched
    # num_d · (n_layers + 1) terms of weight (1/num_d) · (4/(n_layers+1)) · λ · c = 4 λ c.
    torch.testing.assert_close(feature_matching_loss(real, offset), torch.tensor(4 * 10 * 0.25))


def test_adversarial_losses_are_lsgan_summed_over_scales() -> None:
    real = [[torch.randn(1, 1, 3, 3)], [torch.randn(1, 1, 2, 2)]]
    fake = [[torch.randn(1, 1, 3, 3)], [torch.randn(1, 1, 2, 2)]]
    d_expected = lsgan_discriminator_loss(real[0][0], fake[0][0]) + lsgan_discriminator_loss(real[1][0], fake[1][0])
    torch.testing.assert_close(multiscale_discriminator_loss(real, fake), d_expected)
    g_expected = lsgan_generator_loss(fake[0][0]) + lsgan_generator_loss(fake[1][0])
    torch.testing.assert_close(multiscale_generator_loss(fake), g_expected)


def test_instance_average_pool_makes_features_constant_per_instance() -> None:
    feats = torch.arange(8.0).view(1, 2, 2, 2)
    inst = torch.tensor([[[[0, 0], [1, 2]]]])
    pooled = instance_average_pool(feats, inst)
    expected = torch.tensor([[[[0.5, 0.5], [2.0, 3.0]], [[4.5, 4.5], [6.0, 7.0]]]])
    torch.testing.assert_close(pooled, expected)
