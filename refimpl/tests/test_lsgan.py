"""LSGAN (arXiv:1611.04076): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.lsgan import (
    CHI2_CODING,
    TINY,
    ZERO_ONE_CODING,
    LSGANConfig,
    LSGANDiscriminator,
    LSGANGenerator,
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
