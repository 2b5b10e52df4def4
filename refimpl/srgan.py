"""Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network.

Christian Ledig, Lucas Theis, Ferenc Huszár, et al. CVPR 2017.
arXiv:1609.04802. Catalog id: ``srgan``.

Implemented:

* Sec. 2.2 / Fig. 4, the generator (SRResNet): a 9×9 conv + PReLU, B = 16
  residual blocks (3×3 conv, batch norm, PReLU, 3×3 conv, batch norm, skip),
  a 3×3 conv + BN with a long skip, two sub-pixel convolution blocks (conv to
  4·64 channels, pixel shuffle ×2, PReLU) for ×4, and a final 9×9 conv.
* Fig. 4, the discriminator: eight 3×3 convs (64, 64, 128, 128, 256, 256,
  512, 512 channels, stride 2 on every second), leaky ReLU (α = 0.2), batch
  norm after the first, then dense 1024, leaky ReLU and dense 1 (a logit).
* Eq. 3–6, the perceptual loss ``l^SR = l^SR_X + 10⁻³ l^SR_Gen``: the content
  loss is the MSE between feature maps φ of the super-resolved and the
  reference image (``φ`` = VGG19 relu5_4 in the paper, any extractor here),
  the adversarial loss is ``−log D(G(I^LR))``.

Parameter count: the standard SRResNet (``SRResNetConfig()``) has 1,549,462
parameters, the sum over the layers of Fig. 4 with one PReLU slope per
layer (PyTorch's default): 15,616 (9×9 conv) + 1 + 16 × 74,113 (residual
blocks) + 37,056 (conv + BN) + 2 × 147,713 (sub-pixel blocks) + 15,555
(9×9 conv). The discriminator has 23,565,505 (eight convs with biases, batch
norm γ and β after all but the first, dense 512·6·6 → 1024 → 1 at 96×96).

Official code: none released by the authors (the paper links none), so
there is no ``OFFICIAL`` preset: the defaults pin the paper's own numbers (Fig. 4, Sec. 2.2, Sec. 3.2,
Eq. 3) and the counts above follow the figure; tested.

Deviations from the paper:

* ``φ`` is any feature extractor: VGG19 weights cannot be downloaded here.
  Pass e.g. torchvision's ``vgg19(weights=...).features[:36]`` for VGG54, and
  rescale by 1/12.75 as Sec. 3.2 does (``SRGANConfig.vgg_rescale``).
* The discriminator returns a logit; the sigmoid lives in the loss
  (``binary_cross_entropy_with_logits``) for numerical stability.
* Eq. 6 sums ``−log D(G(I^LR))`` over the training samples; here it is
  averaged over the batch (a constant factor per batch size).
* The figure does not say whether PReLU slopes are shared; one slope per
  layer (PyTorch's default) is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class SRGANConfig:
    channels: int = 64  # Fig. 4: k3n64s1
    num_blocks: int = 16  # Sec. 2.2: B = 16 residual blocks
    scale: int = 4  # Sec. 3.1: ×4 upscaling
    img_channels: int = 3
    adversarial_weight: float = 1e-3  # Eq. 3: 10⁻³ · l_Gen
    vgg_rescale: float = 1 / 12.75  # Sec. 3.2: VGG losses scaled by 1/12.75
    disc_widths: tuple[int, ...] = (64, 64, 128, 128, 256, 256, 512, 512)  # Fig. 4, D
    disc_hidden: int = 1024  # Fig. 4, D: dense 1024
    hr_size: int = 96  # Sec. 3.2: 96×96 HR crops


TINY = SRGANConfig(channels=8, num_blocks=2, disc_widths=(4, 4, 8, 8), disc_hidden=16, hr_size=16)


# --------------------------------------------------------------------- generator
class ResidualBlock(nn.Module):
    """conv3×3 – BN – PReLU – conv3×3 – BN, plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SubPixelUpsample(nn.Sequential):
    """Sub-pixel convolution (Shi et al.): conv to r²·C channels, pixel shuffle ×r, PReLU."""

    def __init__(self, channels: int, factor: int = 2) -> None:
        super().__init__(nn.Conv2d(channels, channels * factor**2, 3, padding=1), nn.PixelShuffle(factor), nn.PReLU())


