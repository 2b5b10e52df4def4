"""Vision-aided GAN (arXiv:2112.09130): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from refimpl.vision_aided_gan import (
    CLIP_HEAD,
    DIFFAUGMENT_POLICY,
    DINO_HEAD,
    OFFICIAL,
    PROGRESSIVE_LARGE,
    TINY,
    BlurPool,
    DiscriminatorEnsemble,
    MultiLevelHead,
    MultiLevelHeadConfig,
    MultiLevelVisionAidedDiscriminator,
    ProgressiveSchedule,
    VisionAidedConfig,
    VisionAidedDiscriminator,
    brightness,
    contrast,
    cutout,
    diff_augment,
    linear_probe_accuracy,
    saturation,
    select_backbone,
    select_next_backbone,
    tokens_to_map,
    translate,
    vision_loss_weight,
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
    # No DiffAugment and no warm-up unless asked for (official stylegan2/train.py: --warmup default 0).
    assert VisionAidedConfig() == VisionAidedConfig(vision_weight=1.0, head_hidden=256, real_label=1.0,
                                                    spectral_norm=True, probe_ridge=1e-3, probe_train_fraction=0.5,
                                                    diffaug_policy="", warmup_nimg=0)
    # nupurkmr9/vision-aided-gan@95fc55b: README "--cv-loss multilevel_sigmoid_s"; cv_losses.py: "_s" is alpha=0.8;
    # cvmodel.py CVBackbone: policy 'color,translation,cutout' (diffaug=True, the package default);
    # stylegan2/README: "--warmup 5e5" when training from scratch.
    assert DIFFAUGMENT_POLICY == "color,translation,cutout"
    assert VisionAidedConfig(real_label=0.8, diffaug_policy="color,translation,cutout", warmup_nimg=500_000) == OFFICIAL


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


def test_probe_is_ridge_least_squares_on_standardised_features_with_an_intercept() -> None:
    # 6 real + 10 fake 1-d features, fitted on the first 8 (six reals, two fakes). Standardised with the fitting
    # split's mean 2.25 and std √(55.5/7), the feature z has zero mean there, so the normal equations decouple
    # (by hand): slope Σzy / (Σz² + λ) = (15/std) / (7 + λ), intercept Σy / (8 + λ) = 4 / (8 + λ). With λ = 4 the
    # boundary is x* = 2.25 − (1/3)·(55.5/7)·11/15 ≈ 0.3119: a held-out fake at 0 is called fake, one at 0.5 real.
    real = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]])
    fake = torch.tensor([[-1.0], [-2.0], [0.0], [0.5], [-3.0], [-3.0], [-3.0], [-3.0], [-3.0], [-3.0]])
    assert linear_probe_accuracy(real, fake, VisionAidedConfig(probe_ridge=4.0)) == 7 / 8
    # the held-out fake at 0.25 sits just below x*, at 0.35 just above
    fake[2:4] = torch.tensor([[0.25], [0.35]])
    assert linear_probe_accuracy(real, fake, VisionAidedConfig(probe_ridge=4.0)) == 7 / 8
    fake[3] = torch.tensor([0.3])
    assert linear_probe_accuracy(real, fake, VisionAidedConfig(probe_ridge=4.0)) == 1.0


def test_a_probe_that_learns_nothing_calls_ties_fake() -> None:
    # Constant features and a balanced fitting split (r, r, f, f): every score is exactly 0. The official probe
    # (sklearn LogisticRegression, fake 0 and real 1) predicts the first class, fake, on a tie; so does this one.
    real, fake = torch.zeros(2, 3), torch.zeros(6, 3)
    assert linear_probe_accuracy(real, fake, TINY) == 1.0  # the four held-out fakes


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


# ------------------------------------------------------------------ DiffAugment
def _t(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_brightness_adds_one_shift_per_sample() -> None:
    x = _t([[[[0.1, 0.2]]], [[[0.3, -0.4]]]])  # (2, 1, 1, 2)
    torch.testing.assert_close(brightness(x, _t([0.25, -0.4])), _t([[[[0.35, 0.45]]], [[[-0.1, -0.8]]]]))


def test_saturation_scales_the_deviation_from_the_grey_value() -> None:
    # channels (0.1, 0.5, 0.9) at pixel 0 (grey 0.5) and (0.3, 0.3, 0.6) at pixel 1 (grey 0.4); factors 2 and 0.5
    x = _t([[[[0.1, 0.3]], [[0.5, 0.3]], [[0.9, 0.6]]]]).repeat(2, 1, 1, 1)
    out = saturation(x, _t([2.0, 0.5]))
    torch.testing.assert_close(out[0], _t([[[-0.3, 0.2]], [[0.5, 0.2]], [[1.3, 0.8]]]))
    torch.testing.assert_close(out[1], _t([[[0.3, 0.35]], [[0.5, 0.35]], [[0.7, 0.5]]]))


def test_contrast_scales_the_deviation_from_the_image_mean() -> None:
    # one mean over channels and pixels per sample: (0, 1 | 2, 5) has mean 2
    x = _t([[[[0.0, 1.0]], [[2.0, 5.0]]]])
    torch.testing.assert_close(contrast(x, _t([1.5])), _t([[[[-1.0, 0.5]], [[2.0, 6.5]]]]))


def test_translation_shifts_with_zero_fill() -> None:
    x = torch.arange(1.0, 13.0, dtype=torch.float64).view(1, 1, 3, 4).repeat(2, 1, 1, 1)
    # out[i, j] = x[i + dh, j + dw]: sample 0 moves its content up one row and right two columns (dh 1, dw −2),
    # sample 1 down two rows and left one column (dh −2, dw 1)
    out = translate(x, torch.tensor([1, -2]), torch.tensor([-2, 1]))
    torch.testing.assert_close(out[0, 0], _t([[0, 0, 5, 6], [0, 0, 9, 10], [0, 0, 0, 0]]))
    torch.testing.assert_close(out[1, 0], _t([[0, 0, 0, 0], [0, 0, 0, 0], [2, 3, 4, 0]]))


def test_cutout_zeroes_a_box_around_its_centre_clipped_to_the_image() -> None:
    x = torch.ones(2, 2, 4, 5, dtype=torch.float64)
    # a 2 × 3 box: rows centre − 1 … centre, columns centre − 1 … centre + 1
    out = cutout(x, torch.tensor([0, 2]), torch.tensor([4, 1]), (2, 3))
    torch.testing.assert_close(out[0, 1], _t([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]))
    torch.testing.assert_close(out[1, 0], _t([[1, 1, 1, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 1, 1], [1, 1, 1, 1, 1]]))
    assert torch.equal(out[:, 0], out[:, 1])  # one box for all channels


def _diffaug_input() -> torch.Tensor:
    return (torch.arange(3 * 3 * 8 * 6, dtype=torch.float64).view(3, 3, 8, 6) * 0.37).sin()


def test_diff_augment_draws_as_the_official_code_does() -> None:
    # nupurkmr9/vision-aided-gan@95fc55b, vision_aided_loss/DiffAugment_pytorch.py: DiffAugment(x,
    # 'color,translation,cutout') after torch.manual_seed(5) on this (3, 3, 8, 6) float64 input (8 × 6: shifts in
    # [−1, 1], a 4 × 3 box): the sample sums, the pixels zero in every channel, row 6 of sample 0's channel 0.
    out = diff_augment(_diffaug_input(), DIFFAUGMENT_POLICY, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out.sum(dim=(1, 2, 3)), _t([18.238245982064043, -29.430451538084725,
                                                          -17.198505433749155]), atol=1e-12, rtol=0)
    assert [(out[i] == 0).all(0).sum().item() for i in range(3)] == [16, 14, 15]
    torch.testing.assert_close(out[0, 0, 6], _t([0.0, 0.4965314449995255, 0.0, 0.0, 0.0, -0.5749998397911216]),
                               atol=1e-12, rtol=0)
    torch.manual_seed(5)  # without a generator: torch's global one, as the official code draws
    torch.testing.assert_close(diff_augment(_diffaug_input()), out, atol=0, rtol=0)


def test_diff_augment_colour_draws_brightness_saturation_contrast_in_order() -> None:
    x = _diffaug_input().requires_grad_(True)
    out = diff_augment(x, "color", generator=torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(2)
    b, s, c = (torch.rand(3, 1, 1, 1, dtype=torch.float64, generator=g).view(3) for _ in range(3))
    torch.testing.assert_close(out, contrast(saturation(brightness(x, b - 0.5), 2 * s), c + 0.5))
    out.sum().backward()  # differentiable, so the generator learns through it
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, "") is x
    with pytest.raises(ValueError, match="unknown DiffAugment op 'flip'"):
        diff_augment(x, "color,flip")


def test_translation_reaches_an_eighth_and_cutout_covers_half_of_each_side() -> None:
    # 9 × 17 images: shifts up to round(9/8) = 1 row and round(17/8) = 2 columns
    g = torch.Generator().manual_seed(0)
    moved = diff_augment(torch.ones(300, 1, 9, 17, dtype=torch.float64), "translation", generator=g)[:, 0]
    rows_gone, cols_gone = (moved == 0).all(2).sum(1), (moved == 0).all(1).sum(1)
    assert set(rows_gone.tolist()) == {0, 1} and set(cols_gone.tolist()) == {0, 1, 2}
    # 9 × 15 images: a round(4.5) × round(7.5) = 5 × 8 box centred on rows 0…8 (an odd side: centres up to
    # size − 1) and columns 0…15 (an even side: up to size)
    holes = diff_augment(torch.ones(300, 1, 9, 15, dtype=torch.float64), "cutout", generator=g)[:, 0] == 0
    rows_cut, cols_cut = holes.any(2).sum(1), holes.any(1).sum(1)
    # rows centre − 2 … centre + 2 clipped to 0…8: 3 to 5 rows; columns centre − 4 … centre + 3: 4 to 8 columns
    assert set(rows_cut.tolist()) == {3, 4, 5} and set(cols_cut.tolist()) == {4, 5, 6, 7, 8}
    assert torch.equal(holes.flatten(1).sum(1), rows_cut * cols_cut)  # one rectangle per image


class _Recorder(nn.Module):
    """A backbone that keeps what it was shown and returns its mean colour."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return x.mean(dim=(2, 3))


