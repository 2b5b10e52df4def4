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
    assert c.fused_scale is False  # Table 2: downsample after the leaky ReLU
    assert [c.channels(s) for s in range(10)] == [512, 512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert c.depth == 8


def test_standard_discriminator_parameter_count() -> None:
    # tkarras/progressive_growing_of_gans @ 2504c3f3cb98ca58751610ad61fa1097313152bd networks.py D_paper,
    # variable shapes summed at 1024×1024: 23,087,249 with all nine fromRGB layers, 23,077,137 with the last.
    d = ProGANDiscriminator(ProGANConfig())  # on the CPU: quicker than the meta device's first use
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


def _fused_down_kernel(w: torch.Tensor) -> torch.Tensor:
    # tkarras/progressive_growing_of_gans @ 2504c3f networks.py conv2d_downscale2d: the 3×3 kernel
    # zero-padded to 5×5, its four shifted 4×4 windows summed and scaled by 0.25 (applied with stride 2).
    p = torch.nn.functional.pad(w, (1, 1, 1, 1))
    return (p[..., 1:, 1:] + p[..., :-1, 1:] + p[..., 1:, :-1] + p[..., :-1, :-1]) * 0.25


def test_official_discriminator_pools_before_bias_and_activation() -> None:
    # D_paper's default (fused_scale=True): Conv1_down = lrelu(bias + conv4×4/2(x)); Table 2 instead
    # pools after the leaky ReLU. Both from the official definitions, in float64.
    torch.manual_seed(4)
    block = DiscriminatorBlock(3, 5, fused_scale=True).double()
    with torch.no_grad():
        block.conv1.bias.normal_()
        block.conv2.bias.normal_()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    f = torch.nn.functional
    h = f.leaky_relu(f.conv2d(x, block.conv1.weight * math.sqrt(2 / 27), block.conv1.bias, padding=1), 0.2)
    w4 = _fused_down_kernel(block.conv2.weight * math.sqrt(2 / 27))
    official = f.leaky_relu(f.conv2d(h, w4, stride=2, padding=1) + block.conv2.bias.view(1, -1, 1, 1), 0.2)
    torch.testing.assert_close(block(x), official)
    paper = DiscriminatorBlock(3, 5).double()
    paper.load_state_dict(block.state_dict())
    table2 = f.avg_pool2d(f.leaky_relu(f.conv2d(h, block.conv2.weight * math.sqrt(2 / 27), block.conv2.bias,
                                                   padding=1), 0.2), 2)
    torch.testing.assert_close(paper(x), table2)
    assert not torch.allclose(paper(x), block(x))


def test_official_preset_is_the_authors_fused_celeba_hq_setting() -> None:
    assert OFFICIAL.fused_scale and not ProGANConfig().fused_scale  # Table 2 default, D_paper default
    assert ProGANConfig(fused_scale=True) == OFFICIAL
    d = ProGANDiscriminator(OFFICIAL)
    assert all(b.fused_scale for b in d.blocks)
    assert sum(p.numel() for p in d.parameters()) == 23_087_249  # fusing changes no weight shapes


# A small configuration whose stages all have different widths (32, 16, 8, 4 channels), so that a
# layer wired to the wrong stage changes a shape or a count.
SMALL = ProGANConfig(latent_dim=8, resolution=16, fmap_base=32, fmap_max=32, mbstd_group=2)
F64 = torch.float64


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, x, 0.2 * x)  # Sec. A.1: leakiness 0.2


def _pn(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + eps)


def test_pixel_norm_and_minibatch_stddev_epsilons_by_hand() -> None:
    x = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)  # mean square 12.5
    torch.testing.assert_close(pixel_norm(x, eps=0.5), x / math.sqrt(13.0))
    assert torch.equal(pixel_norm(torch.zeros(1, 3, 2, 2)), torch.zeros(1, 3, 2, 2))  # ε keeps 0 finite
    same = torch.ones(2, 3, 2, 2)  # no spread: the statistic is √ε
    torch.testing.assert_close(minibatch_stddev(same, group_size=2, eps=0.25)[:, 3], torch.full((2, 2, 2), 0.5))
    # Default groups of 4 out of 8: group m holds samples m, m + 2, m + 4, m + 6 (the authors' reshape).
    x8 = torch.randn(8, 2, 1, 1)
    x8[1::2] = x8[1]
    out = minibatch_stddev(x8, eps=0.0)
    torch.testing.assert_close(out[1::2, 2], torch.zeros(4, 1, 1))
    torch.testing.assert_close(out[0, 2], x8[0::2].std(dim=0, unbiased=False).mean().view(1, 1))


