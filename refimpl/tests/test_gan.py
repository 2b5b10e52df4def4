"""GAN (arXiv:1406.2661): the claims that define the paper."""

from __future__ import annotations

import math

import torch

from refimpl.gan import (
    TINY,
    GANConfig,
    MLPDiscriminator,
    MLPGenerator,
    discriminator_loss,
    generator_loss_minimax,
    generator_loss_nonsaturating,
    optimal_discriminator,
    value_function,
    virtual_training_criterion,
)


def _masses(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, generator=g, dtype=torch.float64) * 2, 0)


def test_value_at_optimum_is_minus_log_4_when_generator_matches_data(device: torch.device) -> None:
    # Thm. 1: p_g = p_data ⇒ D* = 1/2 everywhere and V(D*, G) = −log 4.
    p = _masses(9, 0).to(device)
    d_star = optimal_discriminator(p, p)
    torch.testing.assert_close(d_star, torch.full_like(p, 0.5))
    logits = torch.logit(d_star)
    value = value_function(logits, logits, real_weights=p, fake_weights=p)
    torch.testing.assert_close(value, torch.tensor(-math.log(4.0), dtype=p.dtype, device=device), atol=1e-12, rtol=0)


def test_value_at_optimum_equals_minus_log_4_plus_twice_jsd() -> None:
    p_data, p_g = _masses(9, 1), _masses(9, 2)
    d_star = optimal_discriminator(p_data, p_g)
    logits = torch.logit(d_star)
    value = value_function(logits, logits, real_weights=p_data, fake_weights=p_g)
    # JSD computed here independently, via entropies: JSD = H(m) − (H(p) + H(q)) / 2.
    m = (p_data + p_g) / 2

    def h(p: torch.Tensor) -> torch.Tensor:
        return -(p * p.log()).sum()

    jsd = h(m) - (h(p_data) + h(p_g)) / 2
    torch.testing.assert_close(value, -math.log(4.0) + 2 * jsd, atol=1e-12, rtol=0)
    torch.testing.assert_close(virtual_training_criterion(p_data, p_g), value, atol=1e-12, rtol=0)
    assert value > -math.log(4.0) + 1e-3  # the global minimum is reached only at p_g = p_data


def test_optimal_discriminator_maximises_the_value() -> None:
    # Prop. 1: any perturbation of D* lowers V for fixed G.
    p_data, p_g = _masses(6, 3), _masses(6, 4)
    best = torch.logit(optimal_discriminator(p_data, p_g))
    v_best = value_function(best, best, p_data, p_g)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        other = best + 0.3 * torch.randn(6, generator=g, dtype=torch.float64)
        assert value_function(other, other, p_data, p_g) < v_best


def test_minimax_generator_gradient_saturates_where_nonsaturating_does_not() -> None:
    # Sec. 3: early on D rejects fakes (D(G(z)) ≈ 0); log(1 − D) then has a vanishing gradient.
    logit = torch.tensor([-10.0], requires_grad=True)  # D(G(z)) = σ(−10) ≈ 4.5e-5
    (g_minimax,) = torch.autograd.grad(generator_loss_minimax(logit), logit)
    (g_nonsat,) = torch.autograd.grad(generator_loss_nonsaturating(logit), logit)
    d = torch.sigmoid(torch.tensor(-10.0))
    torch.testing.assert_close(g_minimax, -d.reshape(1))  # ∂/∂l log(1 − σ(l)) = −σ(l)
    torch.testing.assert_close(g_nonsat, (d - 1).reshape(1))  # ∂/∂l −log σ(l) = σ(l) − 1
    assert g_minimax.abs() < 1e-4 and g_nonsat.abs() > 0.99
    # Both push D(G(z)) up: same sign, same fixed point.
    assert torch.sign(g_minimax) == torch.sign(g_nonsat)


def test_discriminator_loss_is_binary_cross_entropy() -> None:
    real, fake = torch.randn(8), torch.randn(8)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones(8)) + bce(fake, torch.zeros(8))
    torch.testing.assert_close(discriminator_loss(real, fake), expected)


def test_mlp_shapes_and_generator_range() -> None:
    g, d = MLPGenerator(TINY), MLPDiscriminator(TINY)
    fake = g(torch.randn(3, TINY.latent_dim) * 100)
    assert fake.shape == (3, TINY.data_dim) and fake.abs().max() <= 1
    assert d(fake).shape == (3,)


def test_config_defaults() -> None:
    # Sec. 5: MNIST digits, 28 × 28 = 784 values; the prior's size and the MLP widths are not given in
    # the paper, and these are the module's stated choices (a 100-d prior, two hidden layers of 256).
    c = GANConfig()
    assert (c.latent_dim, c.data_dim, c.hidden, c.n_hidden) == (100, 784, 256, 2)


def test_criterion_counts_zero_mass_as_zero_in_the_kl_terms() -> None:
    # 0 · log 0 = 0: disjoint supports give the maximum C(G) = −log 4 + 2 log 2 = 0.
    p_data, p_g = torch.tensor([0.5, 0.5, 0.0, 0.0]), torch.tensor([0.0, 0.0, 0.5, 0.5])
    torch.testing.assert_close(virtual_training_criterion(p_data, p_g), torch.tensor(0.0), atol=1e-6, rtol=0)