class SRResNet(nn.Module):
    """Generator: low-resolution (N, 3, h, w) → super-resolved (N, 3, 4h, 4w)."""

    def __init__(self, config: SRGANConfig = SRGANConfig()) -> None:
        super().__init__()
        c = config.channels
        self.head = nn.Sequential(nn.Conv2d(config.img_channels, c, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*(ResidualBlock(c) for _ in range(config.num_blocks)))
        self.body_end = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))
        n_up = config.scale.bit_length() - 1  # ×4 = two ×2 blocks
        if 2**n_up != config.scale:
            raise ValueError(f"scale must be a power of two, got {config.scale}")
        self.upsample = nn.Sequential(*(SubPixelUpsample(c) for _ in range(n_up)))
        self.tail = nn.Conv2d(c, config.img_channels, 9, padding=4)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = self.head(lr)
        x = x + self.body_end(self.blocks(x))  # long skip over all residual blocks
        return self.tail(self.upsample(x))


# --------------------------------------------------------------------- discriminator
class SRGANDiscriminator(nn.Module):
    """VGG-style D of Fig. 4: image (N, 3, S, S) → logit (N, 1); S = config.hr_size."""

    def __init__(self, config: SRGANConfig = SRGANConfig()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = config.img_channels
        for i, c_out in enumerate(config.disc_widths):
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=1 + i % 2, padding=1))
            if i > 0:  # no batch norm after the first conv
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        side = config.hr_size // 2 ** (len(config.disc_widths) // 2)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c_in * side * side, config.disc_hidden), nn.LeakyReLU(0.2),
            nn.Linear(config.disc_hidden, 1),
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(img))


# --------------------------------------------------------------------- losses
def content_loss(features: Callable[[torch.Tensor], torch.Tensor], sr: torch.Tensor, hr: torch.Tensor,
                 rescale: float = 1.0) -> torch.Tensor:
    """Eq. 5: MSE between φ(G(I^LR)) and φ(I^HR), for any feature extractor φ."""
    return F.mse_loss(rescale * features(sr), rescale * features(hr))


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 6: −log D(G(I^LR)), averaged over the batch."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 2: −log D(I^HR) − log(1 − D(G(I^LR)))."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def perceptual_loss(features: Callable[[torch.Tensor], torch.Tensor], sr: torch.Tensor, hr: torch.Tensor,
                    fake_logits: torch.Tensor, config: SRGANConfig = SRGANConfig()) -> torch.Tensor:
    """Eq. 3: l^SR = l^SR_X + 10⁻³ · l^SR_Gen."""
    return (content_loss(features, sr, hr, config.vgg_rescale)
            + config.adversarial_weight * generator_adversarial_loss(fake_logits))


# --------------------------------------------------------------------- examples
@register_example(covers=[SRResNet, SRGANDiscriminator, ResidualBlock, SubPixelUpsample, content_loss,
                          generator_adversarial_loss, discriminator_loss, perceptual_loss])
def srgan_x4() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": SRResNet(TINY), "D": SRGANDiscriminator(TINY),
                           "phi": nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())})
    lr = torch.rand(2, 3, 4, 4, generator=g)
    hr = torch.rand(2, 3, 16, 16, generator=g)

    def run(m: nn.ModuleDict, lr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sr = m["G"](lr)
        fake = m["D"](sr)
        return sr, perceptual_loss(m["phi"], sr, hr, fake, TINY), discriminator_loss(m["D"](hr), fake)

    return Example(model=model, inputs=(lr, hr), output_shapes=((2, 3, 16, 16), (), ()), run=run)
