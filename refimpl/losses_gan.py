"""Adversarial objectives shared by the image-to-image papers.

A shared block, not a paper: the least-squares objective (Mao et al., LSGAN,
arXiv:1611.04076), used by CycleGAN and pix2pixHD, and the hinge objective
(Lim & Ye, arXiv:1705.02894; Miyato et al.), used by SPADE and FUNIT. The
original minimax/non-saturating losses live in ``refimpl.gan``.

All functions take raw discriminator outputs (any shape; PatchGAN maps
included) and average over every element.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lsgan_discriminator_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """``½ E[(D(y) − 1)²] + ½ E[D(G(x))²]`` (real target 1, fake target 0)."""
    return 0.5 * (F.mse_loss(real_out, torch.ones_like(real_out)) + F.mse_loss(fake_out, torch.zeros_like(fake_out)))


def lsgan_generator_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """``E[(D(G(x)) − 1)²]``: G pulls its samples' scores to the real target."""
    return F.mse_loss(fake_out, torch.ones_like(fake_out))


def hinge_discriminator_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """``E[max(0, 1 − D(y))] + E[max(0, 1 + D(G(x)))]``."""
    return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()


def hinge_generator_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """``−E[D(G(x))]``."""
    return -fake_out.mean()
