"""Ensembling with Deep Generative Views (arXiv:2104.14551): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.gan_ensembling import (
    TINY,
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


def test_inversion_recovers_the_latent_of_a_generated_image() -> None:
    torch.manual_seed(0)
    gen = TinyLatentGenerator(num_ws=3, w_dim=4, size=4)
    w_true = torch.randn(1, 3, 4) * 0.3
    target = gen(w_true).detach()
    w0 = torch.zeros_like(w_true)
    start = reconstruction_loss(gen(w0), target).item()
    w = invert(gen, target, w0, TINY)
    assert reconstruction_loss(gen(w), target).item() < 0.05 * start
    assert all(p.grad is None for p in gen.parameters())  # the generator is not trained by inversion


def test_perceptual_term_is_added_with_its_weight() -> None:
    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    feats = nn.AvgPool2d(2)
    assert reconstruction_loss(a, b).item() == 1.0
    assert reconstruction_loss(a, b, feats, perceptual_weight=0.5).item() == 1.5


def test_gaussian_views_are_centred_on_the_inverted_code() -> None:
    w = torch.randn(2, 3, 4)
    torch.testing.assert_close(gaussian_views(w, 5, 0.0), w.unsqueeze(1).expand(2, 5, 3, 4))
    views = gaussian_views(w, 4000, 0.3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(views.mean(1), w, atol=0.03, rtol=0)
    torch.testing.assert_close(views.std(1).mean(), torch.tensor(0.3), atol=0.01, rtol=0)


def test_style_mixing_keeps_coarse_layers_and_takes_fine_ones_from_samples() -> None:
    w, samples = torch.randn(2, 5, 4), torch.randn(3, 5, 4)
    views = style_mix_views(w, samples, mix_layer=2)
    assert views.shape == (2, 3, 5, 4)
    torch.testing.assert_close(views[:, :, :2], w[:, None, :2].expand(2, 3, 2, 4))
    torch.testing.assert_close(views[:, :, 2:], samples[None, :, 2:].expand(2, 3, 3, 4))
