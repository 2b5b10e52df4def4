"""Vision-aided GAN (arXiv:2112.09130): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from refimpl.vision_aided_gan import (
    OFFICIAL,
    TINY,
    DiscriminatorEnsemble,
    VisionAidedConfig,
    VisionAidedDiscriminator,
    linear_probe_accuracy,
    select_backbone,
)


def _backbone() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_frozen_backbone_gets_no_gradient_but_passes_it_to_the_generator(device: torch.device) -> None:
    d = VisionAidedDiscriminator(_backbone(), 6, hidden=8).to(device).train()
    fake = torch.rand(4, 3, 8, 8, device=device, requires_grad=True)  # stands for G(z)
    d(fake).sum().backward()
    assert all(p.grad is None and not p.requires_grad for p in d.backbone.parameters())
    assert all(p.grad is not None for p in d.head.parameters())
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_backbone_stays_in_inference_mode_while_training() -> None:
    d = VisionAidedDiscriminator(_backbone(), 6, hidden=8)
    d.train()
    assert d.head.training and not d.backbone.training
    stats = d.backbone[1].running_mean.clone()
    d(torch.rand(4, 3, 8, 8) * 5)
    torch.testing.assert_close(d.backbone[1].running_mean, stats)  # pretrained BN statistics untouched


def test_ensemble_loss_is_base_plus_weighted_vision_losses() -> None:
    base = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1), nn.Flatten(0))
    vision = [VisionAidedDiscriminator(_backbone(), 6, hidden=8).eval() for _ in range(2)]
    cfg = VisionAidedConfig(vision_weight=0.5)
    ens = DiscriminatorEnsemble(base, vision, cfg).eval()
    real, fake = torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8)

    def single(d: nn.Module) -> torch.Tensor:
        return nn.functional.softplus(-d(real)).mean() + nn.functional.softplus(d(fake)).mean()

    expected = single(base) + 0.5 * (single(vision[0]) + single(vision[1]))
    torch.testing.assert_close(ens.discriminator_loss(real, fake), expected)
    expected_g = sum(w * nn.functional.softplus(-d(fake)).mean() for w, d in [(1.0, base), (0.5, vision[0]),
                                                                               (0.5, vision[1])])
    torch.testing.assert_close(ens.generator_loss(fake), expected_g)


def test_linear_probe_accuracy_is_high_for_separable_features_and_chance_for_identical_ones() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(40, 4, generator=g) + torch.tensor([3.0, 0, 0, 0])
    fake = torch.randn(40, 4, generator=g) - torch.tensor([3.0, 0, 0, 0])
    assert linear_probe_accuracy(real, fake, TINY) >= 0.95
    same = torch.randn(40, 4, generator=g)
    assert linear_probe_accuracy(same, same.clone(), TINY) == 0.5  # nothing to tell apart


def test_selection_picks_the_backbone_with_the_highest_probe_accuracy() -> None:
    g = torch.Generator().manual_seed(1)
    real = torch.rand(32, 3, 8, 8, generator=g)
    real[:, 0] += 1.0  # real images are redder
    fake = torch.rand(32, 3, 8, 8, generator=g)
    candidates = {
        "blind": lambda x: torch.zeros(len(x), 3),  # sees nothing: chance
        "green": lambda x: x[:, 1:2].mean(dim=(2, 3)),  # looks at the wrong channel
        "colour": lambda x: x.mean(dim=(2, 3)),  # sees the red shift
    }
    name, scores = select_backbone(candidates, real, fake, TINY)
    assert name == "colour"
    assert scores["colour"] == max(scores.values()) and scores["colour"] > 0.9
    assert scores["blind"] == 0.5


# ------------------------------------------------------------------ defaults and the official head
def test_config_defaults() -> None:
    # λ = 1 (official training_loop.py sets lambda_ = 1 after the warm-up); MLPD out_ch = 256; the paper's
    # logistic loss (real target 1); spectral_norm on both head layers (official cv_discriminator.py MLPD);
    # the probe: ridge 1e-3 on standardised features, half of the samples to fit, half to score.
    assert VisionAidedConfig() == VisionAidedConfig(vision_weight=1.0, head_hidden=256, real_label=1.0,
                                                    spectral_norm=True, probe_ridge=1e-3, probe_train_fraction=0.5)
    # nupurkmr9/vision-aided-gan@95fc55b: README "--cv-loss multilevel_sigmoid_s"; cv_losses.py: "_s" is alpha=0.8.
    assert VisionAidedConfig(real_label=0.8) == OFFICIAL


def test_head_matches_the_official_pooled_feature_head() -> None:
    # Official MLPD(in_ch, out_ch=256) instantiated from nupurkmr9/vision-aided-gan@95fc55b,
    # vision_aided_loss/cv_discriminator.py: 131,585 parameters for CLIP ViT-B/32 (512-d), 197,121 for DINO (768-d).
    for dim, official in ((512, 131_585), (768, 197_121)):
        d = VisionAidedDiscriminator(nn.Identity(), dim)
        assert sum(p.numel() for p in d.head.parameters()) == official
    d = VisionAidedDiscriminator(nn.Identity(), 5, hidden=7)
    assert isinstance(d.head[1], nn.LeakyReLU) and d.head[1].negative_slope == 0.2
    assert d(torch.randn(4, 5)).shape == (4,)
    assert d(torch.randn(1, 5)).shape == (1,)


def test_head_layers_are_spectrally_normalised() -> None:
    torch.manual_seed(0)
    d = VisionAidedDiscriminator(nn.Identity(), 6, hidden=9).train()
    for _ in range(30):  # power iterations run in training mode
        d(torch.randn(4, 6))
    d.eval()
    for layer in (d.head[0], d.head[2]):
        torch.testing.assert_close(torch.linalg.matrix_norm(layer.weight.detach(), ord=2), torch.tensor(1.0),
                                   atol=1e-3, rtol=0)
    plain = VisionAidedDiscriminator(nn.Identity(), 6, hidden=9, spectral_norm=False)
    assert not hasattr(plain.head[0], "parametrizations")
    assert abs(torch.linalg.matrix_norm(plain.head[0].weight.detach(), ord=2).item() - 1.0) > 0.05


def test_train_mode_is_the_default_and_keeps_the_backbone_frozen() -> None:
    d = VisionAidedDiscriminator(_backbone(), 6, hidden=8).eval()
    d.train()
    assert d.training and d.head.training and not d.backbone.training
    d.train(False)
    assert not d.head.training


class _Read(nn.Module):
    """A stub critic whose logit is a scaled first pixel, so every score is known by hand."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x[:, 0, 0, 0]