def test_equalized_linear_learning_rate_multiplier() -> None:
    torch.manual_seed(8)
    fc = EqualizedLinear(64, 3, lr_mul=0.01)
    with torch.no_grad():
        fc.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))
    assert 80 < fc.weight.std().item() < 120  # stored at N(0, 1/lr_mul²)
    x = torch.randn(2, 64)
    expected = x @ (fc.weight * math.sqrt(2) / 8 * 0.01).T + 0.01 * torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(fc(x), expected)
    assert EqualizedLinear(4, 2, bias=False).bias is None


def test_equalized_conv_keeps_the_size_for_any_odd_kernel() -> None:
    conv = EqualizedConv2d(2, 3, 5)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(1, 2, 7, 6)
    expected = torch.nn.functional.conv2d(x, conv.weight * math.sqrt(2 / 50), conv.bias, padding=2)
    torch.testing.assert_close(conv(x), expected)


def test_generator_block_by_hand() -> None:
    # Table 2: Upsample (nearest), Conv 3×3, LReLU, pixel norm, Conv 3×3, LReLU, pixel norm.
    torch.manual_seed(9)
    block = GeneratorBlock(3, 4, 1e-8).double()
    with torch.no_grad():
        block.conv1.bias.normal_()
        block.conv2.bias.normal_()
    x = torch.randn(2, 3, 3, 2, dtype=F64)
    up = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    h = _pn(_lrelu(torch.nn.functional.conv2d(up, block.conv1.weight * math.sqrt(2 / 27), block.conv1.bias, padding=1)))
    h = _pn(_lrelu(torch.nn.functional.conv2d(h, block.conv2.weight * math.sqrt(2 / 36), block.conv2.bias, padding=1)))
    torch.testing.assert_close(block(x), h)


def test_generator_4x4_stage_by_hand() -> None:
    # G_paper at 4×4: normalise z, dense to nf(1)·16 (gain √2/4), reshape, bias, LReLU, PN,
    # conv 3×3, LReLU, PN; toRGB is a 1×1 conv with gain 1.
    torch.manual_seed(10)
    g = ProGANGenerator(SMALL).double()
    with torch.no_grad():
        g.bias0.normal_()
        g.conv0.bias.normal_()
        g.to_rgb[0].bias.normal_()
    assert g.dense.weight.shape == (16 * 16, 8) and g.bias0.shape == (16,)
    z = torch.randn(3, 8, dtype=F64) * 2
    x = (_pn(z) @ (g.dense.weight * math.sqrt(2) / 4 / math.sqrt(8)).T).reshape(3, 16, 4, 4)
    x = _pn(_lrelu(x + g.bias0.view(1, -1, 1, 1)))
    x = _pn(_lrelu(torch.nn.functional.conv2d(x, g.conv0.weight * math.sqrt(2 / 144), g.conv0.bias, padding=1)))
    rgb = torch.nn.functional.conv2d(x, g.to_rgb[0].weight / 4.0, g.to_rgb[0].bias)  # gain 1: 1/√16
    torch.testing.assert_close(g(z, depth=0), rgb)
    torch.testing.assert_close(g(z, depth=0, alpha=0.3), rgb)  # nothing to fade in at the lowest resolution


