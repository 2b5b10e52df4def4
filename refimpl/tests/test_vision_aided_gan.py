"""Vision-aided GAN (arXiv:2112.09130): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.vision_aided_gan import (
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