def _images(values: list[float]) -> torch.Tensor:
    x = torch.zeros(len(values), 3, 2, 2, dtype=torch.float64)
    x[:, 0, 0, 0] = torch.tensor(values, dtype=torch.float64)
    return x


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def _bce(logits: list[float], target: float) -> float:
    # −[t log σ(x) + (1 − t) log(1 − σ(x))] = t·softplus(−x) + (1 − t)·softplus(x), averaged
    return sum(target * _softplus(-v) + (1 - target) * _softplus(v) for v in logits) / len(logits)


def test_ensemble_losses_by_hand_with_label_smoothing_and_unequal_critics() -> None:
    real, fake = _images([-1.5, 0.25, 2.0]), _images([0.5, -2.0, 1.0])
    base, v1, v2 = _Read(1.0), _Read(2.0), _Read(-0.5)
    ens = DiscriminatorEnsemble(base, [v1, v2], VisionAidedConfig(vision_weight=0.3, real_label=0.8))
    r, f = [-1.5, 0.25, 2.0], [0.5, -2.0, 1.0]

    def scaled(k: float, xs: list[float]) -> list[float]:
        return [k * v for v in xs]

    base_d = _bce(r, 1.0) + _bce(f, 0.0)  # the original discriminator keeps its unsmoothed logistic loss
    vision_d = sum(_bce(scaled(k, r), 0.8) + _bce(scaled(k, f), 0.0) for k in (2.0, -0.5))
    torch.testing.assert_close(ens.discriminator_loss(real, fake).item(), base_d + 0.3 * vision_d)
    vision_g = sum(_bce(scaled(k, f), 0.8) for k in (2.0, -0.5))  # G's target is the smoothed "real" too
    torch.testing.assert_close(ens.generator_loss(fake).item(), _bce(f, 1.0) + 0.3 * vision_g)


