"""GLIDE (arXiv:2112.10741): the claims that define classifier-free guidance."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from refimpl.glide import (
    OFFICIAL,
    TINY,
    GLIDEConfig,
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


def test_config_defaults_are_the_papers() -> None:
    c = GLIDEConfig()
    assert c.guidance_scale == 3.0  # Sec. 4 / Fig. 1: s = 3
    assert c.drop_prob == 0.2  # Sec. 4: 20 % of captions replaced by the empty sequence
    assert c.timesteps == 1000  # Improved DDPM, used by GLIDE: T = 1000
    assert c.cosine_offset == 0.008  # Improved DDPM cosine schedule: s = 0.008
    assert c.null_label == 0  # ∅ is label 0
    assert dataclasses.asdict(OFFICIAL) == dataclasses.asdict(c)  # the released code agrees with the paper


# Facts computed from the official schedule: openai/glide-text2im @ 69b530740eb6cef69442d6180579ef5ba9ef063e,
# glide_text2im/gaussian_diffusion.py, get_named_beta_schedule("squaredcos_cap_v2", T) (float64).
OFFICIAL_BETAS_T1000 = {0: 4.128422482196914e-05, 1: 4.614175273665033e-05, 499: 0.0031458862304780677,
                        998: 0.7499993929011166, 999: 0.999}
OFFICIAL_BETAS_T10 = [0.02790726288603096, 0.07549363729672243, 0.12439598636904847, 0.17718952540157384,
                      0.23728153019052478, 0.30988344010857216, 0.40400314303967555, 0.5369981776428854,
                      0.743829366895427, 0.999]


def test_cosine_betas_match_the_official_schedule() -> None:
    betas = cosine_betas(OFFICIAL.timesteps, OFFICIAL.cosine_offset)
    for t, beta in OFFICIAL_BETAS_T1000.items():
        assert betas[t].item() == pytest.approx(beta, rel=2e-3), t
    torch.testing.assert_close(cosine_betas(10), torch.tensor(OFFICIAL_BETAS_T10), atol=1e-6, rtol=1e-5)
    # ᾱ at the midpoint, np.cumprod(1 - betas)[499] of the official schedule
    assert torch.cumprod(1 - betas.double(), 0)[499].item() == pytest.approx(0.4938435904406382, rel=1e-4)


def test_guidance_pairs_each_sample_with_its_own_unconditional_branch() -> None:
    # An odd batch, and a stub whose output names the sample and its label: ε = 10·x + c.
    def stub(x_t: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return 10 * x_t + c.view(-1, 1).float()

    x = torch.tensor([[1.0], [2.0], [3.0]])
    out = guided_epsilon(stub, x, torch.zeros(3, dtype=torch.long), torch.tensor([4, 2, 7]), 2.0, null_label=1)
    # ε(∅) + 2 (ε(c) − ε(∅)) = 10x + 1 + 2 (c − 1)
    torch.testing.assert_close(out, torch.tensor([[17.0], [23.0], [43.0]]))


def test_drop_condition_default_rate_is_twenty_percent() -> None:
    out = drop_condition(torch.tensor([3, 3, 3]), torch.tensor([0.19, 0.2, 0.3]))
    assert out.tolist() == [0, 3, 3]


def test_last_step_adds_no_noise_and_earlier_steps_do() -> None:
    betas = cosine_betas(10)
    x, eps, z = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    zero = torch.zeros_like(z)
    torch.testing.assert_close(ddpm_step(x, eps, 0, betas, z), ddpm_step(x, eps, 0, betas, zero))
    torch.testing.assert_close(ddpm_step(x, eps, 1, betas, z) - ddpm_step(x, eps, 1, betas, zero),
                               betas[1].sqrt() * z)
    # t = 0: x₀ = (x₁ − β₁/√(1 − ᾱ₁) ε) / √α₁ with ᾱ₁ = α₁ = 1 − β₁, in float64
    b = betas[0].double()
    expected = (x.double() - b / (1 - (1 - b)).sqrt() * eps.double()) / (1 - b).sqrt()
    torch.testing.assert_close(ddpm_step(x, eps, 0, betas, z).double(), expected, atol=1e-4, rtol=1e-4)


def test_tiny_denoiser_has_one_time_embedding_per_official_step() -> None:
    m = TinyConditionalDenoiser()
    assert m.time.num_embeddings == 1000 and m.label.num_embeddings == 5
    assert (m.inp.padding, m.out.padding) == ((1, 1), (1, 1))
