"""LSGAN (arXiv:1611.04076): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.lsgan import (
    CHI2_CODING,
    OFFICIAL_CODING,
    TINY,
    ZERO_ONE_CODING,
    LSGANConfig,
    LSGANDiscriminator,
    LSGANGenerator,
    chi2_coding,
    generator_objective_at_optimal_d,
    is_chi2_coding,
    lsgan_d_loss,
    lsgan_g_loss,
    optimal_discriminator,
    pearson_chi2,
)

# A discrete toy problem on 3 points with probabilities in quarters, so that a
# batch of 4 samples has the exact expectations: p_d = (1/2, 1/4, 1/4), p_g = (1/4, 1/4, 1/2).
P_DATA = torch.tensor([0.5, 0.25, 0.25])
P_G = torch.tensor([0.25, 0.25, 0.5])
REAL = torch.tensor([0, 0, 1, 2])
FAKE = torch.tensor([0, 1, 2, 2])


def test_losses_match_equation_2_by_hand(device: torch.device) -> None:
    d_real = torch.tensor([0.5, 1.5], device=device)
    d_fake = torch.tensor([0.0, -2.0], device=device)
    # D: ½ mean((d_real − 1)²) + ½ mean((d_fake + 1)²) = ½·0.25 + ½·1 = 0.625
    torch.testing.assert_close(lsgan_d_loss(d_real, d_fake, -1.0, 1.0), torch.tensor(0.625, device=device))
    # G, 0-1 coding (c = 1): ½ mean((d_fake − 1)²) = ½·(1 + 9)/2 = 2.5
    torch.testing.assert_close(lsgan_g_loss(d_fake, 1.0), torch.tensor(2.5, device=device))


def test_optimal_discriminator_minimises_the_d_loss() -> None:
    # Eq. 4: D* is a stationary point (and the minimum, the loss being convex in D) for both codings.
    for a, b, _ in (CHI2_CODING, ZERO_ONE_CODING):
        d = optimal_discriminator(P_DATA, P_G, a, b).requires_grad_(True)
        loss = lsgan_d_loss(d[REAL], d[FAKE], a, b)
        (grad,) = torch.autograd.grad(loss, d)
        torch.testing.assert_close(grad, torch.zeros(3), atol=1e-6, rtol=0)
        for delta in (torch.tensor([0.1, 0, 0]), torch.tensor([0, -0.2, 0.05])):
            assert lsgan_d_loss((d + delta)[REAL], (d + delta)[FAKE], a, b) > loss
    torch.testing.assert_close(optimal_discriminator(P_DATA, P_G), torch.tensor([1 / 3, 0.0, -1 / 3]))


def test_generator_objective_at_the_optimal_d_is_the_pearson_chi2_divergence() -> None:
    # Eq. 5–7: with b − c = 1, b − a = 2, 2·C(G) = χ²(p_d + p_g ‖ 2p_g).
    a, b, c = CHI2_CODING
    d = optimal_discriminator(P_DATA, P_G, a, b)
    c_g = lsgan_g_loss(d[REAL], c) + lsgan_g_loss(d[FAKE], c)  # ½E_pd[(D* − c)²] + ½E_pg[(D* − c)²]
    torch.testing.assert_close(2 * c_g, pearson_chi2(P_DATA, P_G))
    torch.testing.assert_close(pearson_chi2(P_DATA, P_G), torch.tensor(1 / 6))  # 2 · (1/4)² / (3/4)
    # The 0-1 coding breaks the conditions, and the identity with them.
    a, b, c = ZERO_ONE_CODING
    d = optimal_discriminator(P_DATA, P_G, a, b)
    c_g = lsgan_g_loss(d[REAL], c) + lsgan_g_loss(d[FAKE], c)
    assert abs(2 * c_g.item() - pearson_chi2(P_DATA, P_G).item()) > 0.05


def test_divergence_is_zero_only_at_p_g_equal_p_data() -> None:
    assert pearson_chi2(P_DATA, P_DATA).item() == 0.0
    assert pearson_chi2(P_DATA, P_G).item() > 0.0


def test_fig3_shapes_and_raw_discriminator_output() -> None:
    g, d = LSGANGenerator(TINY), LSGANDiscriminator(TINY, image_size=16)
    x = g(torch.randn(3, TINY.z_dim))
    assert x.shape == (3, 3, 16, 16)
    score = d(x)
    assert score.shape == (3,)
    assert not isinstance(d.net[-1], torch.nn.Sigmoid)
    # The standard config upsamples 7 → 112 with the strides of Fig. 3a.
    cfg = LSGANConfig()
    assert cfg.base * 2 ** sum(s == 2 for s in cfg.g_strides) == 112


def test_codings_and_config_defaults_are_the_papers() -> None:
    assert CHI2_CODING == (-1.0, 1.0, 0.0)  # Eq. 8
    assert ZERO_ONE_CODING == (0.0, 1.0, 1.0)  # Eq. 9
    assert OFFICIAL_CODING == ZERO_ONE_CODING  # xudonmao/LSGAN @ 3b13d36 mcgan.py loss_l2: ones / zeros
    c = LSGANConfig()
    assert (c.a, c.b, c.c) == CHI2_CODING
    assert (c.z_dim, c.base, c.img_channels) == (1024, 7, 3)  # Fig. 3a
    assert c.g_widths == (256, 256, 256, 256, 128, 64) and c.g_strides == (2, 1, 2, 1, 2, 2)  # Fig. 3a
    assert c.d_widths == (64, 128, 256, 512)  # Fig. 3b


def test_default_loss_coding_is_minus_one_one_zero_on_distinguishing_scores() -> None:
    # Unequal scores where a ↔ b, c ↔ a and the 0-1 coding all differ (float64, by hand).
    d_real = torch.tensor([0.5, 1.5], dtype=torch.float64)
    d_fake = torch.tensor([0.0, -2.0], dtype=torch.float64)
    # (a, b) = (−1, 1): ½·(0.25 + 0.25)/2 + ½·(1 + 1)/2
    assert lsgan_d_loss(d_real, d_fake).item() == 0.625
    # c = 0: ½·(0 + 4)/2
    assert lsgan_g_loss(d_fake).item() == 1.0
    # 0-1 coding (a, b) = (0, 1): ½·(0.25 + 0.25)/2 + ½·(0 + 4)/2; c = 1: ½·(1 + 9)/2
    a, b, c = ZERO_ONE_CODING
    assert lsgan_d_loss(d_real, d_fake, a, b).item() == 1.125
    assert lsgan_g_loss(d_fake, c).item() == 2.5
    # The real and fake terms are not interchangeable: swapping the inputs changes the loss.
    assert lsgan_d_loss(d_fake, d_real).item() == 0.5 * (1 + 9) / 2 + 0.5 * (2.25 + 6.25) / 2


def test_loss_gradients_pull_scores_to_their_labels() -> None:
    d_real = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    d_fake = torch.tensor([0.0, -2.0], dtype=torch.float64, requires_grad=True)
    lsgan_d_loss(d_real, d_fake, 0.0, 1.0).backward()
    # ∂/∂D(x_i) of ½·mean((D − b)²) = (D − b)/N
    torch.testing.assert_close(d_real.grad, torch.tensor([-0.25, 0.25], dtype=torch.float64))
    torch.testing.assert_close(d_fake.grad, torch.tensor([0.0, -1.0], dtype=torch.float64))


def test_optimal_discriminator_values_for_both_codings() -> None:
    # Eq. 4 on p_d = (1/2, 1/4, 1/4), p_g = (1/4, 1/4, 1/2): (b p_d + a p_g)/(p_d + p_g).
    torch.testing.assert_close(optimal_discriminator(P_DATA, P_G, 0.0, 1.0), torch.tensor([2 / 3, 0.5, 1 / 3]))
    torch.testing.assert_close(optimal_discriminator(P_DATA, P_G, -1.0, 1.0), torch.tensor([1 / 3, 0.0, -1 / 3]))
    torch.testing.assert_close(optimal_discriminator(P_DATA, P_G, 0.0, 2.0), torch.tensor([4 / 3, 1.0, 2 / 3]))


def test_chi2_family_of_codings_from_the_extended_paper() -> None:
    # arXiv:1712.06391 Sec. 3.2: b − c = 1 and b − a = 2.
    assert chi2_coding() == CHI2_CODING
    assert chi2_coding(2.0) == (0.0, 2.0, 1.0) and chi2_coding(0.5) == (-1.5, 0.5, -0.5)
    assert is_chi2_coding(*CHI2_CODING) and is_chi2_coding(0.0, 2.0, 1.0)
    assert not is_chi2_coding(*ZERO_ONE_CODING)
    assert not is_chi2_coding(-1.0, 1.0, 0.5)  # b − a = 2 but b − c ≠ 1
    assert not is_chi2_coding(0.0, 1.0, 0.0)  # b − c = 1 but b − a ≠ 2


def test_generator_objective_at_the_optimum_is_half_the_chi2_for_every_chi2_coding() -> None:
    p_d = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    p_g = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    chi2 = (2 * (0.25**2) / 0.75)  # Σ (p_g − p_d)²/(p_d + p_g) = 1/6
    assert abs(pearson_chi2(p_d, p_g).item() - chi2) < 1e-15
    for b in (1.0, 2.0, -0.5):
        got = generator_objective_at_optimal_d(p_d, p_g, *chi2_coding(b)).item()
        assert abs(got - chi2 / 2) < 1e-15
    # 0-1 coding: D* = (2/3, 1/2, 1/3), c = 1: ½ Σ (p_d + p_g)(D* − 1)² = ½(¾·1/9 + ½·1/4 + ¾·4/9) = 13/48.
    assert abs(generator_objective_at_optimal_d(p_d, p_g, *ZERO_ONE_CODING).item() - 13 / 48) < 1e-15
    assert generator_objective_at_optimal_d(p_d, p_d).item() == 0.0


def test_standard_architecture_shapes_at_112() -> None:
    with torch.device("meta"):
        g, d = LSGANGenerator(LSGANConfig()), LSGANDiscriminator(LSGANConfig())
        x = g(torch.empty(2, 1024))
        assert x.shape == (2, 3, 112, 112)
        assert d(x).shape == (2,)
    assert isinstance(g.net[-1], torch.nn.Tanh) and isinstance(g.fc[-1], torch.nn.ReLU)
    assert [m.stride[0] for m in g.net if isinstance(m, torch.nn.ConvTranspose2d)] == [2, 1, 2, 1, 2, 2, 1]
    assert [m.kernel_size for m in d.net if isinstance(m, torch.nn.Conv2d)] == [(5, 5)] * 4
    relus = [m for m in d.net if isinstance(m, torch.nn.LeakyReLU)]
    assert len(relus) == 4 and all(m.negative_slope == 0.2 for m in relus)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in d.net) == 3  # none after the first conv
    assert isinstance(d.net[1], torch.nn.LeakyReLU)
