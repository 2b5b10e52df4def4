"""Mixup and the least-squares loss together, for the face-swap GAN's discriminator.

An entry of the face-swap notes. Catalog id: ``mixup-lsgan-adopted``: mixup
(Zhang et al. 2018, arXiv:1710.09412; ``refimpl/mixup.py``) and the least
squares loss (Mao et al. 2017, arXiv:1611.04076 / 1712.06391;
``refimpl/lsgan.py``) were adopted to train the GAN, without an ablation.

Official code: shaoanlu/faceswap-GAN. The notes' wording dates them to the
v2.x code of early/mid 2018, whose mixup-LSGAN losses are the defaults here:
``networks/losses.py`` as added in commit 7a1a525 (v2.2, ``adversarial_loss``
with ``Beta(0.2, 0.2)``) and the ``define_loss`` of the v2 128-pixel and
v2.1 notebooks (``legacy/``). Two other versions are named presets:

* ``V2_0``: the first notebook (``legacy/FaceSwap_GAN_github.ipynb``):
  ``mixup_alpha = 0.1`` and a ½ on the generator's loss.
* ``LATEST``: ``networks/losses.py`` at commit 17219d0, where the generator's
  loss no longer mixes: ``E[(D(G(z)) − 1)²]`` on the generated batch.

Implemented (the glue the two modules leave open):

* ``mixup_real_fake``: mixup between a real batch and a generated batch,
  ``x̃ = λ x_real + (1 − λ) x_fake`` with one ``λ ~ Beta(α, α)`` per batch
  from mixup's ``sample_mixup`` (the mixup paper's GAN experiment also mixes
  real with fake, not two real examples).
* ``mixup_lsgan_d_loss``: least squares on the mixed batch with the mixed
  target ``t = λ b + (1 − λ) a``: ``E[(D(x̃) − t)²]``. λ = 1 is the LSGAN
  real term, λ = 0 the fake term.
* ``mixup_lsgan_g_loss``: the generator's loss on the same mixed output with
  the labels swapped, ``E[(D(x̃) − ((1 − λ) b + λ a))²]`` (LSGAN's generator
  loss, Eq. 2, with target ``c = (1 − λ) b + λ a``); its gradient reaches the
  generator through the fake part of x̃.

Parameter count: none (losses).

Deviations from LSGAN: the face-swap GAN uses targets a = 0, b = 1 (the
"0-1 coding" of LSGAN Sec. 3.2.3), the defaults here, where
``refimpl/lsgan.py`` defaults to the paper's a = −1, b = 1; and it drops
LSGAN's ½ on both losses (except ``V2_0``'s generator loss). The face-swap
GAN's extra discriminator input (the distorted face concatenated to each
image) and its second mixed term for the unmasked output belong to its
architecture and are left to the caller; so is its weight ``w_D`` on the
generator's adversarial loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .mixup import sample_mixup
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class MixupLSGANConfig:
    alpha: float = 0.2  # Beta(0.2, 0.2): faceswap-GAN networks/losses.py and the v2.1 notebook's mixup_alpha
    a: float = 0.0  # fake target, 0-1 coding (LSGAN Sec. 3.2.3)
    b: float = 1.0  # real target
    g_scale: float = 1.0  # factor on G's loss: none in v2.1/v2.2 (w_D is applied outside), ½ in v2.0
    mixed_g: bool = True  # G's loss on the mixed batch (v2.0-v2.2); False: on the generated batch (HEAD)


V2_0 = MixupLSGANConfig(alpha=0.1, g_scale=0.5)  # legacy/FaceSwap_GAN_github.ipynb: mixup_alpha = 0.1, loss_G = .5 * ...
LATEST = MixupLSGANConfig(mixed_g=False)  # networks/losses.py @17219d0: loss_G on netD(fake) with target 1


def mixup_real_fake(real: torch.Tensor, fake: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """``λ real + (1 − λ) fake``."""
    return lam * real + (1 - lam) * fake


def mixup_lsgan_d_loss(d_mixed: torch.Tensor, lam: float | torch.Tensor, a: float = MixupLSGANConfig.a,
                       b: float = MixupLSGANConfig.b) -> torch.Tensor:
    """``E[(D(x̃) − (λ b + (1 − λ) a))²]`` on the discriminator's output for the mixed batch."""
    return ((d_mixed - (lam * b + (1 - lam) * a)) ** 2).mean()


def mixup_lsgan_g_loss(d_mixed: torch.Tensor, lam: float | torch.Tensor, a: float = MixupLSGANConfig.a,
                       b: float = MixupLSGANConfig.b) -> torch.Tensor:
    """``E[(D(x̃) − ((1 − λ) b + λ a))²]``: the discriminator's mixed target with real and fake swapped."""
    return ((d_mixed - ((1 - lam) * b + lam * a)) ** 2).mean()


def mixup_lsgan_step(d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     config: MixupLSGANConfig = MixupLSGANConfig(),
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(D loss, G loss) for one batch with a fresh λ; D's loss sees the fake detached."""
    lam, _ = sample_mixup(real.shape[0], config.alpha, generator)  # mixup's sampler; its permutation is unused
    d_loss = mixup_lsgan_d_loss(d(mixup_real_fake(real, fake.detach(), lam)), lam, config.a, config.b)
    if config.mixed_g:
        g_loss = mixup_lsgan_g_loss(d(mixup_real_fake(real, fake, lam)), lam, config.a, config.b)
    else:
        g_loss = ((d(fake) - config.b) ** 2).mean()
    return d_loss, config.g_scale * g_loss


@register_example(covers=[mixup_lsgan_step, mixup_lsgan_d_loss, mixup_lsgan_g_loss, mixup_real_fake])
def mixup_lsgan_losses() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"g": nn.Sequential(nn.Linear(4, 12), nn.Tanh()),
                           "d": nn.Sequential(nn.Linear(12, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))})

    def run(m: nn.ModuleDict, real: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mixup_lsgan_step(m["d"], real, m["g"](z), generator=torch.Generator().manual_seed(0))

    return Example(model=model, inputs=(torch.rand(4, 12, generator=g), torch.randn(4, 4, generator=g)),
                   output_shapes=((), ()), run=run)
