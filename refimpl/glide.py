"""GLIDE: Towards Photorealistic Image Generation and Editing with Text-Guided Diffusion Models.

Alex Nichol, Prafulla Dhariwal, Aditya Ramesh, Pranav Shyam, Pamela
Mishkin, Bob McGrew, Ilya Sutskever, Mark Chen. ICML 2022.
arXiv:2112.10741. Catalog id: ``glide``.

Implemented:

* Sec. 2.3 / Eq. (classifier-free guidance, Ho & Salimans):
  ``ε̂_θ(x_t | c) = ε_θ(x_t | ∅) + s · (ε_θ(x_t | c) − ε_θ(x_t | ∅))``
  around ANY noise-prediction model ``model(x_t, t, c)``, both branches in
  one batch as the authors' sampler does.
* Sec. 4, training for guidance: the caption is replaced by the empty
  sequence ∅ for 20 % of the examples (``drop_condition``).
* The diffusion process GLIDE uses (Sec. 2.1, from Improved DDPM): the
  cosine noise schedule and one ancestral DDPM step
  ``x_{t−1} = (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √α_t + σ_t z`` with σ_t² = β_t.

Official preset: ``OFFICIAL`` is the diffusion and guidance setting of the
authors' released code (openai/glide-text2im, commit 69b5307):
``model_creation.py`` (``diffusion_steps=1000``,
``noise_schedule="squaredcos_cap_v2"``, whose β are capped at 0.999 in
``gaussian_diffusion.py``) and ``notebooks/text2im.ipynb``
(``guidance_scale = 3.0``, both branches in one batch). The β_t of that
schedule are tested against values computed from the official
``get_named_beta_schedule``.

Parameter count: no model of the paper is implemented, so none is claimed
for this module. For reference, the released (filtered) models, counted from
the official ``create_model_and_diffusion`` defaults, have 385,030,726
(64 × 64 base) and 398,361,286 (256 × 256 upsampler) parameters; the paper's
3.5B-parameter model is not released. The module provides guidance and
sampling around any denoiser, with a tiny class-conditional denoiser for the
example.

Deviations from the paper:

* The condition is an integer label (index 0 = ∅) embedded by a lookup
  table, standing in for GLIDE's transformer text encoder.
* CLIP guidance (Sec. 2.4), upsampling and inpainting models are not
  included.
* Sampling uses the fixed variance β_t rather than the learned
  interpolated variance of Improved DDPM, and the step is taken from ε̂
  directly: the official sampler first predicts x₀ and clips it to [−1, 1]
  (``clip_denoised=True``); without clipping the two agree.
* The official notebook samples with 100 respaced steps; timestep respacing
  is not included.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded

NoiseModel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GLIDEConfig:
    guidance_scale: float = 3.0  # Sec. 4 / Fig. 1: s = 3 for the showcased samples
    drop_prob: float = 0.2  # Sec. 4: empty caption for 20 % of training examples
    timesteps: int = 1000  # Improved DDPM: T = 1000 diffusion steps
    cosine_offset: float = 0.008  # Improved DDPM: s = 0.008 in the cosine schedule
    null_label: int = 0  # ∅: the empty condition


TINY = GLIDEConfig(timesteps=10)
# openai/glide-text2im: model_creation.py (1000 steps, squaredcos_cap_v2), notebooks/text2im.ipynb (s = 3).
OFFICIAL = GLIDEConfig(guidance_scale=3.0, drop_prob=0.2, timesteps=1000, cosine_offset=0.008, null_label=0)


# --------------------------------------------------------------------- guidance
def classifier_free_guidance(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """ε̂ = ε(x|∅) + s · (ε(x|c) − ε(x|∅)): s = 1 is the conditional model, s > 1 extrapolates."""
    return eps_uncond + scale * (eps_cond - eps_uncond)


def guided_epsilon(model: NoiseModel, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, scale: float,
                   null_label: int = 0) -> torch.Tensor:
    """Run the conditional and the unconditional branch in one batch and combine them."""
    null = torch.full_like(cond, null_label)
    eps = model(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([cond, null]))
    eps_cond, eps_uncond = eps.chunk(2)
    return classifier_free_guidance(eps_cond, eps_uncond, scale)


def drop_condition(cond: torch.Tensor, u: torch.Tensor, drop_prob: float = 0.2, null_label: int = 0) -> torch.Tensor:
    """Sec. 4: replace the condition by ∅ where u < drop_prob (u uniform in [0, 1), passed in)."""
    return torch.where(u < drop_prob, torch.full_like(cond, null_label), cond)


# --------------------------------------------------------------------- diffusion
def cosine_alpha_bar(timesteps: int, offset: float = 0.008) -> torch.Tensor:
    """ᾱ_t = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s) · π/2), for t = 0..T: (T + 1,)."""
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return (f / f[0]).float()


def cosine_betas(timesteps: int, offset: float = 0.008) -> torch.Tensor:
    """β_t = 1 − ᾱ_t / ᾱ_{t−1}, clipped at 0.999 (Improved DDPM): (T,)."""
    ab = cosine_alpha_bar(timesteps, offset)
    return (1 - ab[1:] / ab[:-1]).clamp(max=0.999)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε, t ∈ {0..T−1} indexing betas (step t + 1 of the chain)."""
    ab = torch.cumprod(1 - betas, dim=0)[t].view(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def ddpm_step(x_t: torch.Tensor, eps: torch.Tensor, t: int, betas: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """One ancestral step x_t → x_{t−1} from the predicted noise; no noise at the last step."""
    beta = betas[t]
    alpha_bar = torch.cumprod(1 - betas, dim=0)[t]
    mean = (x_t - beta / (1 - alpha_bar).sqrt() * eps) / (1 - beta).sqrt()
    return mean if t == 0 else mean + beta.sqrt() * noise


def diffusion_loss(model: NoiseModel, x0: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, noise: torch.Tensor,
                   betas: torch.Tensor) -> torch.Tensor:
    """The simple objective ‖ε − ε_θ(x_t, t, c)‖², with ∅ already mixed into ``cond``."""
    return F.mse_loss(model(q_sample(x0, t, noise, betas), t, cond), noise)


# --------------------------------------------------------------------- a tiny denoiser
class TinyConditionalDenoiser(nn.Module):
    """ε_θ(x_t, t, c): two 3×3 convs, with timestep and label embeddings added to the hidden features."""

    def __init__(self, channels: int = 3, hidden: int = 16, num_labels: int = 5, timesteps: int = 1000) -> None:
        super().__init__()
        self.inp = nn.Conv2d(channels, hidden, 3, padding=1)
        self.time = nn.Embedding(timesteps, hidden)
        self.label = nn.Embedding(num_labels, hidden)  # row 0 is the learned ∅ embedding
        self.out = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.inp(x_t) + (self.time(t) + self.label(cond))[:, :, None, None]
        return self.out(F.silu(h))


# --------------------------------------------------------------------- examples
@register_example(covers=[classifier_free_guidance, guided_epsilon, drop_condition, cosine_alpha_bar, cosine_betas,
                          q_sample, ddpm_step, diffusion_loss, TinyConditionalDenoiser])
def glide_guided_step() -> Example:
    g = seeded(0)
    model = TinyConditionalDenoiser(timesteps=TINY.timesteps)
    betas = cosine_betas(TINY.timesteps)
    x0 = torch.randn(2, 3, 8, 8, generator=g)
    noise = torch.randn(2, 3, 8, 8, generator=g)
    z = torch.randn(2, 3, 8, 8, generator=g)
    cond = torch.tensor([1, 3])
    u = torch.tensor([0.1, 0.7])  # the first caption is dropped to ∅

    def run(m: TinyConditionalDenoiser, x0: torch.Tensor, noise: torch.Tensor,
            z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        t = torch.full((2,), 5)
        loss = diffusion_loss(m, x0, t, drop_condition(cond, u, TINY.drop_prob), noise, betas)
        x_t = q_sample(x0, t, noise, betas)
        eps = guided_epsilon(m, x_t, t, cond, TINY.guidance_scale)
        return ddpm_step(x_t, eps, 5, betas, z), loss

    return Example(model=model, inputs=(x0, noise, z), output_shapes=((2, 3, 8, 8), ()), run=run)