def test_real_and_fake_are_both_augmented_before_the_frozen_backbone() -> None:
    rec = _Recorder()
    d = VisionAidedDiscriminator(rec, 3, hidden=4, policy="translation,cutout")
    d.generator = torch.Generator().manual_seed(7)
    ens = DiscriminatorEnsemble(_Read(1.0), [d], TINY)
    real, fake = (_diffaug_input() + 2.0).float(), (_diffaug_input() - 2.0).float()
    ens.discriminator_loss(real, fake)
    g = torch.Generator().manual_seed(7)
    assert len(rec.seen) == 2
    torch.testing.assert_close(rec.seen[0], diff_augment(real, "translation,cutout", generator=g))
    torch.testing.assert_close(rec.seen[1], diff_augment(fake, "translation,cutout", generator=g))
    assert (rec.seen[0] == 0).any() and (rec.seen[1] == 0).any()
    plain = _Recorder()
    VisionAidedDiscriminator(plain, 3, hidden=4)(real)  # the default: no augmentation
    assert torch.equal(plain.seen[0], real)


# ------------------------------------------------------------------ the multi-level heads
def test_blur_pool_is_a_zero_padded_binomial_filter() -> None:
    blur = BlurPool(2)
    taps = _t([1, 3, 3, 1]) / 8
    torch.testing.assert_close(blur.kernel[1, 0].double(), taps[:, None] * taps[None, :])
    out = blur(torch.ones(1, 2, 7, 7))
    assert out.shape == (1, 2, 6, 6)  # a 4-tap filter with one pixel of padding per side
    # zero (not reflect) padding: the corner sees 3 × 3 of the 4 × 4 taps, (7/8)²; the inside stays 1
    assert out[0, 0, 0, 0].item() == pytest.approx((7 / 8) ** 2)
    assert out[0, 1, 0, 2].item() == pytest.approx(7 / 8)
    assert out[0, 0, 2, 3].item() == pytest.approx(1.0)
    strided = BlurPool(1, stride=2, pad_off=1)(torch.ones(1, 1, 14, 14))
    assert strided.shape == (1, 1, 8, 8) and strided[0, 0, 0, 0].item() == pytest.approx((4 / 8) ** 2)
    # a fixed filter, neither learnt nor stored with the head's weights
    assert list(blur.parameters()) == [] and "kernel" not in blur.state_dict()


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_multilevel_heads_match_the_official_parameter_counts() -> None:
    # nupurkmr9/vision-aided-gan@95fc55b, vision_aided_loss/cv_discriminator.py MultiLevelDViT instantiated as
    # get_decoder builds it: CLIP (level 3, in_ch1 768, in_ch2 512, out_ch 256) 3,671,555 parameters, each map head
    # 1,769,985, the pooled head 131,585; DINO (768, 768, 128, down 2) 1,868,547, 884,993 and 98,561.
    assert (CLIP_HEAD.levels, CLIP_HEAD.token_dim, CLIP_HEAD.pooled_dim, CLIP_HEAD.hidden, CLIP_HEAD.down) == (
        3, 768, 512, 256, 1)
    assert (DINO_HEAD.levels, DINO_HEAD.token_dim, DINO_HEAD.pooled_dim, DINO_HEAD.hidden, DINO_HEAD.down) == (
        3, 768, 768, 128, 2)
    # cvmodel.py: CLIP's token maps after blocks 4 and 8 of 12 and its projected class token; DINO's
    # get_intermediate_layers(n=8) entries 0 and 4 (blocks 5 and 9) and the class token of block 12.
    assert CLIP_HEAD.blocks == (4, 8, 12) and DINO_HEAD.blocks == (5, 9, 12)
    assert MultiLevelHeadConfig() == CLIP_HEAD
    for config, total, per_map, pooled in ((CLIP_HEAD, 3_671_555, 1_769_985, 131_585),
                                           (DINO_HEAD, 1_868_547, 884_993, 98_561)):
        head = MultiLevelHead(config, spectral_norm=False)  # on the CPU: 50 ms; meta-device layers build slower here
        assert (_count(head), [_count(m) for m in head.maps], _count(head.pooled)) == (total, [per_map] * 2, pooled)


