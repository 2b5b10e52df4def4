"""ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks.

Xintao Wang, Ke Yu, Shixiang Wu, Jinjin Gu, Yihao Liu, Chao Dong, Chen Change
Loy, Yu Qiao, Xiaoou Tang. ECCV 2018 Workshops. arXiv:1809.00219.
Catalog id: ``esrgan``.

Implemented:

* Sec. 3.1 / Fig. 4, the Residual-in-Residual Dense Block (RRDB): three
  dense blocks of five 3×3 convs (growth 32, leaky ReLU, each conv sees all
  previous features), each dense block and the whole RRDB added back to its
  input after scaling by the residual scaling β = 0.2; no batch norm.
* Sec. 3.1, "smaller initialization": the dense blocks' convs start from
  Kaiming-normal weights scaled by 0.1 and zero biases
  (``ESRGANConfig.init_scale``; BasicSR ``default_init_weights(..., 0.1)``).
* Fig. 3 and the authors' ``RRDBNet``: conv, 23 RRDBs, conv, a long skip,
  two (nearest ×2 → conv → leaky ReLU) upsampling steps, conv, conv.
* Sec. 3.2, the relativistic average discriminator
  ``D_Ra(x_r, x_f) = σ(C(x_r) − E_{x_f}[C(x_f)])`` and its losses
  ``L_D^Ra`` and ``L_G^Ra`` (Eq. 1–2), each the average of its two terms as
  the authors train them (see Deviations).
* Sec. 3.3 / Eq. 3, the generator objective
  ``L_G = L_percep + λ L_G^Ra + η L_1`` with λ = 5·10⁻³, η = 10⁻²; the
  perceptual loss ``L_percep`` is the L1 distance between VGG19 features
  *before activation* (conv5_4), as in the authors' training options
  (BasicSR ``train_ESRGAN_x4.yml``: ``criterion: l1``, ``conv5_4``).
* Sec. 3.4, network interpolation
  ``θ_G^INTERP = (1 − α) θ_G^PSNR + α θ_G^GAN``.

Parameter count: the standard RRDBNet (``ESRGANConfig()``: 64 features,
growth 32, 23 RRDBs, ×4) has 16,697,987 parameters, the sum over the layers
of the official ``RRDBNet_arch.py`` (xinntao/ESRGAN @ 73e9b63):
1,792 (conv_first) + 23 × 3 × 239,808 (dense blocks: 18,464 + 27,680 +
36,896 + 46,112 + 110,656) + 4 × 36,928 (trunk_conv, upconv1, upconv2,
HRconv) + 1,731 (conv_last) = 1,792 + 16,546,752 + 147,712 + 1,731; tested.
``OFFICIAL`` is that preset (``RRDBNet(3, 3, 64, 23, gc=32)``).

Reuse: the VGG-style discriminator (used as the relativistic critic C) is
SRGAN's (``refimpl.srgan``), which ESRGAN builds on; RRDBNet replaces
SRResNet's BN residual blocks and sub-pixel upsampling, and the L1 feature
distance replaces SRGAN's MSE content loss.

Deviations from the paper:

* The discriminator is SRGAN's (``refimpl.srgan.SRGANDiscriminator``); the
  authors' 128×128 VGG discriminator differs only in depth and widths.
* The perceptual feature extractor is any module (VGG19 conv5_4 before
  ReLU in the paper); no pretrained weights are downloaded.
* Eq. 1–2 write each relativistic loss as the *sum* of its two terms; the
  authors' training code averages them (BasicSR ``esrgan_model.py``:
  ``(l_g_real + l_g_fake) / 2`` and ``0.5 ×`` each critic term), and
  λ = 5·10⁻³ was tuned with the average. We average, so λ means what it
  meant in training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .srgan import SRGANConfig, SRGANDiscriminator


@dataclass(frozen=True)
class ESRGANConfig:
    features: int = 64  # authors' code: nf = 64
    growth: int = 32  # authors' code: gc = 32 (dense-block growth channels)
    num_blocks: int = 23  # Sec. 4.1: 23 RRDBs
    scale: int = 4  # ×4 super-resolution
    img_channels: int = 3
    beta: float = 0.2  # Sec. 3.1: residual scaling β = 0.2
    init_scale: float = 0.1  # Sec. 3.1: smaller initialisation, Kaiming × 0.1 (dense blocks)
    perceptual_weight: float = 1.0  # Eq. 3: L_percep unweighted
    adversarial_weight: float = 5e-3  # Sec. 4.1: λ = 5 × 10⁻³
    l1_weight: float = 1e-2  # Sec. 4.1: η = 1 × 10⁻²


# xinntao/ESRGAN RRDBNet_arch.py (test.py: RRDBNet(3, 3, 64, 23, gc=32)), ×4.
OFFICIAL = ESRGANConfig()


TINY = ESRGANConfig(features=8, growth=4, num_blocks=2)


# --------------------------------------------------------------------- blocks
def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3×3 convs; output ``x + β · conv5(...)``.

    Weights start Kaiming-normal (fan-in, gain √2) scaled by ``init_scale``,
    biases at zero (Sec. 3.1: smaller initialisation eases training a deep net).
    """

    def __init__(self, features: int = 64, growth: int = 32, beta: float = 0.2, init_scale: float = 0.1) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(features + i * growth, growth, 3, padding=1) for i in range(4))
        self.conv_out = nn.Conv2d(features + 4 * growth, features, 3, padding=1)
        self.beta = beta
        for conv in [*self.convs, self.conv_out]:
            nn.init.kaiming_normal_(conv.weight)
            with torch.no_grad():
                conv.weight.mul_(init_scale)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs:
            feats.append(_lrelu(conv(torch.cat(feats, dim=1))))
        return x + self.beta * self.conv_out(torch.cat(feats, dim=1))  # no activation on the last conv


