"""SinGAN (arXiv:1905.01164): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.singan import (
    OFFICIAL,
    TINY,
    ScaleDiscriminator,
    ScaleGenerator,
    SinGAN,
    SinGANConfig,
    channels_at_scale,
    discriminator_loss,
    generator_adversarial_loss,
    image_pyramid,
    noise_amplitude,
    pyramid_sizes,
    reconstruction_loss,
    scale_config,
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_config_defaults_are_the_authors() -> None:
    # tamarott/SinGAN @ 38759f780d00cb99da2d376f3e03931001dcbd6c, config.py
    c = SinGANConfig()
    assert (c.channels, c.nfc, c.min_nfc, c.kernel_size, c.num_layers) == (3, 32, 32, 3, 5)  # Sec. 2 / Fig. 4
    assert (c.scale_factor, c.min_size, c.max_size) == (0.75, 25, 250)  # Sec. 3
    assert (c.noise_amp, c.alpha, c.lambda_gp, c.max_nfc) == (0.1, 10.0, 0.1, 128)  # Sec. 2.1, code
    assert c == OFFICIAL


# Official counts: tamarott/SinGAN @ 38759f7, SinGAN/models.py GeneratorConcatSkip2CleanAdd / WDiscriminator
# built with training.py's per-scale opt.nfc = opt.min_nfc = min(32 · 2^⌊n/4⌋, 128), summed over parameters.
OFFICIAL_PER_SCALE = {32: (29_763, 29_185), 64: (114_819, 113_665), 128: (450_819, 448_513)}


def test_standard_per_scale_parameter_counts() -> None:
    assert [channels_at_scale(n) for n in (0, 3, 4, 7, 8, 12, 16)] == [32, 32, 64, 64, 128, 128, 128]
    with torch.device("meta"):
        for n in range(10):
            width = 32 if n < 4 else 64 if n < 8 else 128
            cfg = scale_config(OFFICIAL, n)
            assert (cfg.nfc, cfg.min_nfc) == (width, width)
            assert (_count(ScaleGenerator(cfg)), _count(ScaleDiscriminator(cfg))) == OFFICIAL_PER_SCALE[width]


def test_pyramid_widens_every_four_scales() -> None:
    with torch.device("meta"):
        model = SinGAN(10, OFFICIAL)
    heads = [g.body[0][0].out_channels for g in model.generators]
    assert heads == [32] * 4 + [64] * 4 + [128] * 2
    assert all(conv.out_channels == heads[n] for n, g in enumerate(model.generators)
               for conv in g.body.modules() if isinstance(conv, nn.Conv2d))
    assert [_count(g) for g in model.generators] == [OFFICIAL_PER_SCALE[w][0] for w in heads]
    tiny = SinGAN(9, TINY)
    assert [g.tail[0].in_channels for g in tiny.generators] == [4] * 4 + [8] * 4 + [16]


def test_pyramid_goes_from_min_size_to_the_image_with_factor_about_075() -> None:
    sizes, r = pyramid_sizes(250, 250)
    assert sizes[0] == (25, 25) and sizes[-1] == (250, 250) and len(sizes) == 11
    assert 0.75 <= r < 0.8
    sizes, r = pyramid_sizes(300, 500)  # longer side capped at max_size = 250
    assert sizes[-1] == (150, 250) and min(sizes[0]) == 25
    for (h0, _), (h1, _) in zip(sizes, sizes[1:], strict=False):
        assert abs(h0 / h1 - r) < 0.03


def test_image_pyramid_shapes_coarse_to_fine() -> None:
    pyramid = image_pyramid(torch.rand(1, 3, 20, 30), TINY)
    sizes, _ = pyramid_sizes(20, 30, TINY)
    assert [tuple(p.shape[-2:]) for p in pyramid] == sizes and min(sizes[0]) == TINY.min_size


def test_generator_adds_a_residual_to_the_upsampled_image(device: torch.device) -> None:
    g = ScaleGenerator(TINY).to(device).eval()
    prev, z = torch.rand(1, 3, 12, 12, device=device), torch.randn(1, 3, 12, 12, device=device)
    out = g(z, prev)
    assert out.shape == prev.shape  # the 5-pixel zero padding compensates the five valid convs
    nn.init.zeros_(g.tail[0].weight)
    nn.init.zeros_(g.tail[0].bias)
    torch.testing.assert_close(g(z, prev), prev)  # ψ = 0 ⇒ G_n(z, x↑) = x↑
    assert not torch.allclose(out, prev)


def test_discriminator_is_markovian_with_11x11_patches() -> None:
    d = ScaleDiscriminator(TINY).eval()
    x = torch.randn(1, 3, 21, 21, requires_grad=True)
    out = d(x)
    assert out.shape == (1, 1, 11, 11)
    out[0, 0, 5, 5].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
    assert rows.tolist() == list(range(5, 16))  # 11 rows: five 3×3 convs


def test_sampling_is_coarse_to_fine() -> None:
    pyramid = image_pyramid(torch.rand(1, 3, 20, 30), TINY)
    model = SinGAN(len(pyramid), TINY).eval()
    noises = [torch.randn(1, 3, *p.shape[-2:]) for p in pyramid]
    out = model.sample(noises)
    assert [o.shape for o in out] == [p.shape for p in pyramid]
    changed = list(noises)
    changed[-1] = torch.randn_like(noises[-1])  # the finest scale's noise only touches the finest output
    out2 = model.sample(changed)
    for a, b in zip(out[:-1], out2[:-1], strict=True):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(out[-1], out2[-1])
    changed[0] = torch.randn_like(noises[0])  # the coarsest noise propagates everywhere
    assert all(not torch.allclose(a, b) for a, b in zip(out, model.sample(changed), strict=True))


def test_reconstruction_path_uses_fixed_noise_and_zeros() -> None:
    pyramid = image_pyramid(torch.rand(1, 3, 20, 30), TINY)
    model = SinGAN(len(pyramid), TINY).eval()
    z_star = torch.randn(1, 3, *pyramid[0].shape[-2:])
    sizes = [tuple(p.shape[-2:]) for p in pyramid]
    rec = model.reconstruct(z_star, sizes)
    zeros = [z_star] + [torch.zeros(1, 3, *s) for s in sizes[1:]]
    for a, b in zip(rec, model.sample(zeros), strict=True):
        torch.testing.assert_close(a, b)


def test_reconstruction_loss_and_noise_amplitude_closed_forms() -> None:
    g = ScaleGenerator(TINY).eval()
    nn.init.zeros_(g.tail[0].weight)
    nn.init.zeros_(g.tail[0].bias)
    real = torch.rand(1, 3, 10, 10)
    assert reconstruction_loss(g, real, real).item() == 0.0
    torch.testing.assert_close(reconstruction_loss(g, real, real + 0.5), torch.tensor(10 * 0.25))
    torch.testing.assert_close(noise_amplitude(real, real + 0.5), torch.tensor(0.1 * 0.5))


def test_adversarial_losses_are_wgan_gp_on_patch_scores() -> None:
    d = ScaleDiscriminator(TINY).eval()
    real, fake = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    alpha = torch.full((1, 1, 1, 1), 0.5)
    no_gp = discriminator_loss(d, real, fake, alpha, lambda_gp=0.0)
    torch.testing.assert_close(no_gp, -d(real).mean() + d(fake).mean())
    assert discriminator_loss(d, real, fake, alpha) >= no_gp
    torch.testing.assert_close(generator_adversarial_loss(d, fake), -d(fake).mean())
