"""SinGAN: Learning a Generative Model from a Single Natural Image.

Tamar Rott Shaham, Tali Dekel, Tomer Michaeli. ICCV 2019. arXiv:1905.01164.
Catalog id: ``singan``.

Implemented:

* Sec. 2, a pyramid of images ``x_0 … x_N`` (coarse to fine here) obtained by
  down-sampling with a factor ``r`` slightly above 0.75: as in the authors'
  code, the number of scales is chosen for ``r_init = 0.75`` and ``r`` is then
  recomputed so that the coarsest image's short side is exactly ``min_size``.
* Eq. 2–3 / Fig. 4, the per-scale generator
  ``x̃_n = (x̃_{n+1})↑ʳ + ψ_n(z_n + (x̃_{n+1})↑ʳ)``: a fully convolutional
  5-layer net ``ψ_n`` (3×3 conv-BN-LeakyReLU ×4, 3×3 conv, Tanh) learns only
  the residual detail; its input is zero-padded by 5 so the output keeps the
  image size. At the coarsest scale the input is pure noise.
* Sec. 2.1, the per-scale Markovian (patch) discriminator with the same
  5-conv body (11×11 receptive field), WGAN-GP adversarial loss, and the
  reconstruction loss ``‖G_n(0, (x̃^rec_{n+1})↑ʳ) − x_n‖²`` with a fixed noise
  ``z*`` at the coarsest scale (weight α = 10).
* Sec. 2.1, the noise amplitude of each scale, proportional to the RMSE
  between ``x_n`` and the up-sampled reconstruction (0.1 × RMSE).
* Sec. 2 / Fig. 4, coarse-to-fine sampling through all scales.

* The widening schedule of the authors' ``training.py``: scale ``n``
  (0 = coarsest) has ``nfc = min_nfc = min(32 · 2^⌊n/4⌋, 128)`` channels in
  every layer of its generator and discriminator (``channels_at_scale``,
  ``scale_config``); ``SinGAN`` builds each scale at its own width.

Parameter count (official preset ``OFFICIAL``; tamarott/SinGAN @ 38759f7
``config.py`` defaults, ``SinGAN/models.py`` ``GeneratorConcatSkip2CleanAdd``
and ``WDiscriminator`` instantiated at each scale's width): generator /
discriminator 29,763 / 29,185 at 32 channels (scales 0–3: 896 + 64 head,
3 × (9,248 + 64) body, 867 tail; D tail 289), 114,819 / 113,665 at 64
(scales 4–7) and 450,819 / 448,513 at 128 (scales ≥ 8); tested.

Deviations from the paper:

* Resizing uses bilinear interpolation with antialiasing, not the authors'
  MATLAB-style bicubic ``imresize``; sizes are rounded up as there.
* The coarsest-scale noise has 3 channels (the authors draw 1 and replicate it).
* The gradient penalty is ``refimpl.stargan.gradient_penalty`` (WGAN-GP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .stargan import gradient_penalty


@dataclass(frozen=True)
class SinGANConfig:
    channels: int = 3
    nfc: int = 32  # authors' code: nfc = min_nfc = 32
    min_nfc: int = 32
    kernel_size: int = 3  # Sec. 2: 3×3 convolutions
    num_layers: int = 5  # Sec. 2: five conv blocks per scale
    scale_factor: float = 0.75  # r_init (authors' code), Sec. 2: "r"
    min_size: int = 25  # Sec. 3: coarsest scale ~25 px
    max_size: int = 250  # Sec. 3: finest scale ≤ 250 px
    noise_amp: float = 0.1  # noise amplitude relative to the reconstruction RMSE
    alpha: float = 10.0  # Eq. 4: reconstruction weight
    lambda_gp: float = 0.1  # authors' code: gradient-penalty weight
    max_nfc: int = 128  # authors' training.py: widths capped at 128


# tamarott/SinGAN config.py defaults (nfc = min_nfc = 32, ker_size 3, num_layer 5,
# scale_factor 0.75, min_size 25, max_size 250, noise_amp 0.1, alpha 10, lambda_grad 0.1).
OFFICIAL = SinGANConfig()


TINY = SinGANConfig(nfc=4, min_nfc=4, min_size=8, max_size=20)


# --------------------------------------------------------------------- pyramid
def pyramid_sizes(height: int, width: int, config: SinGANConfig = SinGANConfig()) -> tuple[list[tuple[int, int]], float]:
    """Sizes coarse → fine and the actual scale factor r (authors' ``adjust_scales2image``)."""
    r0 = config.scale_factor
    num_scales = math.ceil(math.log(config.min_size / min(height, width), r0)) + 1
    scale_to_stop = math.ceil(math.log(min(config.max_size, max(height, width)) / max(height, width), r0))
    stop_scale = num_scales - scale_to_stop
    scale1 = min(config.max_size / max(height, width), 1.0)  # the finest scale is at most max_size
    h1, w1 = math.ceil(height * scale1), math.ceil(width * scale1)
    r = (config.min_size / min(h1, w1)) ** (1 / stop_scale)
    def up(v: float) -> int:
        return math.ceil(v - 1e-9)  # round up like imresize, ignoring float noise (8.0000001 → 8)

    sizes = [(up(h1 * r ** (stop_scale - i)), up(w1 * r ** (stop_scale - i))) for i in range(stop_scale + 1)]
    return sizes, r


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def image_pyramid(image: torch.Tensor, config: SinGANConfig = SinGANConfig()) -> list[torch.Tensor]:
    """(1, C, H, W) → [x_N (coarsest), …, x_0 (finest)]."""
    sizes, _ = pyramid_sizes(image.shape[-2], image.shape[-1], config)
    return [resize(image, s) for s in sizes]


def channels_at_scale(scale: int, nfc_init: int = 32, cap: int = 128) -> int:
    """Authors' code: width doubles every 4 scales (scale 0 = coarsest), capped at ``cap``."""
    return min(nfc_init * 2 ** (scale // 4), cap)


def scale_config(config: SinGANConfig, scale: int) -> SinGANConfig:
    """The config of scale ``scale``: ``nfc`` and ``min_nfc`` both widened by ``channels_at_scale``."""
    return replace(config, nfc=channels_at_scale(scale, config.nfc, config.max_nfc),
                   min_nfc=channels_at_scale(scale, config.min_nfc, config.max_nfc))


# --------------------------------------------------------------------- networks
def _conv_block(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True))


def _body(config: SinGANConfig) -> tuple[nn.Sequential, int]:
    layers = [_conv_block(config.channels, config.nfc, config.kernel_size)]
    n = config.nfc
    for i in range(config.num_layers - 2):
        n = int(config.nfc / 2 ** (i + 1))
        layers.append(_conv_block(max(2 * n, config.min_nfc), max(n, config.min_nfc), config.kernel_size))
    return nn.Sequential(*layers), max(n, config.min_nfc)


class ScaleGenerator(nn.Module):
    """G_n(z, x↑) = x↑ + ψ(z + x↑): noise and up-sampled image (N, C, H, W) → (N, C, H, W)."""

    def __init__(self, config: SinGANConfig = SinGANConfig()) -> None:
        super().__init__()
        self.body, width = _body(config)
        self.tail = nn.Sequential(nn.Conv2d(width, config.channels, config.kernel_size), nn.Tanh())
        self.pad = config.num_layers * (config.kernel_size - 1) // 2  # 5: each valid 3×3 conv trims 1 px

    def forward(self, z: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        residual = self.tail(self.body(F.pad(z + prev, [self.pad] * 4)))
        return prev + residual


class ScaleDiscriminator(nn.Module):
    """Markovian critic: (N, C, H, W) → patch scores (N, 1, H − 10, W − 10) for the default config."""

    def __init__(self, config: SinGANConfig = SinGANConfig()) -> None:
        super().__init__()
        self.body, width = _body(config)
        self.tail = nn.Conv2d(width, 1, config.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(x))


class SinGAN(nn.Module):
    """The pyramid of generators G_N … G_0 (coarse → fine) with their noise amplitudes.

    Generator ``n`` (0 = coarsest) is built with ``scale_config(config, n)``.
    """

    def __init__(self, num_scales: int, config: SinGANConfig = SinGANConfig()) -> None:
        super().__init__()
        self.generators = nn.ModuleList(ScaleGenerator(scale_config(config, n)) for n in range(num_scales))
        self.register_buffer("noise_amps", torch.ones(num_scales))

    def sample(self, noises: list[torch.Tensor]) -> list[torch.Tensor]:
        """Coarse-to-fine generation; ``noises[n]`` has scale n's size. Returns every scale's output."""
        outputs = []
        prev = torch.zeros_like(noises[0])  # nothing to refine at the coarsest scale: pure noise in
        for n, (g, z) in enumerate(zip(self.generators, noises, strict=True)):
            prev = resize(prev, z.shape[-2:]) if n else prev
            prev = g(self.noise_amps[n] * z, prev)
            outputs.append(prev)
        return outputs

    def reconstruct(self, z_star: torch.Tensor, sizes: list[tuple[int, int]]) -> list[torch.Tensor]:
        """The reconstruction path: fixed ``z*`` at the coarsest scale, zero noise elsewhere."""
        noises = [z_star] + [z_star.new_zeros(z_star.shape[0], z_star.shape[1], *s) for s in sizes[1:]]
        return self.sample(noises)


# --------------------------------------------------------------------- losses
def noise_amplitude(real: torch.Tensor, rec_up: torch.Tensor, base: float = 0.1) -> torch.Tensor:
    """σ_n = base · RMSE(x_n, (x̃^rec_{n+1})↑): more noise where the coarser scale explains less."""
    return base * F.mse_loss(rec_up, real).sqrt()


def reconstruction_loss(g: ScaleGenerator, real: torch.Tensor, rec_up: torch.Tensor, alpha: float = 10.0) -> torch.Tensor:
    """Eq. 4 (× α): ‖G_n(0, (x̃^rec_{n+1})↑) − x_n‖² (mean squared error)."""
    return alpha * F.mse_loss(g(torch.zeros_like(rec_up), rec_up), real)


def discriminator_loss(d: ScaleDiscriminator, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                       lambda_gp: float = 0.1) -> torch.Tensor:
    """WGAN-GP critic loss on patch scores: −D(x) + D(x̃) + λ GP."""
    return -d(real).mean() + d(fake.detach()).mean() + lambda_gp * gradient_penalty(d, real, fake, alpha)


def generator_adversarial_loss(d: ScaleDiscriminator, fake: torch.Tensor) -> torch.Tensor:
    return -d(fake).mean()


# --------------------------------------------------------------------- examples
@register_example(covers=[ScaleGenerator, ScaleDiscriminator, reconstruction_loss, discriminator_loss,
                          generator_adversarial_loss, noise_amplitude])
def singan_scale() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": ScaleGenerator(TINY), "D": ScaleDiscriminator(TINY)})
    real = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    prev = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    z = torch.randn(1, 3, 16, 16, generator=g)
    alpha = torch.rand(1, 1, 1, 1, generator=g)

    def run(m: nn.ModuleDict, real: torch.Tensor, prev: torch.Tensor, z: torch.Tensor, alpha: torch.Tensor):
        amp = noise_amplitude(real, prev)
        fake = m["G"](amp * z, prev)
        return (fake, m["D"](real), discriminator_loss(m["D"], real, fake, alpha),
                generator_adversarial_loss(m["D"], fake) + reconstruction_loss(m["G"], real, prev))

    return Example(model=model, inputs=(real, prev, z, alpha),
                   output_shapes=((1, 3, 16, 16), (1, 1, 6, 6), (), ()), run=run)


@register_example(covers=[SinGAN, image_pyramid, pyramid_sizes, channels_at_scale, scale_config])
def singan_sampling() -> Example:
    g = seeded(0)
    image = torch.rand(1, 3, 20, 30, generator=g)
    pyramid = image_pyramid(image, TINY)
    model = SinGAN(len(pyramid), TINY)
    noises = tuple(torch.randn(1, 3, *p.shape[-2:], generator=g) for p in pyramid)
    assert channels_at_scale(0, TINY.nfc) == TINY.nfc
    shapes = tuple((1, 3, *p.shape[-2:]) for p in pyramid)
    return Example(model=model, inputs=noises, output_shapes=shapes, run=lambda m, *zs: m.sample(list(zs)))
