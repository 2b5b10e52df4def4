"""Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks.

Alec Radford, Luke Metz, Soumith Chintala. ICLR 2016. arXiv:1511.06434.
Catalog id: ``dcgan``.

Implemented (Sec. 3 "architecture guidelines" and Fig. 1):

* All-convolutional nets: strided convolutions in D, fractionally-strided
  (transposed) convolutions in G; no pooling, no fully connected hidden layers.
* Batch normalisation in both nets, except G's output layer and D's input layer.
* ReLU in G with Tanh on the output; LeakyReLU (slope 0.2) in D.
* Sec. 4: weights initialised from N(0, 0.02) (BatchNorm scales from N(1, 0.02)
  and biases 0, as in the reference PyTorch code).
* The 64×64 configuration: z ∈ R^100 projected to 4×4×(8·ngf), then
  8 → 16 → 32 → 64; D mirrors it down to one score.

Parameter count: the standard 64×64 models (nz = 100, ngf = ndf = 64, 3
channels, bias-free convolutions) of the reference PyTorch implementation
(pytorch/examples ``dcgan/main.py``) have 3,576,704 (G) and 2,765,568 (D)
parameters: the sum of the 4×4 kernels 100·512 + 512·256 + 256·128 + 128·64 +
64·3 (×16) plus 2·(512+256+128+64) BatchNorm parameters for G, and 3·64 +
64·128 + 128·256 + 256·512 + 512·1 (×16) plus 2·(128+256+512) for D; tested.

Deviations from the paper:

* D returns a logit; the final sigmoid of the reference code is folded into
  the loss (``refimpl.gan.discriminator_loss``), which is numerically safer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .gan import discriminator_loss, generator_loss_nonsaturating
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DCGANConfig:
    nz: int = 100  # Sec. 4 / Fig. 1: 100-dimensional uniform (here normal) noise
    ngf: int = 64  # generator base width (Fig. 1 ends at 128·8 = 1024 for LSUN; reference code uses 64)
    ndf: int = 64  # discriminator base width (reference code)
    channels: int = 3  # RGB
    leaky_slope: float = 0.2  # Sec. 3: "slope of the leak was set to 0.2"
    init_std: float = 0.02  # Sec. 4: "zero-centered Normal distribution with standard deviation 0.02"


# pytorch/examples dcgan/main.py defaults (nz 100, ngf = ndf = 64, nc 3).
OFFICIAL = DCGANConfig()
TINY = DCGANConfig(nz=8, ngf=4, ndf=4)


# --------------------------------------------------------------------- models
def _up(c_in: int, c_out: int, stride: int, padding: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]


class DCGANGenerator(nn.Module):
    """z (N, nz, 1, 1) → image (N, C, 64, 64) in (−1, 1)."""

    def __init__(self, config: DCGANConfig = DCGANConfig()) -> None:
        super().__init__()
        ngf = config.ngf
        self.net = nn.Sequential(
            *_up(config.nz, ngf * 8, 1, 0),  # (N, 8ngf, 4, 4): the "project and reshape" step
            *_up(ngf * 8, ngf * 4, 2, 1),  # 8×8
            *_up(ngf * 4, ngf * 2, 2, 1),  # 16×16
            *_up(ngf * 2, ngf, 2, 1),  # 32×32
            nn.ConvTranspose2d(ngf, config.channels, 4, 2, 1, bias=False),  # 64×64, no BN on the output
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """Image (N, C, 64, 64) → logit (N,)."""

    def __init__(self, config: DCGANConfig = DCGANConfig()) -> None:
        super().__init__()
        ndf, slope = config.ndf, config.leaky_slope

        def down(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope, True)]

        self.net = nn.Sequential(
            nn.Conv2d(config.channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(slope, True),  # 32×32, no BN on input
            *down(ndf, ndf * 2),  # 16×16
            *down(ndf * 2, ndf * 4),  # 8×8
            *down(ndf * 4, ndf * 8),  # 4×4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),  # 1×1 score
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_weights(module: nn.Module, std: float = DCGANConfig.init_std) -> None:
    """Sec. 4 initialisation; use as ``model.apply(init_weights)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, std)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


def build_dcgan(config: DCGANConfig = DCGANConfig()) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """G and D with the paper's initialisation applied."""
    g, d = DCGANGenerator(config), DCGANDiscriminator(config)
    g.apply(lambda m: init_weights(m, config.init_std))
    d.apply(lambda m: init_weights(m, config.init_std))
    return g, d


# --------------------------------------------------------------------- examples
@register_example(covers=[DCGANGenerator, DCGANDiscriminator, init_weights, build_dcgan])
def dcgan_64() -> Example:
    g = seeded(0)
    gen, disc = build_dcgan(TINY)
    model = nn.ModuleDict({"G": gen, "D": disc})
    z = torch.randn(2, TINY.nz, 1, 1, generator=g)
    real = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, z: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m["G"](z)
        fake_logits = m["D"](fake)
        return fake, discriminator_loss(m["D"](real), fake_logits), generator_loss_nonsaturating(fake_logits)

    return Example(model=model, inputs=(z, real), output_shapes=((2, 3, 64, 64), (), ()), run=run)
