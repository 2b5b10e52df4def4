"""Ensembling with Deep Generative Views (arXiv:2104.14551): the claims that define the paper."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from refimpl.gan_ensembling import (
    OFFICIAL,
    TINY,
    EnsemblingConfig,
    TinyLatentGenerator,
    ensemble_predict,
    gaussian_views,
    invert,
    reconstruction_loss,
    style_mix_views,
)


class _FixedClassifier(nn.Module):
    """Logits = log of a given probability table indexed by the image's first pixel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = x.flatten(1)[:, 0]
        return torch.stack([torch.log(first), torch.log(1 - first)], dim=-1)


class _Linear(nn.Module):
    """G(w) = A·vec(w) as a (B, 1, P) "image": a generator whose inversion has a closed form."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.a = a

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return (w.flatten(1) @ self.a.T).unsqueeze(1)


def test_config_defaults_are_the_official_settings() -> None:
    # chail/gan-ensembling @ 47d2d70: scripts/eval_ensemble/evaluate_gan_ensemble.py --n_ens 32;
    # networks/perturb_settings.py fine_layer 10, coarse_layer 4, FFHQ isotropic_eps_fine [0.1, 0.2, 0.3];
    # networks/domain_generator.py invert_lbfgs(num_steps=500); utils/LBFGS.py lr=1;
    # utils/inversions.py lambda_l=0.5, lambda_f=0.25. α is tuned on validation (Sec. 3.3).
    assert dataclasses.asdict(EnsemblingConfig()) == {
        "num_views": 32, "alpha": 0.5, "sigma": 0.3, "fine_layer": 10, "coarse_layer": 4, "invert_steps": 500,
        "invert_lr": 1.0, "perceptual_weight": 0.5, "latent_weight": 0.25,
    }
    assert EnsemblingConfig() == OFFICIAL
    layers = list(range(18))  # the 18 style inputs of the 1024² FFHQ generator
    assert layers[OFFICIAL.fine()] == list(range(10, 18)) and layers[OFFICIAL.coarse()] == [0, 1, 2, 3]


def test_weighting_endpoints_and_midpoint(device: torch.device) -> None:
    clf = _FixedClassifier()
    image = torch.full((1, 1, 2, 2), 0.8, device=device)  # p(original) = (0.8, 0.2)
    views = torch.stack([torch.full((1, 2, 2), 0.4, device=device),
                         torch.full((1, 2, 2), 0.2, device=device)]).unsqueeze(0)  # view mean = (0.3, 0.7)
    p1 = ensemble_predict(clf, image, views, alpha=1.0)
    p0 = ensemble_predict(clf, image, views, alpha=0.0)
    torch.testing.assert_close(p1, torch.tensor([[0.8, 0.2]], device=device))  # α = 1: the original alone
    torch.testing.assert_close(p0, torch.tensor([[0.3, 0.7]], device=device))  # α = 0: the views alone
    p = ensemble_predict(clf, image, views, alpha=0.25)
    torch.testing.assert_close(p, torch.tensor([[0.25 * 0.8 + 0.75 * 0.3, 0.25 * 0.2 + 0.75 * 0.7]], device=device))
    torch.testing.assert_close(p.sum(-1), torch.ones(1, device=device))


def test_image_term_mixes_l1_and_the_feature_distance_half_and_half() -> None:
    # a − b = 2 everywhere: L1 = 2, pooled-feature MSE = 4 (inversions.py: (1 − λ_l)·L1 + λ_l·LPIPS, λ_l = 0.5)
    a, b = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 2.0)
    feats = nn.AvgPool2d(2)
    assert reconstruction_loss(a, b).item() == 2.0  # no extractor: the plain L1 distance
    assert reconstruction_loss(a, b, feats).item() == pytest.approx(0.5 * 2 + 0.5 * 4)
    assert reconstruction_loss(a, b, feats, perceptual_weight=0.25).item() == pytest.approx(0.75 * 2 + 0.25 * 4)
    half = torch.zeros(1, 3, 4, 4)
    half[..., :2] = 2.0  # L1 = 1, MSE = 2: the L1 is a mean, not a sum and not squared
    assert reconstruction_loss(a, half).item() == 1.0


def test_inversion_recovers_the_latent_of_a_generated_image() -> None:
    torch.manual_seed(0)
    gen = TinyLatentGenerator(num_ws=3, w_dim=4, size=4)
    w_true = torch.randn(1, 3, 4) * 0.3
    target = gen(w_true).detach()
    w0 = torch.zeros_like(w_true)
    start = reconstruction_loss(gen(w0), target).item()
    # a smooth objective (the squared error alone): L-BFGS recovers the code in TINY's 10 steps
    w = invert(gen, target, w0, dataclasses.replace(TINY, latent_weight=0.0, perceptual_weight=1.0),
               features=nn.Identity())
    assert reconstruction_loss(gen(w), target).item() < 1e-3 * start
    torch.testing.assert_close(w, w_true, atol=1e-3, rtol=0)
    assert all(p.grad is None for p in gen.parameters())  # the generator is not trained by inversion
    assert not w.requires_grad  # w* is returned as data


def _quadratic_minimiser(a: torch.Tensor, x: torch.Tensor, w0: torch.Tensor, lam: float,
                         b: torch.Tensor | None = None) -> torch.Tensor:
    # argmin_w (1/P)‖A w − x‖² + λ/Q‖M w − w0‖², M = B·A (encoder of the image) or I; in float64
    a, x, w0 = a.double(), x.double().flatten(), w0.double().flatten()
    m = torch.eye(a.shape[1], dtype=torch.float64) if b is None else b.double() @ a
    p, q = a.shape[0], m.shape[0]
    lhs = a.T @ a / p + lam * m.T @ m / q
    return torch.linalg.solve(lhs, a.T @ x / p + lam * m.T @ w0 / q)


def test_inversion_minimises_the_image_term_plus_the_latent_term() -> None:
    # With φ = identity and λ_l = 1 the image term is the pixel MSE, so the objective is quadratic; L-BFGS
    # stops once the loss changes by < 1e-9, some 1e-5 from the float64 minimiser.
    torch.manual_seed(0)
    a = torch.randn(12, 6, dtype=torch.float64)
    gen = _Linear(a)
    x = torch.randn(1, 1, 12, dtype=torch.float64)
    w0 = torch.randn(1, 2, 3, dtype=torch.float64)
    config = dataclasses.replace(TINY, invert_steps=40, perceptual_weight=1.0, latent_weight=0.5)
    w = invert(gen, x, w0, config, features=nn.Identity())
    torch.testing.assert_close(w.flatten().double(), _quadratic_minimiser(a, x, w0, 0.5), atol=1e-4, rtol=0)
    # with an encoder E the latent term is ‖E(G(w)) − E(x)‖², E(x) being the initial guess w0
    b = torch.randn(6, 12, dtype=torch.float64) / 4
    w_enc = invert(gen, x, w0, config, features=nn.Identity(),
                   encoder=lambda img: (img.flatten(1) @ b.T).view(-1, 2, 3))
    torch.testing.assert_close(w_enc.flatten().double(), _quadratic_minimiser(a, x, w0, 0.5, b), atol=1e-4, rtol=0)


def test_inversion_starts_from_an_encoder_output_without_touching_it() -> None:
    gen = TinyLatentGenerator(num_ws=2, w_dim=3, size=2)
    target = torch.rand(1, 3, 2, 2) - 0.5
    w_init = (torch.randn(1, 2, 3) * 0.1).requires_grad_(True) * 1.0  # a non-leaf, like an encoder's output
    w = invert(gen, target, w_init, TINY)
    assert w.shape == (1, 2, 3) and not w.requires_grad
    assert reconstruction_loss(gen(w), target) < reconstruction_loss(gen(w_init), target)


def test_gaussian_views_add_independent_per_layer_noise_to_the_chosen_layers_only() -> None:
    w = torch.randn(2, 5, 4)
    views = gaussian_views(w, 3, 0.3, slice(2, None), torch.Generator().manual_seed(0))
    assert views.shape == (2, 3, 5, 4)
    torch.testing.assert_close(views[:, :, :2], w[:, None, :2].expand(2, 3, 2, 4), atol=0, rtol=0)  # kept exactly
    eps = torch.randn(2, 3, 3, 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(views[:, :, 2:], w[:, None, 2:] + 0.3 * eps)
    assert (eps[:, :, 0] - eps[:, :, 1]).abs().min() > 0  # each layer draws its own noise (randn_like(w))
    coarse = gaussian_views(w, 3, 0.5, slice(0, 1), torch.Generator().manual_seed(1))
    torch.testing.assert_close(coarse[:, :, 1:], w[:, None, 1:].expand(2, 3, 4, 4), atol=0, rtol=0)
    torch.testing.assert_close(coarse[:, :, :1], w[:, None, :1] + 0.5 * torch.randn(
        2, 3, 1, 4, generator=torch.Generator().manual_seed(1)))
    torch.testing.assert_close(gaussian_views(w, 5, 0.0, slice(None)), w.unsqueeze(1).expand(2, 5, 5, 4))


def test_gaussian_views_are_centred_on_the_inverted_code() -> None:
    w = torch.randn(2, 3, 4)
    views = gaussian_views(w, 4000, 0.3, slice(None), torch.Generator().manual_seed(0))
    torch.testing.assert_close(views.mean(1), w, atol=0.03, rtol=0)
    torch.testing.assert_close(views.std(1).mean(), torch.tensor(0.3), atol=0.01, rtol=0)


def test_style_mixing_takes_the_chosen_layers_from_samples() -> None:
    w, samples = torch.randn(2, 5, 4), torch.randn(3, 5, 4)
    config = dataclasses.replace(TINY, fine_layer=2, coarse_layer=1)
    views = style_mix_views(w, samples, config.fine())
    assert views.shape == (2, 3, 5, 4)
    torch.testing.assert_close(views[:, :, :2], w[:, None, :2].expand(2, 3, 2, 4))
    torch.testing.assert_close(views[:, :, 2:], samples[None, :, 2:].expand(2, 3, 3, 4))
    coarse = style_mix_views(w, samples, config.coarse())  # pose/layout from the samples, the rest kept
    torch.testing.assert_close(coarse[:, :, :1], samples[None, :, :1].expand(2, 3, 1, 4))
    torch.testing.assert_close(coarse[:, :, 1:], w[:, None, 1:].expand(2, 3, 4, 4))
