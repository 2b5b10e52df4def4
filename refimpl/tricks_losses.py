"""Two loss tricks from the notes' "Loss Function" section: the hinge loss and
the wrong-pixel penalty.

No single paper. Catalog ids: ``hinge-loss`` and ``wrong-pixel-penalty``.

Implemented:

* The hinge loss of the notes, ``max(0, 1 − gt · out)`` with labels
  ``gt ∈ {−1, +1}`` (the soft-margin SVM loss): zero once a sample is on
  the right side of the margin, linear in the score inside it.
* Its GAN form (Lim & Ye, "Geometric GAN", arXiv:1705.02894; used by
  SN-GAN, SAGAN and BigGAN): the discriminator minimises
  ``E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]`` (the hinge loss with
  real = +1 and fake = −1) and the generator ``−E[D(G(z))]``.
* The wrong-pixel penalty of the notes,
  ``lossfunction(out, gt, reduction=none) · |σ(out) − gt|``: each pixel's
  loss is weighted by how far its predicted probability is from the label,
  so confidently wrong pixels count most and confidently right ones
  hardly at all (a cousin of the focal loss, Lin et al. 2017, with
  exponent 1 on the error).

Official code: none for the notes' two tricks (they come with no paper or
code). The GAN hinge form is checked against the SN-GAN authors' code,
pfnet-research/sngan_projection ``updater.py`` (commit ab97f6b):
``loss_hinge_dis = mean(relu(1 − D(x))) + mean(relu(1 + D(G(z))))`` and
``loss_hinge_gen = −mean(D(G(z)))``, the same formulas; the tests pin them on
unequal scores by hand.

Parameter count: none (losses only).

Deviations from the notes:

* None in the formulas. The notes leave the per-pixel loss open; the
  default here is binary cross-entropy on logits, and any
  ``loss_fn(out, gt, reduction="none")`` can be passed. The weight is not
  detached, as written in the notes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"unknown reduction {reduction!r}; expected 'none', 'mean' or 'sum'")


# --------------------------------------------------------------------- hinge loss
def hinge_loss(out: torch.Tensor, gt: torch.Tensor, *, margin: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """max(0, margin − gt · out), labels gt ∈ {−1, +1}."""
    return _reduce(F.relu(margin - gt * out), reduction)


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]: the hinge loss with real = +1, fake = −1."""
    return hinge_loss(real_logits, torch.ones_like(real_logits)) + hinge_loss(fake_logits, -torch.ones_like(fake_logits))


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E[D(G(z))]: the generator raises the critic's score without a margin."""
    return -fake_logits.mean()


# --------------------------------------------------------------------- wrong-pixel penalty
def wrong_pixel_weight(out: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """|σ(out) − gt| per pixel: 0 for a confident correct logit, 1 for a confident wrong one."""
    return (torch.sigmoid(out) - gt).abs()


def wrong_pixel_penalty(
    out: torch.Tensor,
    gt: torch.Tensor,
    loss_fn: Callable[..., torch.Tensor] = F.binary_cross_entropy_with_logits,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """loss_fn(out, gt, reduction="none") · |σ(out) − gt|, then reduced.

    out: logits (any shape), gt: targets in [0, 1] of the same shape.
    """
    return _reduce(loss_fn(out, gt, reduction="none") * wrong_pixel_weight(out, gt), reduction)


# --------------------------------------------------------------------- examples
@register_example(covers=[hinge_loss, hinge_discriminator_loss, hinge_generator_loss])
def hinge_losses() -> Example:
    g = seeded(0)
    real = torch.randn(6, 1, generator=g, requires_grad=True)
    fake = torch.randn(6, 1, generator=g, requires_grad=True)
    labels = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]).view(6, 1)

    def run(_m: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (hinge_loss(real, labels, reduction="none"), hinge_discriminator_loss(real, fake),
                hinge_generator_loss(fake))

    return Example(model=nn.Module(), inputs=(real, fake, labels), output_shapes=((6, 1), (), ()), run=run)


@register_example(covers=[wrong_pixel_penalty, wrong_pixel_weight])
def wrong_pixel_penalty_example() -> Example:
    g = seeded(0)
    out = torch.randn(2, 1, 8, 8, generator=g, requires_grad=True)
    gt = (torch.rand(2, 1, 8, 8, generator=g) > 0.5).float()

    def run(_m: nn.Module, out: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return wrong_pixel_penalty(out, gt, reduction="none"), wrong_pixel_penalty(out, gt)

    return Example(model=nn.Module(), inputs=(out, gt), output_shapes=((2, 1, 8, 8), ()), run=run)