def test_label_smoothed_loss_matches_the_official_sigmoid_s() -> None:
    # sigmoid_loss(alpha=0.8) of nupurkmr9/vision-aided-gan@95fc55b, vision_aided_loss/cv_losses.py, on logits
    # (−1.5, 0.25, 2): mean 0.851427 for real (and for G), 1.051427 for fake.
    real, fake = _images([-1.5, 0.25, 2.0]), _images([-1.5, 0.25, 2.0])
    zero = _Read(0.0)
    ens = DiscriminatorEnsemble(zero, [_Read(1.0)], OFFICIAL)
    base = 2 * math.log(2.0)  # a zero-logit base critic: log 2 for real plus log 2 for fake
    torch.testing.assert_close(ens.discriminator_loss(real, fake).item(), base + 0.851427 + 1.051427, atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(ens.generator_loss(fake).item(), math.log(2.0) + 0.851427, atol=1e-6, rtol=0)
    # Without smoothing the vision-aided terms are softplus(−x) and softplus(x), as for the base critic.
    plain = DiscriminatorEnsemble(zero, [_Read(1.0)], VisionAidedConfig())
    expected = base + _bce([-1.5, 0.25, 2.0], 1.0) + _bce([-1.5, 0.25, 2.0], 0.0)
    torch.testing.assert_close(plain.discriminator_loss(real, fake).item(), expected)


def test_generator_gets_gradient_from_every_critic_and_the_backbone_none() -> None:
    torch.manual_seed(0)
    vision = VisionAidedDiscriminator(_backbone(), 6, hidden=8)
    ens = DiscriminatorEnsemble(_Read(1.0), [vision], TINY)
    fake = torch.rand(3, 3, 8, 8, requires_grad=True)
    ens.generator_loss(fake).backward()
    assert fake.grad is not None
    assert fake.grad[:, 1:].abs().sum() > 0  # only the vision branch reads channels 1 and 2
    assert fake.grad[:, 0, 0, 0].abs().sum() > 0
    assert all(p.grad is None for p in vision.backbone.parameters())


# ------------------------------------------------------------------ the linear probe
def test_probe_is_scored_on_held_out_samples_only() -> None:
    # Real and fake separate along feature 0 in the first half of the (interleaved) samples and the other way
    # round in the second half: a probe fitted on the first half is wrong on every held-out sample.
    n = 8
    sign = torch.tensor([1.0] * (n // 2) + [-1.0] * (n // 2))
    noise = torch.linspace(0.1, 0.4, n)
    real = torch.stack([2.0 * sign + noise, torch.full((n,), 3.0)], dim=1)  # the second feature is constant
    fake = torch.stack([-2.0 * sign - noise, torch.full((n,), 3.0)], dim=1)
    assert linear_probe_accuracy(real, fake, TINY) == 0.0
    # Consistent halves are scored perfectly, also with a constant feature (the ridge keeps the solve regular).
    real_ok = torch.stack([2.0 + noise, torch.full((n,), 3.0)], dim=1)
    fake_ok = torch.stack([-2.0 - noise, torch.full((n,), 3.0)], dim=1)
    assert linear_probe_accuracy(real_ok, fake_ok, TINY) == 1.0
    # Image-shaped features are flattened.
    assert linear_probe_accuracy(real_ok[:, :, None], fake_ok[:, :, None], TINY) == 1.0


def test_probe_with_unequal_sample_counts_fits_on_the_first_samples() -> None:
    # 2 real + 6 fake, not interleaved: the probe is fitted on (r, r, f, f) and scores the last four fakes.
    real = torch.tensor([[3.0], [2.5]])
    fake = torch.tensor([[-3.0], [-2.0], [-2.5], [-1.5], [-3.5], [-1.0]])
    assert linear_probe_accuracy(real, fake, TINY) == 1.0
    # A train fraction of 3/4 scores only the last two.
    assert linear_probe_accuracy(real, fake, VisionAidedConfig(probe_train_fraction=0.75)) == 1.0
    flipped = torch.tensor([[-3.0], [-2.0], [-2.5], [-1.5], [3.5], [1.0]])
    assert linear_probe_accuracy(real, flipped, VisionAidedConfig(probe_train_fraction=0.75)) == 0.0
    # The probe has an intercept: fitted on (3, 2.5 | −3, −2, −2.5, −1.5), two thirds fake, its boundary sits at
    # x ≈ 0.284 (solved by hand in float64), above the fitting mean −0.583; a held-out fake at x = 0 is called fake.
    near = torch.tensor([[-3.0], [-2.0], [-2.5], [-1.5], [0.0], [-1.0]])
    assert linear_probe_accuracy(real, near, VisionAidedConfig(probe_train_fraction=0.75)) == 1.0
    near_real = torch.tensor([[-3.0], [-2.0], [-2.5], [-1.5], [0.5], [-1.0]])  # past the boundary: called real
    assert linear_probe_accuracy(real, near_real, VisionAidedConfig(probe_train_fraction=0.75)) == 0.5


def test_probe_is_invariant_to_rescaling_and_shifting_features() -> None:
    # Features are standardised with the fitting split's statistics, so units do not matter.
    g = torch.Generator().manual_seed(3)
    real = torch.randn(10, 12, generator=g) + 0.4
    fake = torch.randn(10, 12, generator=g)
    scale = torch.logspace(-3, 3, 12)
    shift = torch.linspace(-50, 50, 12)
    base = linear_probe_accuracy(real, fake, TINY)
    assert 0.0 < base < 1.0  # more features than fitting samples: the ridge decides
    assert linear_probe_accuracy(real * scale + shift, fake * scale + shift, TINY) == base


def test_selection_prefers_the_higher_score() -> None:
    real = torch.rand(8, 3, 4, 4) + 1.0
    fake = torch.rand(8, 3, 4, 4)
    name, scores = select_backbone({"blind": lambda x: torch.zeros(len(x), 2),
                                    "sees": lambda x: x.mean(dim=(2, 3))}, real, fake, TINY)
    assert name == "sees" and scores == {"blind": 0.5, "sees": 1.0}
    with pytest.raises(ValueError):
        select_backbone({}, real, fake, TINY)
