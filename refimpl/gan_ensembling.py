"""Ensembling with Deep Generative Views.

Lucy Chai, Jun-Yan Zhu, Eli Shechtman, Phillip Isola, Richard Zhang.
CVPR 2021. arXiv:2104.14551. Catalog id: ``gan-ensembling``.

Implemented:

* Sec. 3.1, GAN inversion: find the latent code ``w*`` whose generated image
  reconstructs the input, starting from an encoder's guess (the paper
  combines an encoder with latent optimisation). As in the authors' code the
  objective is ``(1 − λ_l)·‖G(w) − x‖₁ + λ_l·d_feat(G(w), x) + λ_f·‖E(G(w)) −
  E(x)‖²`` (means; ``‖w − w₀‖²`` when no encoder is given), with
  ``λ_l = 0.5``, ``λ_f = 0.25``, minimised by L-BFGS for 500 steps.
* Sec. 3.2, generative views: perturb ``w*`` to get images that keep the
  content of ``x`` but vary nuisance factors — isotropic Gaussian noise
  (independent per layer) on either the fine layers (≥ 10) or the coarse
  layers (< 4) of ``w*``, and style mixing that replaces those layers with
  the ones of random samples (fine: colour/texture; coarse: pose/layout).
* Sec. 3.3, the ensemble: the classifier's prediction on the original image
  and its average prediction on N views are mixed,
  ``p = α · C(x) + (1 − α) · 1/N Σᵢ C(G(wᵢ))``, with α chosen on
  validation data (the authors' notebook scans 21 values in [0, 1]; their
  views include the plain reconstruction ``G(w*)``).

Official code: chail/gan-ensembling @ 47d2d70 (``networks/perturb_settings.py``:
``fine_layer = 10``, ``coarse_layer = 4``, isotropic ε ∈ {0.1, 0.2, 0.3} on
FFHQ's fine layers; ``utils/inversions.py``: ``lambda_f = 0.25``,
``lambda_l = 0.5``; ``networks/domain_generator.py``: ``num_steps = 500``;
``scripts/eval_ensemble/evaluate_gan_ensemble.py``: ``--n_ens 32``).
``OFFICIAL`` holds these values. Parameter count: the method adds no
parameters (it reuses a pretrained StyleGAN2, its encoder and a classifier);
none is claimed.

Deviations from the paper and the official code:

* The generator, encoder and classifier are arguments; tests use a tiny
  linear "generator" whose inverse is known. Pretrained StyleGAN2 weights
  cannot be downloaded here. The perceptual term takes any feature
  extractor (LPIPS-AlexNet in the authors' code); without one the image term
  is the plain L1 distance.
* L-BFGS is ``torch.optim.LBFGS`` with a strong-Wolfe line search, one
  iteration per step, instead of the authors' ``FullBatchLBFGS``. On the
  plain L1 distance alone (no extractor) its line search stalls at the
  kinks; the authors always add LPIPS.
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
    num_views: int = 32  # views per image (Sec. 4: ensembles of 32 samples; --n_ens 32)
    alpha: float = 0.5  # weight of the original image's prediction, tuned on validation (Sec. 3.3)
    sigma: float = 0.3  # isotropic ε on the fine layers (largest of the official FFHQ grid 0.1, 0.2, 0.3)
    fine_layer: int = 10  # fine views perturb / replace layers ≥ this index (perturb_settings.py)
    coarse_layer: int = 4  # coarse views perturb / replace layers < this index (perturb_settings.py)
    invert_steps: int = 500  # L-BFGS steps of the inversion (domain_generator.py: num_steps=500)
    invert_lr: float = 1.0  # L-BFGS step size (FullBatchLBFGS default lr=1)
    perceptual_weight: float = 0.5  # λ_l: image term (1 − λ_l)·L1 + λ_l·LPIPS (inversions.py lambda_l)
    latent_weight: float = 0.25  # λ_f on the encoder-consistency term (inversions.py lambda_f)

    def fine(self) -> slice:
        """The fine layers, perturbed by the 'fine' views."""
        return slice(self.fine_layer, None)

    def coarse(self) -> slice:
        """The coarse layers, perturbed by the 'coarse' views."""
        return slice(0, self.coarse_layer)


OFFICIAL = EnsemblingConfig()  # chail/gan-ensembling @ 47d2d70, StyleGAN2 FFHQ / cat / car settings
TINY = EnsemblingConfig(num_views=4, fine_layer=2, coarse_layer=1, invert_steps=10)


# --------------------------------------------------------------------- inversion
def reconstruction_loss(generated: torch.Tensor, image: torch.Tensor,
                        features: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        perceptual_weight: float = 0.5) -> torch.Tensor:
    """(1 − λ_l)·‖G(w) − x‖₁ + λ_l·‖φ(G(w)) − φ(x)‖² (means); the plain L1 when no extractor φ is given."""
    l1 = F.l1_loss(generated, image)
    if features is None:
        return l1
    return (1 - perceptual_weight) * l1 + perceptual_weight * F.mse_loss(features(generated), features(image))


def invert(synthesis: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, w_init: torch.Tensor,
           config: EnsemblingConfig = EnsemblingConfig(),
           features: Callable[[torch.Tensor], torch.Tensor] | None = None,
           encoder: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Latent optimisation from ``w_init`` (the encoder's output E(x), or the mean latent); returns w*.

    The latent term keeps the encoder's view of the reconstruction at E(x) = ``w_init``
    (``λ_f·‖E(G(w)) − w_init‖²``), or w itself near ``w_init`` when no encoder is given.
    """
    w_init = w_init.detach()
    w = w_init.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([w], lr=config.invert_lr, max_iter=1, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        generated = synthesis(w)
        code = encoder(generated) if encoder is not None else w
        loss = (reconstruction_loss(generated, image, features, config.perceptual_weight)
                + config.latent_weight * F.mse_loss(code, w_init))
        # gradient w.r.t. w only: the pretrained generator's parameters are left untouched
        (w.grad,) = torch.autograd.grad(loss, [w])
        return loss

    with torch.enable_grad():
        for _ in range(config.invert_steps):
            opt.step(closure)
    return w.detach()


# --------------------------------------------------------------------- views
def gaussian_views(w: torch.Tensor, n: int, sigma: float, layers: slice,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """w (B, L, D) → (B, n, L, D): w + σ·ε on ``layers`` (ε ~ N(0, I), independent per layer), the rest kept."""
    views = w.unsqueeze(1).repeat(1, n, 1, 1)
    eps = torch.randn(views[:, :, layers].shape, generator=generator).to(w)
    views[:, :, layers] = views[:, :, layers] + sigma * eps
    return views


def style_mix_views(w: torch.Tensor, random_w: torch.Tensor, layers: slice) -> torch.Tensor:
    """w (B, L, D), random_w (n, L, D) → (B, n, L, D): ``layers`` from the samples, the others from w."""
    b, n = w.shape[0], random_w.shape[0]
    views = w.unsqueeze(1).expand(b, n, -1, -1).clone()
    views[:, :, layers] = random_w[None, :, layers]
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
        w = invert(m["G"], x, w0, EnsemblingConfig(invert_steps=3))
        views = torch.cat([w.unsqueeze(1),  # the reconstruction itself, as in the authors' ensembles
                           gaussian_views(w, 2, TINY.sigma, TINY.fine(), torch.Generator().manual_seed(0)),
                           style_mix_views(w, samples, TINY.coarse())], dim=1)  # (B, 7, L, D)
        rendered = m["G"](views.flatten(0, 1)).unflatten(0, (2, 7))
        p = ensemble_predict(m["C"], x, rendered, TINY.alpha)
        return p, reconstruction_loss(m["G"](w), x)

    return Example(model=model, inputs=(image, w0, samples), output_shapes=((2, 5), ()), run=run)
