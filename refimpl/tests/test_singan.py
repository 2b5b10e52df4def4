"""SinGAN (arXiv:1905.01164): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.singan import (
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
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_standard_per_scale_parameter_counts() -> None:
    with torch.device("meta"):
        assert _count(ScaleGenerator(SinGANConfig())) == 29_763
        assert _count(ScaleDiscriminator(SinGANConfig())) == 29_185
    assert [channels_at_scale(n) for n in (0, 3, 4, 8, 12, 16)] == [32, 32, 64, 128, 128, 128]


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
