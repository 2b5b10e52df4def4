"""α-GAN (arXiv:1706.04987): the claims that define the paper."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from refimpl.alphagan import (
    TINY,
    AlphaDiscriminator,
    AlphaEncoder,
    AlphaGAN,
    AlphaGANConfig,
    AlphaGenerator,
    CodeDiscriminator,
    code_discriminator_loss,
    density_ratio_loss,
    discriminator_loss,
    encoder_loss,
    generator_loss,
    reconstruction_loss,
)


def test_encoder_loss_is_lambda_l1_plus_the_code_density_ratio_term(device: torch.device) -> None:
    x = torch.randn(3, 3, 4, 4, device=device)
    logits = torch.tensor([0.5, -1.0, 2.0], device=device)
    # Perfect reconstruction G(E(x)) = x: only the code term −log(C/(1 − C)) = −ℓ remains.
    torch.testing.assert_close(encoder_loss(x, x, logits, weight=7.0), -logits.mean())
    # An error of 0.5 on every pixel adds λ · 0.5.
    torch.testing.assert_close(encoder_loss(x, x + 0.5, logits, weight=3.0), 3.0 * 0.5 - logits.mean())


def test_reconstruction_term_is_l1_not_l2() -> None:
    x = torch.zeros(1, 1, 2, 2)
    x_rec = torch.tensor([[[[2.0, 0.0], [0.0, 0.0]]]])
    assert reconstruction_loss(x, x_rec).item() == 0.5  # |2| / 4 (L2 would give 1.0)
    assert reconstruction_loss(x, x_rec, weight=10.0).item() == 5.0


def test_density_ratio_loss_is_minus_log_d_over_one_minus_d() -> None:
    # D = 0.75 ⇒ D / (1 − D) = 3 ⇒ loss = −log 3; D = σ(ℓ) with ℓ = log 3.
    d = torch.tensor([0.75, 0.2])
    logits = torch.log(d / (1 - d))
    torch.testing.assert_close(density_ratio_loss(logits), -(torch.log(d) - torch.log(1 - d)).mean())
    assert math.isclose(density_ratio_loss(torch.tensor([math.log(3.0)])).item(), -math.log(3.0), rel_tol=1e-6)


def test_generator_loss_adds_both_adversarial_terms() -> None:
    x = torch.randn(2, 3, 4, 4)
    rec_logits, gen_logits = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    torch.testing.assert_close(generator_loss(x, x, rec_logits, gen_logits), torch.tensor(-2.0 + 1.0))


def test_discriminator_losses_match_log_forms() -> None:
    # At ℓ = 0 (D = ½) each of the three terms is log 2.
    zero = torch.zeros(4)
    torch.testing.assert_close(discriminator_loss(zero, zero, zero), torch.tensor(3 * math.log(2)))
    # C labels prior codes real: confident C(z) → 1, C(ẑ) → 0 gives a loss near 0, the swap a large one.
    big = torch.full((4,), 20.0)
    assert code_discriminator_loss(big, -big).item() < 1e-6
    assert code_discriminator_loss(-big, big).item() > 39.0
    d_real, d_fake = torch.tensor([0.9]), torch.tensor([0.3])
    logit = lambda p: torch.log(p / (1 - p))  # noqa: E731
    expected = -torch.log(d_real) - torch.log(1 - d_fake)
    torch.testing.assert_close(code_discriminator_loss(logit(d_real), logit(d_fake)), expected.squeeze())


def test_discriminator_losses_never_update_encoder_or_generator() -> None:
    model = AlphaGAN(TINY)
    losses = model.losses(torch.rand(4, 3, 16, 16) * 2 - 1, torch.randn(4, TINY.latent_dim))
    (losses["discriminator"] + losses["code_discriminator"]).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())
    assert all(p.grad is not None for p in model.code_discriminator.parameters())


def test_encoder_loss_trains_encoder_through_the_code_discriminator() -> None:
    model = AlphaGAN(TINY)
    losses = model.losses(torch.rand(4, 3, 16, 16) * 2 - 1, torch.randn(4, TINY.latent_dim))
    losses["encoder"].backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.discriminator.parameters())  # D plays no part in E's loss


def test_standard_networks_map_64x64_images_and_codes() -> None:
    cfg = AlphaGANConfig()
    enc, gen = AlphaEncoder(cfg).eval(), AlphaGenerator(cfg).eval()
    disc, code = AlphaDiscriminator(cfg).eval(), CodeDiscriminator(cfg)
    with torch.no_grad():
        x = torch.rand(1, 3, 64, 64)
        z = enc(x)
        assert z.shape == (1, 100)
        assert gen(z).shape == (1, 3, 64, 64)
        assert disc(x).shape == (1,)
        assert code(z).shape == (1,)


def test_tiny_generator_outputs_images_in_tanh_range() -> None:
    out = AlphaGenerator(TINY).eval()(torch.randn(3, TINY.latent_dim) * 10)
    assert out.shape == (3, 3, 16, 16)
    assert out.abs().max() <= 1.0


def test_config_defaults() -> None:
    c = AlphaGANConfig()
    assert (c.image_size, c.img_channels, c.latent_dim, c.width) == (64, 3, 100, 64)  # DCGAN-sized choices
    assert (c.code_hidden, c.code_layers) == (750, 3)
    assert c.recon_weight == 1.0  # λ (tuned per dataset in the paper)


def _conv(i: int, o: int, bias: bool) -> int:
    return i * o * 16 + (o if bias else 0)


def test_standard_parameter_counts_layer_by_layer() -> None:
    cfg = AlphaGANConfig()
    # four stride-2 stages, 64² → 4²: 3 → 64 (bias, no norm), then 64 → 128 → 256 → 512 with batch norm
    stages = [(64, 128), (128, 256), (256, 512)]
    enc = _conv(3, 64, True) + sum(_conv(a, b, False) + 2 * b for a, b in stages) + _conv(512, 100, True)
    assert sum(p.numel() for p in AlphaEncoder(cfg).parameters()) == enc
    gen = (_conv(100, 512, False) + 2 * 512 + sum(_conv(a, b, False) + 2 * b for a, b in [(512, 256), (256, 128),
                                                                                          (128, 64)])
           + _conv(64, 3, True))
    assert sum(p.numel() for p in AlphaGenerator(cfg).parameters()) == gen
    disc = enc - _conv(512, 100, True) + _conv(512, 1, True)
    assert sum(p.numel() for p in AlphaDiscriminator(cfg).parameters()) == disc
    code = 100 * 750 + 750 + 750 * 750 + 750 + 750 + 1
    assert sum(p.numel() for p in CodeDiscriminator(cfg).parameters()) == code


def test_activations_and_norms_follow_dcgan() -> None:
    enc, gen, code = AlphaEncoder(TINY), AlphaGenerator(TINY), CodeDiscriminator(TINY)
    assert [m.negative_slope for m in enc.modules() if isinstance(m, nn.LeakyReLU)] == [0.2, 0.2]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in enc.modules()) == 1  # none after the first conv
    assert [m.bias is not None for m in enc.modules() if isinstance(m, nn.Conv2d)] == [True, False, True]
    assert sum(type(m) is nn.ReLU for m in gen.modules()) == 2 and isinstance(gen.net[-1], nn.Tanh)
    assert [m.negative_slope for m in code.modules() if isinstance(m, nn.LeakyReLU)] == [0.2]
    assert not any(isinstance(m, nn.BatchNorm1d) for m in code.modules())
    convt = [m for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.kernel_size, m.stride, m.padding) for m in convt] == [((4, 4), (1, 1), (0, 0))] + [
        ((4, 4), (2, 2), (1, 1))] * 2


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def test_losses_on_unequal_logits() -> None:
    real, rec, gen = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 1.5]), torch.tensor([-1.0, 3.0])
    expected = ((_softplus(-1.0) + _softplus(2.0)) / 2 + (_softplus(0.5) + _softplus(1.5)) / 2
                + (_softplus(-1.0) + _softplus(3.0)) / 2)
    assert discriminator_loss(real, rec, gen).item() == pytest.approx(expected, rel=1e-6)
    expected = (_softplus(-1.0) + _softplus(2.0)) / 2 + (_softplus(0.5) + _softplus(1.5)) / 2
    assert code_discriminator_loss(real, rec).item() == pytest.approx(expected, rel=1e-6)
    x = torch.zeros(2, 1, 1, 2)
    x_rec = torch.tensor([1.0, -3.0, 0.0, 2.0]).view(2, 1, 1, 2)
    assert generator_loss(x, x_rec, rec, gen, weight=2.0).item() == pytest.approx(2.0 * 6 / 4 - 1.0 - 1.0)


def test_losses_wire_each_network_to_its_own_terms() -> None:
    torch.manual_seed(0)
    model = AlphaGAN(dataclasses.replace(TINY, recon_weight=3.0)).eval()
    x, z = torch.rand(4, 3, 16, 16) * 2 - 1, torch.randn(4, TINY.latent_dim)
    got = model.losses(x, z)
    e, g, d, c = model.encoder, model.generator, model.discriminator, model.code_discriminator
    z_hat = e(x)
    x_rec, x_gen = g(z_hat), g(z)
    l1 = 3.0 * (x - x_rec).abs().mean()
    torch.testing.assert_close(got["encoder"], l1 - c(z_hat).mean())
    torch.testing.assert_close(got["generator"], l1 - d(x_rec).mean() - d(x_gen).mean())
    torch.testing.assert_close(got["discriminator"], F.softplus(-d(x)).mean() + F.softplus(d(x_rec)).mean()
                               + F.softplus(d(x_gen)).mean())
    torch.testing.assert_close(got["code_discriminator"], F.softplus(-c(z)).mean() + F.softplus(c(z_hat)).mean())
    torch.testing.assert_close(model(x), x_rec)


def test_generator_receives_adversarial_gradient_from_samples() -> None:
    model = AlphaGAN(TINY)
    x, z = torch.rand(4, 3, 16, 16) * 2 - 1, torch.randn(4, TINY.latent_dim, requires_grad=True)
    model.losses(x, z)["generator"].backward()
    assert z.grad is not None and z.grad.abs().sum() > 0  # the sample term reaches G through D
    assert all(p.grad is not None for p in model.generator.parameters())
    assert all(p.grad is None for p in model.code_discriminator.parameters())


def test_batched_outputs_are_one_logit_per_sample() -> None:
    x, z = torch.rand(3, 3, 16, 16), torch.randn(3, TINY.latent_dim)
    assert AlphaDiscriminator(TINY)(x).shape == (3,)
    assert CodeDiscriminator(TINY)(z).shape == (3,)
    assert AlphaEncoder(TINY)(x).shape == (3, TINY.latent_dim)
    # a 4 × 4 image needs no stride-2 stage: only the final 4 × 4 conv
    enc = AlphaEncoder(dataclasses.replace(TINY, image_size=4))
    assert len(enc.net) == 1 and enc(torch.rand(2, 3, 4, 4)).shape == (2, TINY.latent_dim)


def test_loss_weights_default_to_lambda_one() -> None:
    x = torch.zeros(1, 1, 2, 2)
    logits = torch.tensor([0.5, -1.5])
    torch.testing.assert_close(encoder_loss(x, x + 0.5, logits), torch.tensor(0.5 + 0.5))
    torch.testing.assert_close(generator_loss(x, x + 0.5, logits, logits), torch.tensor(0.5 + 0.5 + 0.5))
