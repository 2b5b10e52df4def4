"""Least Squares Generative Adversarial Networks.

Xudong Mao, Qing Li, Haoran Xie, Raymond Y. K. Lau, Zhen Wang, Stephen Paul
Smolley. ICCV 2017. arXiv:1611.04076. Catalog id: ``lsgan``.

Implemented:

* Eq. 2, the least-squares objectives with the a-b-c coding:
  ``min_D ½ E_{x~p_d}[(D(x) − b)²] + ½ E_z[(D(G(z)) − a)²]`` and
  ``min_G ½ E_z[(D(G(z)) − c)²]``.
* The two codings of Sec. 3.2.3: ``a = −1, b = 1, c = 0`` (Eq. 8, the one
  satisfying b − c = 1 and b − a = 2) and the 0-1 coding ``a = 0, b = c = 1``
  (Eq. 9).
* Sec. 3.2.2, the theory: for fixed G the optimal discriminator is
  ``D*(x) = (b p_d(x) + a p_g(x)) / (p_d(x) + p_g(x))`` (Eq. 4), and with
  b − c = 1, b − a = 2 the generator's objective (with the extra term
  ``½ E_{p_d}[(D(x) − c)²]``, which does not depend on G) becomes
  ``2C(G) = ∫ (2p_g − (p_d + p_g))² / (p_d + p_g) dx``, the Pearson χ²
  divergence χ²(p_d + p_g ‖ 2p_g) (Eq. 7), minimised only at p_g = p_d.
* Fig. 3a/3b, the 112 × 112 LSUN architectures: G is a linear layer to
  7 × 7 × 256 and transposed 3 × 3 convs (256 s2, 256 s1, 256 s2, 256 s1,
  128 s2, 64 s2, 3 s1) with BN + ReLU; D is four 5 × 5 stride-2 convs
  (64, 128, 256, 512) with BN + leaky ReLU and a linear output — no sigmoid,
  since the loss is a least-squares regression on the raw output.

The extended version (Mao et al., "On the Effectiveness of Least Squares
Generative Adversarial Networks", TPAMI 2018, arXiv:1712.06391, catalog id
``lsgan-effectiveness``), Sec. 3.2, adds:

* the whole family of codings with the χ² property, ``b − c = 1`` and
  ``b − a = 2`` (``is_chi2_coding``, ``chi2_coding(b)``: ``(b − 2, b, b − 1)``),
  of which Eq. 8's ``(−1, 1, 0)`` is the member with ``b = 1``;
* the generator's objective at the optimal discriminator for *any* coding,
  ``C(G) = ½ E_{p_d}[(D* − c)²] + ½ E_{p_g}[(D* − c)²]``
  (``generator_objective_at_optimal_d``), which equals ``½ χ²`` for every
  member of that family and not otherwise.

Parameter count: not claimed; the authors' code is TensorFlow and its
layer list was not cross-checked against Fig. 3.

Deviations from the paper:

* Transposed convs use padding 1 / output padding 1 to reproduce the
  figure's sizes exactly (TensorFlow's "SAME" padding in the paper).
* The default coding is Eq. 8's χ² coding ``(−1, 1, 0)``; the authors' code
  (xudonmao/LSGAN @ 3b13d36, ``mcgan.py`` ``loss_l2``) trains with the 0-1
  coding ``(0, 1, 1)`` (``OFFICIAL_CODING``) and ``tf.nn.l2_loss`` (a ½·sum
  per sample, averaged over the batch); ours is ½·mean, a constant factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class LSGANConfig:
    a: float = -1.0  # Eq. 8: label of fake data for D
    b: float = 1.0  # Eq. 8: label of real data for D
    c: float = 0.0  # Eq. 8: value G wants D to give its samples
    z_dim: int = 1024  # Fig. 3a: z is 1024-dimensional
    g_widths: tuple[int, ...] = (256, 256, 256, 256, 128, 64)  # Fig. 3a deconv widths
    g_strides: tuple[int, ...] = (2, 1, 2, 1, 2, 2)  # Fig. 3a: 7 → 14 → 14 → 28 → 28 → 56 → 112
    base: int = 7  # Fig. 3a: 7 × 7 × 256 after the linear layer
    d_widths: tuple[int, ...] = (64, 128, 256, 512)  # Fig. 3b conv widths, 5 × 5 stride 2
    img_channels: int = 3


CHI2_CODING = (-1.0, 1.0, 0.0)  # (a, b, c), Eq. 8
ZERO_ONE_CODING = (0.0, 1.0, 1.0)  # (a, b, c), Eq. 9
OFFICIAL_CODING = ZERO_ONE_CODING  # xudonmao/LSGAN mcgan.py loss_l2: D → 1 / 0, G → 1
TINY = LSGANConfig(z_dim=8, g_widths=(8, 4), g_strides=(2, 2), base=4, d_widths=(4, 8))


# --------------------------------------------------------------------- losses
def lsgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor, a: float = -1.0, b: float = 1.0) -> torch.Tensor:
    """Eq. 2 (D): ½ E[(D(x) − b)²] + ½ E[(D(G(z)) − a)²]."""
    return 0.5 * ((d_real - b) ** 2).mean() + 0.5 * ((d_fake - a) ** 2).mean()


def lsgan_g_loss(d_fake: torch.Tensor, c: float = 0.0) -> torch.Tensor:
    """Eq. 2 (G): ½ E[(D(G(z)) − c)²]."""
    return 0.5 * ((d_fake - c) ** 2).mean()


# --------------------------------------------------------------------- theory (Sec. 3.2.2)
def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor, a: float = -1.0, b: float = 1.0) -> torch.Tensor:
    """Eq. 4: D*(x) = (b p_d + a p_g) / (p_d + p_g), pointwise on densities."""
    return (b * p_data + a * p_g) / (p_data + p_g)


def pearson_chi2(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """Eq. 7: χ²_Pearson(p_d + p_g ‖ 2p_g) = Σ (2p_g − (p_d + p_g))² / (p_d + p_g) on a discrete support."""
    m = p_data + p_g
    return ((2 * p_g - m) ** 2 / m).sum()


# --------------------------------------------------------------------- extended version (arXiv:1712.06391)
def is_chi2_coding(a: float, b: float, c: float) -> bool:
    """Sec. 3.2 of the extended paper: the conditions b − c = 1 and b − a = 2 that give the χ² link."""
    return b - c == 1 and b - a == 2


def chi2_coding(b: float = 1.0) -> tuple[float, float, float]:
    """The member (a, b, c) = (b − 2, b, b − 1) of the χ² family; b = 1 is Eq. 8."""
    return b - 2.0, b, b - 1.0


def generator_objective_at_optimal_d(p_data: torch.Tensor, p_g: torch.Tensor, a: float = -1.0, b: float = 1.0,
                                     c: float = 0.0) -> torch.Tensor:
    """C(G) = ½ Σ p_d (D* − c)² + ½ Σ p_g (D* − c)² on a discrete support, D* of Eq. 4.

    For a χ² coding this is ½ ``pearson_chi2(p_data, p_g)`` (Eq. 7); for
    other codings (e.g. 0-1) it is not a divergence.
    """
    d = optimal_discriminator(p_data, p_g, a, b)
    return 0.5 * (p_data * (d - c) ** 2).sum() + 0.5 * (p_g * (d - c) ** 2).sum()


# --------------------------------------------------------------------- networks (Fig. 3)
class LSGANGenerator(nn.Module):
    """z (N, z_dim) → image (N, C, base·2^s, base·2^s), s = number of stride-2 layers."""

    def __init__(self, config: LSGANConfig = LSGANConfig()) -> None:
        super().__init__()
        self.config = config
        w0 = config.g_widths[0]
        self.fc = nn.Sequential(nn.Linear(config.z_dim, config.base * config.base * w0), nn.BatchNorm1d(config.base * config.base * w0), nn.ReLU())
        layers: list[nn.Module] = []
        c = w0
        for width, stride in zip(config.g_widths, config.g_strides, strict=True):
            layers += [nn.ConvTranspose2d(c, width, 3, stride, padding=1, output_padding=stride - 1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU()]
            c = width
        layers += [nn.ConvTranspose2d(c, config.img_channels, 3, 1, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self.config.g_widths[0], self.config.base, self.config.base)
        return self.net(h)


class LSGANDiscriminator(nn.Module):
    """Image (N, C, H, W) → raw score (N,): no sigmoid, the loss regresses it to a or b."""

    def __init__(self, config: LSGANConfig = LSGANConfig(), image_size: int = 112) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = config.img_channels
        size = image_size
        for i, width in enumerate(config.d_widths):
            layers.append(nn.Conv2d(c, width, 5, 2, padding=2, bias=i == 0))
            if i > 0:  # DCGAN practice: no BN on the first layer
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2))
            c, size = width, (size + 1) // 2
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * size * size, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


# --------------------------------------------------------------------- examples
@register_example(covers=[LSGANGenerator, LSGANDiscriminator, lsgan_d_loss, lsgan_g_loss])
def lsgan_step() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": LSGANGenerator(TINY), "D": LSGANDiscriminator(TINY, image_size=16)})
    z = torch.randn(2, TINY.z_dim, generator=g)
    real = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, z: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m["G"](z)
        d_fake = m["D"](fake)
        return fake, lsgan_d_loss(m["D"](real), d_fake), lsgan_g_loss(d_fake)

    return Example(model=model, inputs=(z, real), output_shapes=((2, 3, 16, 16), (), ()), run=run)


@register_example(covers=[optimal_discriminator, pearson_chi2, generator_objective_at_optimal_d, is_chi2_coding,
                          chi2_coding])
def lsgan_theory() -> Example:
    g = seeded(0)
    p_data = torch.softmax(torch.randn(6, generator=g), 0).requires_grad_(True)
    p_g = torch.softmax(torch.randn(6, generator=g), 0).requires_grad_(True)

    def run(_m: nn.Module, p_d: torch.Tensor, p_g: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a, b, c = chi2_coding(2.0)
        assert is_chi2_coding(a, b, c)
        return (optimal_discriminator(p_d, p_g), pearson_chi2(p_d, p_g),
                generator_objective_at_optimal_d(p_d, p_g, a, b, c))

    return Example(model=nn.Module(), inputs=(p_data, p_g), output_shapes=((6,), (), ()), run=run)
