"""α-GAN (arXiv:1706.04987): the claims that define the paper."""

from __future__ import annotations

import math

import torch

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