@pytest.mark.parametrize(("down", "size"), [(1, 7), (2, 14)])
def test_multilevel_head_output_shapes_at_the_official_token_grids(down: int, size: int) -> None:
    # CLIP ViT-B/32 at 224²: 7 × 7 patch tokens (down 1); DINO ViT-B/16: 14 × 14 (down 2). Both give 3 × 3 maps.
    head = MultiLevelHead(MultiLevelHeadConfig(token_dim=2, pooled_dim=3, hidden=2, down=down))
    out = head([torch.randn(2, 2, size, size), torch.randn(2, 2, size, size), torch.randn(2, 3)])
    assert [o.shape for o in out] == [(2, 3, 3), (2, 3, 3), (2,)]
    layers = [m for m in head.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 6 and all(hasattr(m, "parametrizations") for m in layers)  # all spectrally normalised
    slopes = [m.negative_slope for m in head.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 3


def _fill(model: nn.Module) -> None:
    # every parameter from its size alone, so the official head and this one get the same numbers
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_((0.3 * torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + n)).view(p.shape).to(p.dtype))


@pytest.mark.parametrize(("down", "size", "pooled_dim", "first", "means", "pooled"), [
    (1, 7, 5, ([0.2707161605358124, 0.2573997974395752, 0.23890681564807892],
               [0.18670761585235596, 0.13215379416942596, 0.10930278897285461]),
     (0.20938058404458892, 0.22097223293450144), (0.20383402705192566, 0.22140483558177948)),
    (2, 14, 6, ([0.25492197275161743, 0.2588643431663513, 0.2486530989408493],
                [0.23800204694271088, 0.18801449239253998, 0.15307272970676422]),
     (0.23182658271657097, 0.22008823768960106), (0.24224375188350677, 0.29733383655548096)),
])
def test_multilevel_head_matches_the_official_head_on_a_deterministic_fill(
        down: int, size: int, pooled_dim: int, first: tuple, means: tuple, pooled: tuple) -> None:
    # nupurkmr9/vision-aided-gan@95fc55b, vision_aided_loss/cv_discriminator.py MultiLevelDViT(level=3, in_ch1=4,
    # in_ch2=pooled_dim, out_ch=3, down) with spectral_norm removed, every parameter filled by _fill's rule, on the
    # inputs below (float32): the first logits of sample 0 per map, each map's mean, the pooled logits.
    head = MultiLevelHead(MultiLevelHeadConfig(token_dim=4, pooled_dim=pooled_dim, hidden=3, down=down),
                          spectral_norm=False).double()
    _fill(head)
    feats = [(torch.arange(2 * 4 * size * size, dtype=torch.float64).view(2, 4, size, size) * 0.11 + k).cos()
             for k in (0, 1)]
    feats.append((torch.arange(2 * pooled_dim, dtype=torch.float64).view(2, -1) * 0.7).sin())
    with torch.no_grad():
        out = head(feats)
    for level in range(2):
        torch.testing.assert_close(out[level][0].flatten()[:3], _t(first[level]), atol=1e-6, rtol=0)
        assert out[level].mean().item() == pytest.approx(means[level], abs=1e-6)
    torch.testing.assert_close(out[2], _t(pooled), atol=1e-6, rtol=0)


def test_tokens_to_map_drops_the_class_token_and_keeps_row_major_patches() -> None:
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float64).view(2, 5, 3)  # class token + 2 × 2 patches, 3 channels
    grid = tokens_to_map(tokens)
    assert grid.shape == (2, 3, 2, 2) and grid.is_contiguous()  # a plain (B, C, S, S) tensor, not a strided view
    torch.testing.assert_close(grid[1, 2], _t([[20, 23], [26, 29]]))  # tokens 1…4 of sample 1, channel 2
    with pytest.raises(ValueError, match="square grid"):
        tokens_to_map(torch.zeros(1, 4, 3))
    with pytest.raises(ValueError, match="got 1 tokens"):  # a class token alone has no patch grid
        tokens_to_map(torch.zeros(1, 1, 3))
    torch.testing.assert_close(tokens_to_map(_t([[[9, 9], [4, 5]]])), _t([[[[4]], [[5]]]]))  # one patch: 1 × 1


