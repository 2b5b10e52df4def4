"""CycleGAN for face swapping, with a face mask on the cycle-consistency loss.

Two entries of the face-swap notes. Catalog ids: ``cyclegan-face-swap-experiment``
(CycleGAN, Zhu et al. 2017, arXiv:1703.10593, produced artifacts and did not
keep features such as bangs and skin tone across the translation) and
``cyclegan-masking`` ("CycleGAN with masking", planned). The generators,
discriminators and the plain cycle loss are ``refimpl/cyclegan.py``.

Implemented:

* ``masked_cycle_loss``: the L1 cycle-consistency term restricted to a face
  mask, ``λ · Σ m |F(G(x)) − x| / Σ m`` per direction (each direction with its
  own mask), so the background and hair outside the mask neither drive nor
  absorb the reconstruction.
* ``masked_translation``: the generator's output composited with the input
  outside the mask, ``m · G(x) + (1 − m) · x`` (the same blend as the
  face-swap GAN's ``masked_output``, ``refimpl/faceswap_gan.py``), so
  what lies outside the face is kept by construction.
* ``feature_drift``: the mean absolute change a translation makes inside a
  region (e.g. the bangs, or the cheeks for skin tone), the quantity the
  experiment found inconsistent.

Parameter count: that of the CycleGAN generators.

Deviations: the notes record the plan only ("to be updated"); the mask's
source (a face parser or landmark hull) is left to the caller.
"""

from __future__ import annotations

import torch
from torch import nn

from .cyclegan import ResnetGenerator
from .faceswap_gan import masked_output
from .registry import Example, register_example, seeded


def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.expand_as(a)
    return ((a - b).abs() * m).sum() / m.sum().clamp_min(1.0)


def masked_cycle_loss(g: nn.Module, f: nn.Module, real_x: torch.Tensor, real_y: torch.Tensor,
                      mask_x: torch.Tensor, mask_y: torch.Tensor, lambda_cyc: float = 10.0) -> torch.Tensor:
    """``λ (‖m_x (F(G(x)) − x)‖₁ / Σ m_x + ‖m_y (G(F(y)) − y)‖₁ / Σ m_y)``; masks (N, 1, H, W)."""
    return lambda_cyc * (_masked_l1(f(g(real_x)), real_x, mask_x) + _masked_l1(g(f(real_y)), real_y, mask_y))


def masked_translation(g: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``m · G(x) + (1 − m) · x``: translate the face, keep the rest of the image."""
    return masked_output(g(x), mask, x)


def feature_drift(before: torch.Tensor, after: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean |after − before| inside ``region`` (N, 1, H, W)."""
    return _masked_l1(after, before, region)


@register_example(covers=[masked_cycle_loss, masked_translation, feature_drift])
def masked_cyclegan() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"g": ResnetGenerator(ngf=4, n_blocks=1), "f": ResnetGenerator(ngf=4, n_blocks=1)})
    x, y = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1, torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1

    def run(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mk = mask.to(x.device)
        out = masked_translation(m["g"], x, mk)
        return out, masked_cycle_loss(m["g"], m["f"], x, y, mk, mk), feature_drift(x, out, mk)

    return Example(model=model, inputs=(x, y), output_shapes=((1, 3, 16, 16), (), ()), run=run)
