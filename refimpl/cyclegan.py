"""Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks (CycleGAN).

Jun-Yan Zhu, Taesung Park, Phillip Isola, Alexei A. Efros. ICCV 2017.
arXiv:1703.10593. Catalog id: ``cyclegan``.

Implemented:

* Sec. 3, two mappings ``G: X → Y`` and ``F: Y → X`` with discriminators
  ``D_Y`` and ``D_X``; the adversarial terms use the least-squares objective
  (Sec. 4 "Training details", from ``refimpl.losses_gan``).
* Eq. 2, the cycle-consistency loss
  ``L_cyc = E‖F(G(x)) − x‖₁ + E‖G(F(y)) − y‖₁`` weighted by ``λ = 10``.
* Sec. 5.2, the identity loss ``L_id = E‖G(y) − y‖₁ + E‖F(x) − x‖₁``, weighted
  by ``0.5 λ`` as in the authors' code.
* App. 7.2, the generator "c7s1-64, d128, d256, R256 ×9, u128, u64, c7s1-3"
  (``ResnetGenerator``, instance norm, reflection padding) and the 70×70
  PatchGAN discriminator reused from ``refimpl.pix2pix`` (with instance norm).
* Sec. 4, the image buffer of Shrivastava et al.: D is updated with a history
  of 50 generated images (``ImagePool``).

Official preset: ``OFFICIAL`` is the authors' default CycleGAN run
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` and
``models/cycle_gan_model.py``, commit 78913853ab4a4f5eba717af8433809300c99f0bb:
``resnet_9blocks``, ``basic`` D, ngf = ndf = 64, instance norm without affine
parameters, hence biased convolutions, λ_A = λ_B = 10, λ_identity = 0.5,
pool 50, LSGAN). Its layer definitions, instantiated in a scratch copy, give
11,378,179 parameters per generator (``RESNET_6BLOCKS``, for 128×128 images:
7,837,699) and 2,764,737 per discriminator; tested.

Deviations from the paper:

* The identity loss is on by default (weight 0.5 λ), as in the authors'
  code; the paper uses it for painting ↔ photo (Sec. 5.2). Set
  ``lambda_identity=0`` for the paper's other experiments.
* ``ImagePool`` takes a ``random.Random`` so its choices can be seeded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .losses_gan import lsgan_discriminator_loss, lsgan_generator_loss
from .pix2pix import NormLayer, PatchDiscriminator
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class CycleGANConfig:
    channels: int = 3
    ngf: int = 64  # App. 7.2: c7s1-64
    ndf: int = 64  # App. 7.2: C64-C128-C256-C512
    n_blocks: int = 9  # App. 7.2: 9 residual blocks for 256×256 images (6 for 128×128)
    lambda_cyc: float = 10.0  # Sec. 4: λ = 10
    lambda_identity: float = 0.5  # authors' code: identity weight = 0.5 · λ
    pool_size: int = 50  # Sec. 4: "a history of 50 previously generated images"


OFFICIAL = CycleGANConfig()  # authors' default run: resnet_9blocks, 256×256
RESNET_6BLOCKS = CycleGANConfig(n_blocks=6)  # App. 7.2: 128×128 training images
TINY = CycleGANConfig(ngf=4, ndf=4, n_blocks=2, pool_size=3)


# --------------------------------------------------------------------- generator
class ResnetBlock(nn.Module):
    """R_k: two reflection-padded 3×3 convs with norm, added to the input. (N, C, H, W) → same."""

    def __init__(self, dim: int, *, norm_layer: NormLayer = nn.InstanceNorm2d, use_dropout: bool = False,
                 use_bias: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim),
                                   nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, d2ngf, d4ngf, R4ngf × n_blocks, u2ngf, ungf, c7s1-out: (N, in, H, W) → (N, out, H, W)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, *, ngf: int = 64, n_blocks: int = 9,
                 norm_layer: NormLayer = nn.InstanceNorm2d, use_dropout: bool = False) -> None:
        super().__init__()
        bias = norm_layer is not nn.BatchNorm2d
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm_layer(ngf),
                                   nn.ReLU(True)]
        for mult in (1, 2):  # d128, d256: stride-2 3×3 convs, H/4 × W/4 afterwards
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias), norm_layer(ngf * mult * 2),
                       nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm_layer=norm_layer, use_dropout=use_dropout, use_bias=bias)
                   for _ in range(n_blocks)]
        for mult in (4, 2):  # u128, u64: fractionally-strided convs back to H × W
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                       norm_layer(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def cyclegan_discriminator(config: CycleGANConfig = CycleGANConfig()) -> PatchDiscriminator:
    """The 70×70 PatchGAN of pix2pix, unconditional (sees one image) and with instance norm."""
    return PatchDiscriminator(config.channels, ndf=config.ndf, n_layers=3, norm_layer=nn.InstanceNorm2d)


# --------------------------------------------------------------------- losses
def cycle_loss(
    g: nn.Module, f: nn.Module, real_x: torch.Tensor, real_y: torch.Tensor, lambda_cyc: float = 10.0
) -> torch.Tensor:
    """Eq. 2 (× λ): forward ``x → G(x) → F(G(x)) ≈ x`` and backward ``y → F(y) → G(F(y)) ≈ y``."""
    return lambda_cyc * (F.l1_loss(f(g(real_x)), real_x) + F.l1_loss(g(f(real_y)), real_y))


def identity_loss(
    g: nn.Module, f: nn.Module, real_x: torch.Tensor, real_y: torch.Tensor, weight: float = 5.0
) -> torch.Tensor:
    """Sec. 5.2: G should leave images of its target domain alone (and F likewise); weight = 0.5 λ."""
    return weight * (F.l1_loss(g(real_y), real_y) + F.l1_loss(f(real_x), real_x))


def generator_objective(
    g: nn.Module, f: nn.Module, d_x: nn.Module, d_y: nn.Module, real_x: torch.Tensor, real_y: torch.Tensor,
    config: CycleGANConfig = CycleGANConfig(),
) -> torch.Tensor:
    """Eq. 3 for G and F: LSGAN terms + λ L_cyc (+ 0.5 λ L_id)."""
    adv = lsgan_generator_loss(d_y(g(real_x))) + lsgan_generator_loss(d_x(f(real_y)))
    total = adv + cycle_loss(g, f, real_x, real_y, config.lambda_cyc)
    if config.lambda_identity > 0:
        total = total + identity_loss(g, f, real_x, real_y, config.lambda_identity * config.lambda_cyc)
    return total


def discriminator_objective(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN loss for one discriminator; ``fake`` comes from the ``ImagePool``, detached."""
    return lsgan_discriminator_loss(d(real), d(fake.detach()))