class _StubViT(nn.Module):
    """A frozen 'ViT' with known features: two token maps and a pooled vector."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.5))
        self.norm = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.norm(x)
        m = self.scale * x[:, :2].repeat(1, 2, 1, 1)  # (B, 4, 7, 7)
        return [m, -m, self.scale * x.mean(dim=(2, 3))]


def test_multilevel_discriminator_freezes_the_backbone_and_trains_every_level() -> None:
    torch.manual_seed(0)
    d = MultiLevelVisionAidedDiscriminator(_StubViT(), MultiLevelHeadConfig(token_dim=4, pooled_dim=3, hidden=5))
    d.train()
    assert not d.backbone.training and d.head.training
    fake = torch.rand(2, 3, 7, 7, requires_grad=True)
    out = d(fake)
    assert [o.shape for o in out] == [(2, 3, 3), (2, 3, 3), (2,)]
    sum(o.sum() for o in out).backward()
    assert d.backbone.scale.grad is None and not d.backbone.scale.requires_grad
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.head.parameters())
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert (d.backbone.norm.running_mean == 0).all()  # pretrained statistics untouched


class _Levels(nn.Module):
    """A multi-level critic with known logits: a 2 × 2 map k·x[:, 0, :2, :2] and a pooled k·x[:, 0, 0, 0]."""

    def __init__(self, k: float, real_label: float | None = None) -> None:
        super().__init__()
        self.k, self.real_label = k, real_label

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.k * x[:, 0, :2, :2], self.k * x[:, 0, 0, 0]]


def test_multilevel_loss_sums_the_per_level_means_as_the_official_multilevel_sigmoid() -> None:
    # cv_losses.py multilevel_loss: per level BCE, maps averaged over their pixels, levels summed, then the batch
    # mean (stylegan2/training/loss.py); equal-sized maps make that Σ_levels of each level's mean BCE.
    real = _t([[[[0.5, -1.0], [2.0, 0.0]]], [[[-0.5, 1.5], [0.25, -2.0]]]])  # (2, 1, 2, 2)
    fake = -0.5 * real + 0.3
    ens = DiscriminatorEnsemble(_Read(0.0), [_Levels(2.0)], VisionAidedConfig(vision_weight=0.5, real_label=0.8))
    r_map, f_map = [2.0 * v for v in real.flatten().tolist()], [2.0 * v for v in fake.flatten().tolist()]
    r_pool, f_pool = [2.0 * 0.5, 2.0 * -0.5], [2.0 * 0.05, 2.0 * 0.55]
    vision_d = _bce(r_map, 0.8) + _bce(r_pool, 0.8) + _bce(f_map, 0.0) + _bce(f_pool, 0.0)
    torch.testing.assert_close(ens.discriminator_loss(real, fake).item(), 2 * math.log(2.0) + 0.5 * vision_d)
    vision_g = _bce(f_map, 0.8) + _bce(f_pool, 0.8)
    torch.testing.assert_close(ens.generator_loss(fake).item(), math.log(2.0) + 0.5 * vision_g)


class _PooledOnly(nn.Module):
    """A backbone with one level: the first two channels of the top-left pixel, as a list."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x[:, :2, 0, 0]]