class RRDB(nn.Module):
    """Residual in residual: three dense blocks, then ``x + β · body(x)``."""

    def __init__(self, features: int = 64, growth: int = 32, beta: float = 0.2, init_scale: float = 0.1) -> None:
        super().__init__()
        self.body = nn.Sequential(*(ResidualDenseBlock(features, growth, beta, init_scale) for _ in range(3)))
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.beta * self.body(x)


class RRDBNet(nn.Module):
    """Generator: (N, 3, h, w) → (N, 3, 4h, 4w), without batch norm."""

    def __init__(self, config: ESRGANConfig = ESRGANConfig()) -> None:
        super().__init__()
        nf = config.features
        self.conv_first = nn.Conv2d(config.img_channels, nf, 3, padding=1)
        self.trunk = nn.Sequential(*(RRDB(nf, config.growth, config.beta, config.init_scale) for _ in range(config.num_blocks)))
        self.trunk_conv = nn.Conv2d(nf, nf, 3, padding=1)
        n_up = config.scale.bit_length() - 1
        if 2**n_up != config.scale:
            raise ValueError(f"scale must be a power of two, got {config.scale}")
        self.upconvs = nn.ModuleList(nn.Conv2d(nf, nf, 3, padding=1) for _ in range(n_up))
        self.hr_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, config.img_channels, 3, padding=1)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = self.conv_first(lr)
        x = x + self.trunk_conv(self.trunk(x))  # long skip
        for conv in self.upconvs:  # nearest-neighbour ×2, then conv (authors' code)
            x = _lrelu(conv(F.interpolate(x, scale_factor=2, mode="nearest")))
        return self.conv_last(_lrelu(self.hr_conv(x)))


