"""GLIDE (arXiv:2112.10741): the claims that define classifier-free guidance."""

from __future__ import annotations

import torch

from refimpl.glide import (
    TINY,
    TinyConditionalDenoiser,
    classifier_free_guidance,
    cosine_alpha_bar,
    cosine_betas,
    ddpm_step,
    diffusion_loss,
    drop_condition,
    guided_epsilon,
    q_sample,
)


def _model() -> TinyConditionalDenoiser:
    torch.manual_seed(0)
    return TinyConditionalDenoiser(timesteps=TINY.timesteps).eval()


def test_guidance_scale_one_is_conditional_and_zero_is_unconditional(device: torch.device) -> None:
    m = _model().to(device)
    x = torch.randn(2, 3, 8, 8, device=device)
    t = torch.tensor([3, 7], device=device)
    cond = torch.tensor([2, 4], device=device)
    torch.testing.assert_close(guided_epsilon(m, x, t, cond, 1.0), m(x, t, cond), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(guided_epsilon(m, x, t, cond, 0.0), m(x, t, torch.zeros_like(cond)),
                               atol=1e-5, rtol=1e-5)


def test_guided_prediction_is_linear_in_the_scale() -> None:
    m = _model()
    x, t, cond = torch.randn(2, 3, 8, 8), torch.tensor([1, 2]), torch.tensor([3, 1])
    e0, e1, e3 = (guided_epsilon(m, x, t, cond, s) for s in (0.0, 1.0, 3.0))
    torch.testing.assert_close(e3, e0 + 3 * (e1 - e0), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(e3 - e1, 2 * (e1 - e0), atol=1e-5, rtol=1e-5)


def test_guidance_formula_on_numbers() -> None:
    out = classifier_free_guidance(torch.tensor([2.0]), torch.tensor([0.5]), 3.0)
    torch.testing.assert_close(out, torch.tensor([5.0]))  # 0.5 + 3 · 1.5


def test_drop_condition_replaces_with_the_empty_label() -> None:
    cond = torch.tensor([3, 4, 2, 1])
    out = drop_condition(cond, torch.tensor([0.05, 0.5, 0.19, 0.2]), drop_prob=0.2)
    assert out.tolist() == [0, 4, 0, 1]


def test_cosine_schedule_endpoints_and_monotone() -> None:
    ab = cosine_alpha_bar(1000)
    assert ab[0].item() == 1.0 and ab[-1].item() < 1e-6
    assert (ab[1:] <= ab[:-1]).all()
    betas = cosine_betas(1000)
    assert betas.shape == (1000,) and abs(betas.max().item() - 0.999) < 1e-6  # clipped at the end
    torch.testing.assert_close(torch.cumprod(1 - betas, 0)[:-1], ab[1:-1], atol=1e-5, rtol=1e-4)


def test_ddpm_step_with_true_noise_gives_the_posterior_mean() -> None:
    # With ε̂ = ε, the step's mean equals μ̃(x_t, x₀) of the forward posterior q(x_{t−1} | x_t, x₀).
    betas = cosine_betas(10)
    alphas_bar = torch.cumprod(1 - betas, 0)
    x0, eps = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    t = 6
    x_t = q_sample(x0, torch.full((2,), t), eps, betas)
    ab, ab_prev, beta = alphas_bar[t], alphas_bar[t - 1], betas[t]
    mu = (ab_prev.sqrt() * beta / (1 - ab)) * x0 + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * x_t
    torch.testing.assert_close(ddpm_step(x_t, eps, t, betas, torch.zeros_like(x0)), mu, atol=1e-4, rtol=1e-4)
    z = torch.randn_like(x0)
    torch.testing.assert_close(ddpm_step(x_t, eps, t, betas, z) - mu, beta.sqrt() * z, atol=1e-4, rtol=1e-4)


def test_diffusion_loss_is_zero_for_an_oracle_denoiser() -> None:
    betas = cosine_betas(10)
    x0, eps = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    oracle = lambda x_t, t, c: eps  # noqa: E731
    assert diffusion_loss(oracle, x0, torch.tensor([2, 5]), torch.tensor([1, 0]), eps, betas).item() == 0.0