def test_a_one_level_head_is_the_pooled_head_alone() -> None:
    # levels=1: no token-map heads, one logit per image, and its loss is the single-level BCE
    d = MultiLevelVisionAidedDiscriminator(_PooledOnly(), MultiLevelHeadConfig(levels=1, pooled_dim=2, hidden=3),
                                           spectral_norm=False).double()
    assert len(d.head.maps) == 0
    with torch.no_grad():
        d.head.pooled[0].weight.copy_(_t([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
        d.head.pooled[0].bias.zero_()
        d.head.pooled[2].weight.copy_(_t([[1.0, -0.5, 2.0]]))
        d.head.pooled[2].bias.fill_(0.25)
    real = torch.zeros(2, 3, 1, 1, dtype=torch.float64)
    real[:, :2, 0, 0] = _t([[1.0, 0.5], [-1.0, 2.0]])
    fake = torch.zeros(1, 3, 1, 1, dtype=torch.float64)
    fake[0, :2, 0, 0] = _t([0.5, -1.0])
    # by hand: hidden LeakyReLU(0.2) of (x0, x1, x0 − x1), then 0.25 + h0 − 0.5·h1 + 2·h2
    r, f = [0.25 + 1.0 - 0.25 + 1.0, 0.25 - 0.2 - 1.0 - 1.2], [0.25 + 0.5 + 0.1 + 3.0]
    (out,) = d(real)
    torch.testing.assert_close(out, _t(r))
    ens = DiscriminatorEnsemble(_Read(0.0), [d], TINY)
    torch.testing.assert_close(ens.discriminator_loss(real, fake).item(), 2 * math.log(2.0) + _bce(r, 1.0)
                               + _bce(f, 0.0))
    torch.testing.assert_close(ens.generator_loss(fake).item(), math.log(2.0) + _bce(f, 1.0))


def test_each_vision_model_can_carry_its_own_label_smoothing() -> None:
    # progressive ensembling smooths only the models whose probe accuracy was high (vision-aided-gan.py)
    real, fake = _images([-1.5, 0.25, 2.0]), _images([0.5, -2.0, 1.0])
    ens = DiscriminatorEnsemble(_Read(0.0), [_Read(1.0), _Read(-1.0)], VisionAidedConfig())
    ens.vision[0].real_label = 0.8
    r, f = [-1.5, 0.25, 2.0], [0.5, -2.0, 1.0]
    nr, nf = [-v for v in r], [-v for v in f]
    first, second = _bce(r, 0.8) + _bce(f, 0.0), _bce(nr, 1.0) + _bce(nf, 0.0)
    torch.testing.assert_close(ens.discriminator_loss(real, fake).item(), 2 * math.log(2.0) + first + second)
    torch.testing.assert_close(ens.generator_loss(fake).item(), math.log(2.0) + _bce(f, 0.8) + _bce(nf, 1.0))
    d = VisionAidedDiscriminator(nn.Identity(), 3, real_label=0.8)
    assert d.real_label == 0.8 and VisionAidedDiscriminator(nn.Identity(), 3).real_label is None


# ------------------------------------------------------------------ warm-up and progressive ensembling
def test_vision_loss_is_off_during_the_warm_up() -> None:
    # stylegan2/training/training_loop.py: lambda_ = 0 while cur_nimg < warmup, else 1.
    assert vision_loss_weight(0, OFFICIAL) == 0.0 and vision_loss_weight(499_999, OFFICIAL) == 0.0
    assert vision_loss_weight(500_000, OFFICIAL) == 1.0 and vision_loss_weight(2_000_000, OFFICIAL) == 1.0
    assert vision_loss_weight(0) == 1.0  # no warm-up by default
    assert vision_loss_weight(10, VisionAidedConfig(vision_weight=0.25, warmup_nimg=10)) == 0.25
    real, fake = _images([-1.5, 0.25, 2.0]), _images([0.5, -2.0, 1.0])
    ens = DiscriminatorEnsemble(_Read(1.0), [_Read(3.0)], OFFICIAL)
    base_d = _bce([-1.5, 0.25, 2.0], 1.0) + _bce([0.5, -2.0, 1.0], 0.0)
    torch.testing.assert_close(ens.discriminator_loss(real, fake, vision_weight=0.0).item(), base_d)
    torch.testing.assert_close(ens.generator_loss(fake, vision_weight=0.0).item(), _bce([0.5, -2.0, 1.0], 1.0))
    torch.testing.assert_close(ens.generator_loss(fake, vision_weight=2.0).item(),
                               _bce([0.5, -2.0, 1.0], 1.0) + 2.0 * _bce([1.5, -6.0, 3.0], 0.8))


def test_progressive_schedule_adds_one_model_per_stage_after_the_baseline() -> None:
    # stylegan2/vision-aided-gan.py: 500 kimg without vision-aided discriminators, then --kimgs-list
    # '4000,1000,1000' (README: '8000,2000,2000' for more than 1k images); "_s" when the probe accuracy > 0.9.
    schedule = ProgressiveSchedule()
    assert (schedule.baseline_kimg, schedule.stage_kimg, schedule.smoothing_above, schedule.smoothed_real_label) == (
        500, (4000, 1000, 1000), 0.9, 0.8)
    assert ProgressiveSchedule(stage_kimg=(8000, 2000, 2000)) == PROGRESSIVE_LARGE
    at = [0, 499.9, 500, 4499, 4500, 5499, 5500, 6499, 6500, 20_000]
    assert [schedule.models_at(k) for k in at] == [0, 0, 1, 1, 2, 2, 3, 3, 3, 3]
    assert [PROGRESSIVE_LARGE.models_at(k) for k in (8499, 8500, 10_499, 10_500)] == [1, 2, 2, 3]
    assert ProgressiveSchedule(baseline_kimg=0, stage_kimg=(10, 20)).models_at(29.5) == 2


def _separable(n_wrong: int) -> tuple[torch.Tensor, torch.Tensor]:
    # 10 real + 10 fake 1-d features, interleaved by the probe: fitted on the first 10, scored on the last 10;
    # ``n_wrong`` of the last reals sit on the fake side.
    real = torch.tensor([[3.0 + 0.1 * i] for i in range(10)])
    fake = torch.tensor([[-3.0 - 0.1 * i] for i in range(10)])
    if n_wrong:
        real[10 - n_wrong:] = -5.0
    return real, fake


def test_next_backbone_is_the_best_unused_one_and_its_accuracy_sets_the_label() -> None:
    real, fake = _separable(0)
    candidates = {"sees": lambda x: x, "blind": lambda x: torch.zeros_like(x)}
    assert select_next_backbone(candidates, [], real, fake, TINY) == ("sees", 1.0, 0.8)  # accuracy > 0.9: smoothed
    # the used one is skipped; a weak probe: no smoothing
    assert select_next_backbone(candidates, ["sees"], real, fake, TINY) == ("blind", 0.5, 1.0)
    real, fake = _separable(1)  # 9 of 10 held-out samples right: 0.9 is not above 0.9
    assert select_next_backbone(candidates, [], real, fake, TINY) == ("sees", 0.9, 1.0)
    assert select_next_backbone(candidates, [], real, fake, TINY, diffaugment=True)[2] == 0.8
    assert select_next_backbone(candidates, [], real, fake, TINY, ProgressiveSchedule(smoothing_above=0.85))[2] == 0.8