# --------------------------------------------------------------------- relativistic average GAN
def relativistic_logits(c_real: torch.Tensor, c_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of D_Ra(x_r, x_f) and D_Ra(x_f, x_r): C(x) minus the other batch's mean C."""
    return c_real - c_fake.mean(), c_fake - c_real.mean()


def discriminator_ra_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 1, averaged: ½(−E[log D_Ra(x_r, x_f)] − E[log(1 − D_Ra(x_f, x_r))])."""
    real_vs_fake, fake_vs_real = relativistic_logits(c_real, c_fake)
    return 0.5 * (F.binary_cross_entropy_with_logits(real_vs_fake, torch.ones_like(real_vs_fake))
                  + F.binary_cross_entropy_with_logits(fake_vs_real, torch.zeros_like(fake_vs_real)))


def generator_ra_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 2, averaged: ½(−E[log(1 − D_Ra(x_r, x_f))] − E[log D_Ra(x_f, x_r)]); both terms carry gradients."""
    real_vs_fake, fake_vs_real = relativistic_logits(c_real, c_fake)
    return 0.5 * (F.binary_cross_entropy_with_logits(real_vs_fake, torch.zeros_like(real_vs_fake))
                  + F.binary_cross_entropy_with_logits(fake_vs_real, torch.ones_like(fake_vs_real)))


def perceptual_loss(features: Callable[[torch.Tensor], torch.Tensor], sr: torch.Tensor,
                    hr: torch.Tensor) -> torch.Tensor:
    """Sec. 3.3: L1 distance between features before activation (VGG19 conv5_4); the target is constant."""
    return F.l1_loss(features(sr), features(hr).detach())


def generator_loss(features: Callable[[torch.Tensor], torch.Tensor], sr: torch.Tensor, hr: torch.Tensor,
                   c_real: torch.Tensor, c_fake: torch.Tensor, config: ESRGANConfig = ESRGANConfig()) -> torch.Tensor:
    """Eq. 3: L_G = L_percep + λ L_G^Ra + η L_1."""
    return (config.perceptual_weight * perceptual_loss(features, sr, hr)
            + config.adversarial_weight * generator_ra_loss(c_real, c_fake)
            + config.l1_weight * F.l1_loss(sr, hr))


# --------------------------------------------------------------------- network interpolation
def interpolate_networks(net_psnr: nn.Module, net_gan: nn.Module, alpha: float) -> dict[str, torch.Tensor]:
    """Sec. 3.4: the state (1 − α) θ_PSNR + α θ_GAN, tensor by tensor.

    Returns parameters and buffers by name (load it with ``load_state_dict``
    or call the network with ``torch.func.functional_call``); gradients flow
    back to both networks. Written as a weighted sum (not ``lerp``) so that
    α = 0 and α = 1 return each network's values bit for bit. Non-float
    buffers are taken from the PSNR network.
    """
    psnr = {**dict(net_psnr.named_parameters()), **dict(net_psnr.named_buffers())}
    gan = {**dict(net_gan.named_parameters()), **dict(net_gan.named_buffers())}
    if psnr.keys() != gan.keys() or any(psnr[k].shape != gan[k].shape for k in psnr):
        raise ValueError("networks to interpolate must share one architecture")
    return {k: (1.0 - alpha) * v + alpha * gan[k] if v.is_floating_point() else v.clone() for k, v in psnr.items()}


# --------------------------------------------------------------------- examples
@register_example(covers=[RRDBNet, RRDB, ResidualDenseBlock, relativistic_logits, discriminator_ra_loss,
                          generator_ra_loss, generator_loss, perceptual_loss])
def esrgan_x4() -> Example:
    g = seeded(0)
    d_config = SRGANConfig(disc_widths=(4, 4, 8, 8), disc_hidden=8, hr_size=16)
    model = nn.ModuleDict({"G": RRDBNet(TINY), "D": SRGANDiscriminator(d_config),
                           "phi": nn.Conv2d(3, 4, 3, padding=1)})  # features before activation
    lr = torch.rand(2, 3, 4, 4, generator=g)
    hr = torch.rand(2, 3, 16, 16, generator=g)

    def run(m: nn.ModuleDict, lr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sr = m["G"](lr)
        c_real, c_fake = m["D"](hr), m["D"](sr)
        return sr, generator_loss(m["phi"], sr, hr, c_real, c_fake, TINY), discriminator_ra_loss(c_real, c_fake)

    return Example(model=model, inputs=(lr, hr), output_shapes=((2, 3, 16, 16), (), ()), run=run)


@register_example(covers=[interpolate_networks])
def esrgan_network_interpolation() -> Example:
    seeded(0)
    psnr, gan = RRDBNet(TINY), RRDBNet(TINY)
    model = nn.ModuleDict({"psnr": psnr, "gan": gan})
    lr = torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(1))

    def run(m: nn.ModuleDict, lr: torch.Tensor) -> torch.Tensor:
        theta = interpolate_networks(m["psnr"], m["gan"], 0.8)
        return torch.func.functional_call(m["psnr"], theta, (lr,))

    return Example(model=model, inputs=(lr,), output_shapes=((1, 3, 16, 16),), run=run)
