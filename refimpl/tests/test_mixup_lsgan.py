"""Mixup between real and fake with the least-squares loss, as the face-swap GAN trains D and G."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.lsgan import lsgan_d_loss
from refimpl.mixup_lsgan import (
    MixupLSGANConfig,
    mixup_lsgan_d_loss,
    mixup_lsgan_g_loss,
    mixup_lsgan_step,
    mixup_real_fake,
)


def test_config_defaults_are_the_face_swap_gan() -> None:
    assert MixupLSGANConfig() == MixupLSGANConfig(alpha=0.2, a=0.0, b=1.0)


def test_mixing_real_and_fake_by_hand() -> None:
    real, fake = torch.full((2, 3), 1.0), torch.full((2, 3), -1.0)
    torch.testing.assert_close(mixup_real_fake(real, fake, 0.75), torch.full((2, 3), 0.5))


def test_d_loss_targets_the_mixed_label() -> None:
    d_out = torch.tensor([0.3, 0.9])
    # λ = 0.7, a = 0, b = 1: target 0.7; errors −0.4 and 0.2 -> (0.16 + 0.04) / 2
    torch.testing.assert_close(mixup_lsgan_d_loss(d_out, 0.7), torch.tensor(0.1))
    # λ = 1 and λ = 0 are LSGAN's real and fake terms (twice lsgan_d_loss's halves).
    real_out, fake_out = torch.tensor([0.2, 0.6]), torch.tensor([0.1, -0.3])
    both = mixup_lsgan_d_loss(real_out, 1.0) + mixup_lsgan_d_loss(fake_out, 0.0)
    torch.testing.assert_close(both, 2 * lsgan_d_loss(real_out, fake_out, a=0.0, b=1.0))
    # Other codings: a = −1, b = 1 at λ = 0.25 targets −0.5.
    torch.testing.assert_close(mixup_lsgan_d_loss(torch.tensor([-0.5]), 0.25, a=-1.0, b=1.0), torch.tensor(0.0))


def test_g_loss_swaps_the_mixed_labels_and_halves() -> None:
    d_out = torch.tensor([0.3, 0.9])
    # λ = 0.7: target 1 − 0.7 = 0.3; errors 0 and 0.6 -> ½ · 0.36 / 2
    torch.testing.assert_close(mixup_lsgan_g_loss(d_out, 0.7), torch.tensor(0.09))


def test_step_detaches_the_fake_for_d_and_lets_g_learn_through_the_mix() -> None:
    torch.manual_seed(0)
    gen, d = nn.Linear(2, 3), nn.Linear(3, 1)
    real, z = torch.rand(4, 3), torch.randn(4, 2)
    d_loss, g_loss = mixup_lsgan_step(d, real, gen(z), generator=torch.Generator().manual_seed(0))
    d_loss.backward(retain_graph=True)
    assert gen.weight.grad is None and d.weight.grad is not None
    g_loss.backward()
    assert gen.weight.grad is not None and gen.weight.grad.abs().sum() > 0
