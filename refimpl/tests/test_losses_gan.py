"""Shared adversarial objectives: closed-form values."""

from __future__ import annotations

import torch

from refimpl.losses_gan import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)


def test_lsgan_losses_are_zero_at_their_targets_and_quadratic_elsewhere() -> None:
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert lsgan_discriminator_loss(ones, zeros).item() == 0.0
    assert lsgan_generator_loss(ones).item() == 0.0
    torch.testing.assert_close(lsgan_discriminator_loss(zeros, ones), torch.tensor(1.0))  # ½(1 + 1)
    torch.testing.assert_close(lsgan_generator_loss(ones * 3), torch.tensor(4.0))


def test_hinge_losses_ignore_confident_scores() -> None:
    real = torch.tensor([2.0, 0.5])  # margins: 0 and 0.5
    fake = torch.tensor([-3.0, 0.0])  # margins: 0 and 1
    torch.testing.assert_close(hinge_discriminator_loss(real, fake), torch.tensor(0.25 + 0.5))
    torch.testing.assert_close(hinge_generator_loss(fake), torch.tensor(1.5))
