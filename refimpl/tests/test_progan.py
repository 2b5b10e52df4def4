"""Progressive GAN (arXiv:1710.10196): the claims that define the paper."""

from __future__ import annotations

import math

import torch

from refimpl.progan import (
    OFFICIAL,
    TINY,
    DiscriminatorBlock,
    EqualizedConv2d,
    EqualizedLinear,
    GeneratorBlock,
    ProGANConfig,
    ProGANDiscriminator,
    ProGANGenerator,
    fade_in,
    minibatch_stddev,
    pixel_norm,
)


def test_pixel_norm_gives_unit_mean_square_per_pixel(device: torch.device) -> None:
    x = torch.randn(2, 16, 5, 5, device=device) * torch.rand(2, 1, 5, 5, device=device) * 10
    ms = pixel_norm(x, eps=0.0).pow(2).mean(dim=1)
    torch.testing.assert_close(ms, torch.ones_like(ms), atol=1e-5, rtol=1e-5)


def test_pixel_norm_only_rescales_each_feature_vector() -> None:
    x = torch.randn(1, 4, 3, 3)
    out = pixel_norm(x, eps=0.0)
    ratio = out / x
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))  # one factor per pixel


def test_minibatch_stddev_appends_the_mean_std_as_one_channel() -> None:
    x = torch.randn(4, 3, 2, 2)
    out = minibatch_stddev(x, group_size=4, eps=0.0)
    assert out.shape == (4, 4, 2, 2)
    torch.testing.assert_close(out[:, :3], x)
    expected = x.std(dim=0, unbiased=False).mean()
    torch.testing.assert_close(out[:, 3], expected.expand(4, 2, 2))


def test_minibatch_stddev_is_computed_per_group() -> None:
    # Groups of 2 out of 4 samples: samples {0, 2} and {1, 3} (the authors' reshape).
    x = torch.randn(4, 3, 2, 2)
    x[1] = x[3]  # group {1, 3} has zero spread
    out = minibatch_stddev(x, group_size=2, eps=0.0)
    torch.testing.assert_close(out[1, 3], torch.zeros(2, 2))
    torch.testing.assert_close(out[0, 3], torch.stack([x[0], x[2]]).std(dim=0, unbiased=False).mean().expand(2, 2))


def test_equalized_layers_scale_weights_by_he_constant_at_runtime() -> None:
    conv = EqualizedConv2d(5, 7, 3)
    torch.testing.assert_close(conv.effective_weight(), conv.weight * math.sqrt(2 / (5 * 3 * 3)))
    fc = EqualizedLinear(10, 4)
    torch.testing.assert_close(fc.effective_weight(), fc.weight * math.sqrt(2 / 10))
    x = torch.randn(3, 10)
    torch.testing.assert_close(fc(x), x @ (fc.weight * math.sqrt(2 / 10)).T + fc.bias)
    # The stored weights are N(0, 1): the scale is not folded into the initialisation.
    big = EqualizedLinear(256, 256)
    assert abs(big.weight.std().item() - 1.0) < 0.02


def test_fade_in_returns_old_path_at_zero_and_new_path_at_one() -> None:
    old, new = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(fade_in(old, new, 0.0), old)
    torch.testing.assert_close(fade_in(old, new, 1.0), new)
    torch.testing.assert_close(fade_in(old, new, 0.25), 0.75 * old + 0.25 * new)


def test_generator_fade_in_at_alpha_zero_is_the_upsampled_low_resolution_image() -> None:
    g = ProGANGenerator(TINY).eval()
    z = torch.randn(2, TINY.latent_dim)
    low = g(z, depth=1)  # 8×8
    grown = g(z, depth=2, alpha=0.0)  # 16×16, new block not yet visible
    torch.testing.assert_close(grown, torch.nn.functional.interpolate(low, scale_factor=2, mode="nearest"))
    assert not torch.allclose(g(z, depth=2, alpha=1.0), grown)


def test_discriminator_fade_in_at_alpha_zero_sees_the_downsampled_image() -> None:
    d = ProGANDiscriminator(TINY).eval()
    img = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(d(img, depth=2, alpha=0.0), d(torch.nn.functional.avg_pool2d(img, 2), depth=1))


def test_blocks_double_and_halve_resolution() -> None:
    assert GeneratorBlock(8, 4, 1e-8)(torch.randn(1, 8, 4, 4)).shape == (1, 4, 8, 8)
    assert DiscriminatorBlock(4, 8)(torch.randn(1, 4, 8, 8)).shape == (1, 8, 4, 4)


def test_config_defaults_are_the_papers() -> None:
    c = ProGANConfig()
    assert (c.latent_dim, c.resolution) == (512, 1024)  # Sec. A.1, Table 2
    assert (c.fmap_base, c.fmap_max, c.img_channels) == (8192, 512, 3)  # authors' code, Table 2
    assert c.mbstd_group == 4 and c.eps == 1e-8  # authors' code; Sec. 4.2
    assert [c.channels(s) for s in range(10)] == [512, 512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert c == OFFICIAL


def test_standard_discriminator_parameter_count() -> None:
    # tkarras/progressive_growing_of_gans @ 2504c3f3cb98ca58751610ad61fa1097313152bd networks.py D_paper,
    # variable shapes summed at 1024×1024: 23,087,249 with all nine fromRGB layers, 23,077,137 with the last.
    with torch.device("meta"):
        d = ProGANDiscriminator(ProGANConfig())
    total = sum(p.numel() for p in d.parameters())
    assert total == 23_087_249
    assert total - sum(p.numel() for p in d.from_rgb[:-1].parameters()) == 23_077_137


def test_standard_generator_parameter_count_matches_table_2() -> None:
    # tkarras/progressive_growing_of_gans @ 2504c3f networks.py G_paper, variable shapes summed.
    g = ProGANGenerator(ProGANConfig())
    total = sum(p.numel() for p in g.parameters())
    assert total == 23_079_115
    final_only = total - sum(p.numel() for p in g.to_rgb[:-1].parameters())
    assert final_only == 23_071_507  # Table 2: "23.1M"
    assert g(torch.randn(1, 512), depth=0).shape == (1, 3, 4, 4)