# --------------------------------------------------------------------- image buffer
class ImagePool:
    """History of generated images (Sec. 4).

    Until full, every image is stored and returned. Afterwards each image is,
    with probability 1/2, swapped with a random stored one (the stored one is
    returned), else returned as is.
    """

    def __init__(self, pool_size: int = 50, rng: random.Random | None = None) -> None:
        self.pool_size = pool_size
        self.images: list[torch.Tensor] = []
        self.rng = rng if rng is not None else random.Random()

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) → (N, C, H, W), detached."""
        if self.pool_size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                index = self.rng.randint(0, self.pool_size - 1)
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


# --------------------------------------------------------------------- examples
@register_example(covers=[ResnetGenerator, ResnetBlock, cyclegan_discriminator, cycle_loss, identity_loss,
                          generator_objective, discriminator_objective, ImagePool])
def cyclegan_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({
        "G": ResnetGenerator(ngf=TINY.ngf, n_blocks=TINY.n_blocks),
        "F": ResnetGenerator(ngf=TINY.ngf, n_blocks=TINY.n_blocks),
        "D_X": cyclegan_discriminator(TINY),
        "D_Y": cyclegan_discriminator(TINY),
    })
    real_x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    real_y = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake_y = m["G"](x)
        pool = ImagePool(TINY.pool_size, random.Random(0))
        pooled = pool.query(fake_y)  # the pool fills first: the same images come back
        d_loss = discriminator_objective(m["D_Y"], y, pooled) + discriminator_objective(m["D_X"], x, m["F"](y))
        return fake_y, generator_objective(m["G"], m["F"], m["D_X"], m["D_Y"], x, y, TINY), d_loss

    return Example(model=model, inputs=(real_x, real_y), output_shapes=((2, 3, 32, 32), (), ()), run=run)