def test_small_config_counts_follow_the_official_layer_plan() -> None:
    # networks.py G_paper / D_paper with nf(s) = min(32 / 2^s, 32): nf = 32, 16, 8, 4 at 16×16 (res 2…4).
    nf = [32, 16, 8, 4]
    g_count = 8 * nf[1] * 16 + nf[1] + 9 * nf[1] * nf[1] + nf[1]  # Dense (no bias: one per channel), Conv
    for res in (3, 4):  # Conv0_up, Conv1
        g_count += 9 * nf[res - 2] * nf[res - 1] + nf[res - 1] + 9 * nf[res - 1] ** 2 + nf[res - 1]
    g_count += sum(3 * nf[res - 1] + 3 for res in (2, 3, 4))  # ToRGB per resolution
    d_count = sum(3 * nf[res - 1] + nf[res - 1] for res in (2, 3, 4))  # FromRGB per resolution
    for res in (3, 4):  # Conv0, Conv1_down
        d_count += 9 * nf[res - 1] ** 2 + nf[res - 1] + 9 * nf[res - 1] * nf[res - 2] + nf[res - 2]
    d_count += 9 * (nf[1] + 1) * nf[1] + nf[1] + nf[1] * 16 * nf[0] + nf[0] + nf[0] + 1  # Conv, Dense0, Dense1
    g, d = ProGANGenerator(SMALL), ProGANDiscriminator(SMALL)
    assert sum(p.numel() for p in g.parameters()) == g_count == 6_661
    assert sum(p.numel() for p in d.parameters()) == d_count == 13_029
    # Run-time He constants: gain √2 everywhere but toRGB and the last dense layer (gain 1).
    assert math.isclose(g.dense.scale, math.sqrt(2) / 4 / math.sqrt(8))
    assert [round(t.scale, 6) for t in g.to_rgb] == [round(1 / math.sqrt(c), 6) for c in (16, 8, 4)]
    assert [round(f.scale, 6) for f in d.from_rgb] == [round(math.sqrt(2 / 3), 6)] * 3
    assert math.isclose(d.dense2.scale, 1 / math.sqrt(32)) and math.isclose(d.dense1.scale, math.sqrt(2 / 256))
    assert g(torch.randn(2, 8)).shape == (2, 3, 16, 16) and d(torch.randn(2, 3, 16, 16)).shape == (2, 1)


def test_discriminator_wiring_while_fading_in() -> None:
    # D at 8×8 (depth 1) half faded in: lerp(fromRGB_4×4(pool(img)), block(fromRGB_8×8(img)), α), then
    # minibatch stddev (groups of 2), Conv 3×3, Dense0, Dense1 — every activation a leaky ReLU.
    torch.manual_seed(11)
    d = ProGANDiscriminator(SMALL).double().eval()
    img = torch.randn(4, 3, 8, 8, dtype=F64)
    new = d.blocks[0](_lrelu(d.from_rgb[1](img)))
    old = _lrelu(d.from_rgb[0](torch.nn.functional.avg_pool2d(img, 2)))
    x = 0.7 * old + 0.3 * new
    groups = x.reshape(2, 2, 16, 4, 4)
    stat = torch.sqrt(groups.var(dim=0, unbiased=False) + 1e-8).mean(dim=(1, 2, 3))  # one number per group
    x = torch.cat([x, stat.repeat(2).view(4, 1, 1, 1).expand(4, 1, 4, 4)], dim=1)
    x = _lrelu(d.dense1(_lrelu(d.conv_last(x)).flatten(1)))
    torch.testing.assert_close(d(img, depth=1, alpha=0.3), d.dense2(x), rtol=1e-6, atol=1e-6)
    img4 = torch.randn(4, 3, 4, 4, dtype=F64)
    torch.testing.assert_close(d(img4, depth=0, alpha=0.3), d(img4, depth=0))


def test_networks_default_to_the_fully_grown_model() -> None:
    g, d = ProGANGenerator(TINY).eval(), ProGANDiscriminator(TINY).eval()
    z = torch.randn(2, TINY.latent_dim)
    torch.testing.assert_close(g(z), g(z, depth=2, alpha=1.0))
    assert not torch.allclose(g(z), g(z, depth=2, alpha=0.0))
    img = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(d(img), d(img, depth=2, alpha=1.0))
    assert not torch.allclose(d(img), d(img, depth=2, alpha=0.0))


def test_alpha_beyond_one_is_clipped_to_the_grown_model() -> None:
    # The authors blend with lerp_clip: t is clipped to [0, 1], so α > 1 is the fully grown network.
    g, d = ProGANGenerator(TINY).eval(), ProGANDiscriminator(TINY).eval()
    z, img = torch.randn(2, TINY.latent_dim), torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(g(z, depth=2, alpha=1.5), g(z, depth=2, alpha=1.0))
    torch.testing.assert_close(d(img, depth=2, alpha=1.5), d(img, depth=2, alpha=1.0))
