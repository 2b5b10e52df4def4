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


def test_lsgan_losses_on_distinguishing_scores() -> None:
    # Offsets other than 1, so squared and absolute errors differ; real and fake targets differ.
    real = torch.tensor([[0.5, 3.0]], dtype=torch.float64)
    fake = torch.tensor([[-1.0, 2.0]], dtype=torch.float64)
    assert lsgan_discriminator_loss(real, fake).item() == 0.5 * ((0.25 + 4.0) / 2 + (1.0 + 4.0) / 2)  # 2.3125
    assert lsgan_discriminator_loss(fake, real).item() == 0.5 * ((4.0 + 1.0) / 2 + (0.25 + 9.0) / 2)
    assert lsgan_generator_loss(fake).item() == (4.0 + 1.0) / 2


def test_hinge_losses_average_over_patch_maps() -> None:
    real = torch.tensor([[[[2.0, 0.5], [-1.0, 1.0]]]])  # margins 0, 0.5, 2, 0
    fake = torch.tensor([[[[-3.0, 0.0], [0.5, -0.5]]]])  # margins 0, 1, 1.5, 0.5
    torch.testing.assert_close(hinge_discriminator_loss(real, fake), torch.tensor(2.5 / 4 + 3.0 / 4))
    torch.testing.assert_close(hinge_generator_loss(fake), torch.tensor(3.0 / 4))
