"""Ensembling with Deep Generative Views.

Lucy Chai, Jun-Yan Zhu, Eli Shechtman, Phillip Isola, Richard Zhang.
CVPR 2021. arXiv:2104.14551. Catalog id: ``gan-ensembling``.

Implemented:

* Sec. 3.1, GAN inversion: find the latent code ``w*`` whose generated image
  reconstructs the input, ``w* = argmin_w ‖G(w) − x‖² + λ_p·d_feat(G(w), x)``,
  starting from an encoder's guess when one is given (the paper combines an
  encoder with latent optimisation).
* Sec. 3.2, generative views: perturb ``w*`` to get images that keep the
  content of ``x`` but vary nuisance factors — isotropic Gaussian noise in
  latent space, and style mixing that replaces the fine layers of ``w*``
  with those of random samples (colour/texture changes, layout kept).
* Sec. 3.3, the ensemble: the classifier's prediction on the original image
  and its average prediction on N views are mixed,
  ``p = α · C(x) + (1 − α) · 1/N Σᵢ C(G(wᵢ))``, with α chosen on
  validation data.

Parameter count: the method adds no parameters (it reuses a pretrained
StyleGAN2 and classifier); none is claimed.

Deviations from the paper:

* The generator and classifier are arguments; tests use a tiny linear
  "generator" whose inverse is known. Pretrained StyleGAN2 weights cannot be
  downloaded here. The perceptual term takes any feature extractor (the
  paper uses LPIPS).
* PCA-direction and colour-jitter views of the paper are not implemented;
  Gaussian and style-mixing views are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class EnsemblingConfig:
    num_views: int = 32  # views per image (Sec. 4: ensembles of 32 samples)
    alpha: float = 0.5  # weight of the original image's prediction, tuned on validation (Sec. 3.3)
    sigma: float = 0.3  # std of isotropic latent perturbation
    mix_layer: int = 8  # style mixing replaces layers ≥ this index (fine layers of an 14-layer 256² G)
    invert_steps: int = 500  # latent optimisation steps
    invert_lr: float = 0.01
    perceptual_weight: float = 1.0  # λ_p on the feature distance


TINY = EnsemblingConfig(num_views=4, mix_layer=2, invert_steps=30, invert_lr=0.1)


# --------------------------------------------------------------------- inversion
def invert(synthesis: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, w_init: torch.Tensor,
           config: EnsemblingConfig = EnsemblingConfig(),
           features: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Latent optimisation from ``w_init`` (an encoder's output or the mean latent); returns w* (detached)."""
    w = w_init.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=config.invert_lr)
    with torch.enable_grad():
        for _ in range(config.invert_steps):
            loss = reconstruction_loss(synthesis(w), image, features, config.perceptual_weight)
            # gradient w.r.t. w only: the pretrained generator's parameters are left untouched
            (w.grad,) = torch.autograd.grad(loss, [w])
            opt.step()
    return w.detach()


def reconstruction_loss(generated: torch.Tensor, image: torch.Tensor,
                        features: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        perceptual_weight: float = 1.0) -> torch.Tensor:
    """‖G(w) − x‖² (mean) plus λ_p times the feature distance when an extractor is given."""
    loss = F.mse_loss(generated, image)
    if features is not None:
        loss = loss + perceptual_weight * F.mse_loss(features(generated), features(image))
    return loss


# --------------------------------------------------------------------- views
def gaussian_views(w: torch.Tensor, n: int, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """w (B, L, D) → (B, n, L, D): w + σ·ε with ε ~ N(0, I) shared across the L layers."""
    eps = torch.randn(w.shape[0], n, 1, w.shape[-1], generator=generator).to(w)
    return w.unsqueeze(1) + sigma * eps


def style_mix_views(w: torch.Tensor, random_w: torch.Tensor, mix_layer: int) -> torch.Tensor:
    """w (B, L, D), random_w (n, L, D) → (B, n, L, D): coarse layers from w, layers ≥ mix_layer from the samples."""
    b, n = w.shape[0], random_w.shape[0]
    views = w.unsqueeze(1).expand(b, n, -1, -1).clone()
    views[:, :, mix_layer:] = random_w[None, :, mix_layer:]
    return views


# --------------------------------------------------------------------- the ensemble
def ensemble_predict(classifier: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor,
                     views: torch.Tensor, alpha: float) -> torch.Tensor:
    """p = α·softmax(C(x)) + (1 − α)·mean_i softmax(C(view_i)); image (B, …), views (B, N, …) → (B, K)."""
    b, n = views.shape[:2]
    p_orig = classifier(image).softmax(-1)
    p_views = classifier(views.flatten(0, 1)).softmax(-1).view(b, n, -1).mean(1)
    return alpha * p_orig + (1 - alpha) * p_views


# --------------------------------------------------------------------- stand-in generator
class TinyLatentGenerator(nn.Module):
    """Layer-wise latents (B, L, D) → images (B, 3, S, S) by one linear map; exact inverse exists."""

    def __init__(self, num_ws: int = 3, w_dim: int = 4, size: int = 4) -> None:
        super().__init__()
        self.size = size
        self.linear = nn.Linear(num_ws * w_dim, 3 * size * size)

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(ws.flatten(-2))).unflatten(-1, (3, self.size, self.size))


# --------------------------------------------------------------------- examples
@register_example(covers=[ensemble_predict, gaussian_views, style_mix_views, invert, reconstruction_loss,
                          TinyLatentGenerator])
def gan_ensembling_views() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": TinyLatentGenerator(), "C": nn.Sequential(nn.Flatten(), nn.Linear(48, 5))})
    image = torch.rand(2, 3, 4, 4, generator=g) - 0.5
    w0 = torch.zeros(2, 3, 4)
    samples = torch.randn(4, 3, 4, generator=g)

    def run(m: nn.ModuleDict, x: torch.Tensor, w0: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
        w = invert(m["G"], x, w0, EnsemblingConfig(invert_steps=3, invert_lr=0.1))
        views = torch.cat([gaussian_views(w, 2, TINY.sigma, torch.Generator().manual_seed(0)),
                           style_mix_views(w, samples, TINY.mix_layer)], dim=1)  # (B, 6, L, D)
        rendered = m["G"](views.flatten(0, 1)).unflatten(0, (2, 6))
        p = ensemble_predict(m["C"], x, rendered, TINY.alpha)
        return p, reconstruction_loss(m["G"](w), x)

    return Example(model=model, inputs=(image, w0, samples), output_shapes=((2, 5), ()), run=run)
