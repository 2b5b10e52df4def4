"""A Style-Based Generator Architecture for Generative Adversarial Networks.

Tero Karras, Samuli Laine, Timo Aila. CVPR 2019. arXiv:1812.04948.
Catalog id: ``stylegan``.

Implemented:

* Sec. 2 / Fig. 1 (b), the mapping network ``f: Z → W``: pixel norm of z,
  then 8 fully connected 512-wide layers with leaky ReLU, learning rate
  multiplier 0.01 (App. C), built from Progressive GAN's equalized-LR layer.
* Eq. 1, style modulation by AdaIN: a learned affine map A turns w into a
  style ``y = (y_s, y_b)`` per channel and
  ``AdaIN(x_i, y) = y_s,i (x_i − μ(x_i)) / σ(x_i) + y_b,i`` (μ, σ from
  ``refimpl.adain``).
* Sec. 2, the synthesis network: a learned 4×4×512 constant, two 3×3 conv
  layers per resolution, each followed by per-pixel noise (B: a learned
  per-channel scale of one single-channel Gaussian noise image) and AdaIN.
* Sec. 3.1, style mixing: ``w₁`` drives the layers before a crossover
  point, ``w₂`` the layers from it on.
* Sec. 3.3 / Eq. (truncation trick in W): ``w′ = w̄ + ψ (w − w̄)``, with w̄ an
  exponential moving average of mapped latents, applied to the first
  ``cutoff`` layers (8 in the authors' code).

Parameter count: the standard mapping network has 2,101,248 parameters,
8 × (512·512 + 512), the layers of the official ``G_mapping``
(NVlabs/stylegan, ``training/networks_stylegan.py``); tested.

Deviations from the paper:

* No blur (binomial filter) after upsampling and no progressive growing:
  the module keeps the parts that define the style-based generator.
* The discriminator and the training loop are Progressive GAN's and are
  not repeated here (see ``refimpl.progan``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .adain import calc_mean_std
from .progan import EqualizedConv2d, EqualizedLinear, pixel_norm
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class StyleGANConfig:
    z_dim: int = 512  # Sec. 2: 512-dimensional Z
    w_dim: int = 512  # Sec. 2: 512-dimensional W
    mapping_layers: int = 8  # Sec. 2: an 8-layer MLP
    mapping_lr_mul: float = 0.01  # App. C: mapping learning rate reduced by two orders of magnitude
    resolution: int = 1024  # FFHQ 1024×1024
    fmap_base: int = 8192  # authors' code: channels = min(fmap_base / 2^stage, fmap_max)
    fmap_max: int = 512
    img_channels: int = 3
    truncation_psi: float = 0.7  # Sec. 3.3 / Fig. 8: ψ = 0.7 for the curated images
    truncation_cutoff: int = 8  # authors' code: truncate the 8 coarsest layers
    w_avg_beta: float = 0.995  # authors' code: EMA decay of w̄
    mixing_prob: float = 0.9  # Sec. 3.1: mixing regularisation on 90 % of images

    def channels(self, stage: int) -> int:
        return min(self.fmap_base // 2**stage, self.fmap_max)

    @property
    def num_layers(self) -> int:
        """Two style inputs per resolution from 4×4: 18 for 1024×1024."""
        return 2 * int(math.log2(self.resolution)) - 2


# NVlabs/stylegan training/networks_stylegan.py defaults for FFHQ 1024².
OFFICIAL = StyleGANConfig()
TINY = StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, resolution=16, fmap_base=64, fmap_max=16,
                      truncation_cutoff=4)


# --------------------------------------------------------------------- mapping
class MappingNetwork(nn.Module):
    """z (N, z_dim) → w (N, w_dim): pixel norm, then an MLP of equalized-LR layers."""

    def __init__(self, config: StyleGANConfig = StyleGANConfig()) -> None:
        super().__init__()
        dims = [config.z_dim] + [config.w_dim] * config.mapping_layers
        self.layers = nn.ModuleList(
            EqualizedLinear(a, b, lr_mul=config.mapping_lr_mul) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = pixel_norm(z)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
        return x


# --------------------------------------------------------------------- synthesis layers
class NoiseInjection(nn.Module):
    """B in Fig. 1: one noise image per sample, scaled per channel (scales start at 0)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        # x: (N, C, H, W), noise: (N, 1, H, W) broadcast over channels
        return x + self.weight.view(1, -1, 1, 1) * noise


class StyleModulation(nn.Module):
    """A + AdaIN (Eq. 1): w → (y_s, y_b) per channel, applied to instance-normalised x."""

    def __init__(self, w_dim: int, channels: int) -> None:
        super().__init__()
        self.affine = EqualizedLinear(w_dim, 2 * channels, gain=1.0)
        with torch.no_grad():  # authors' code: y_s is predicted as 1 + (…) so styles start neutral
            self.affine.bias[:channels] = 1.0

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y_s, y_b = self.affine(w)[:, :, None, None].chunk(2, dim=1)
        mean, std = calc_mean_std(x, eps=1e-8)
        return y_s * (x - mean) / std + y_b


class StyledLayer(nn.Module):
    """(optional 3×3 conv) → noise → leaky ReLU → AdaIN: one style input of the synthesis net."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, *, conv: bool = True) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(c_in, c_out, 3) if conv else None
        self.noise = NoiseInjection(c_out)
        self.style = StyleModulation(w_dim, c_out)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.conv is not None:
            x = self.conv(x)
        return self.style(F.leaky_relu(self.noise(x, noise), 0.2), w)


class SynthesisNetwork(nn.Module):
    """g: (N, num_layers, w_dim) styles and per-layer noises → image (N, C, R, R)."""

    def __init__(self, config: StyleGANConfig = StyleGANConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels(1)
        self.const = nn.Parameter(torch.ones(1, c, 4, 4))  # Sec. 2: learned constant input
        layers = [StyledLayer(c, c, config.w_dim, conv=False), StyledLayer(c, c, config.w_dim)]
        for stage in range(2, int(math.log2(config.resolution))):
            c_in, c_out = config.channels(stage - 1), config.channels(stage)
            layers += [StyledLayer(c_in, c_out, config.w_dim), StyledLayer(c_out, c_out, config.w_dim)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualizedConv2d(config.channels(int(math.log2(config.resolution)) - 1), config.img_channels, 1,
                                      gain=1.0)

    def noise_shapes(self, batch: int) -> list[tuple[int, int, int, int]]:
        """Shape of the noise image each layer expects: two per resolution."""
        return [(batch, 1, 4 * 2 ** (i // 2), 4 * 2 ** (i // 2)) for i in range(len(self.layers))]

    def forward(self, ws: torch.Tensor, noises: list[torch.Tensor]) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, (layer, noise) in enumerate(zip(self.layers, noises, strict=True)):
            if i >= 2 and i % 2 == 0:  # first layer of each new resolution upsamples
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = layer(x, ws[:, i], noise)
        return self.to_rgb(x)


# --------------------------------------------------------------------- latent-space operations
def truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """Sec. 3.3: w′ = w̄ + ψ (w − w̄); for (N, L, D) styles only layers < cutoff are truncated."""
    out = w_avg + psi * (w - w_avg)
    if cutoff is None or w.dim() == 2:
        return out
    layer = torch.arange(w.shape[1], device=w.device).view(1, -1, 1)
    return torch.where(layer < cutoff, out, w)


def style_mix(w1: torch.Tensor, w2: torch.Tensor, crossover: int, num_layers: int) -> torch.Tensor:
    """Sec. 3.1: (N, D) latents → (N, num_layers, D) styles, w1 before the crossover, w2 from it on."""
    layer = torch.arange(num_layers, device=w1.device).view(1, -1, 1)
    return torch.where(layer < crossover, w1[:, None], w2[:, None])


class StyleGANGenerator(nn.Module):
    """Mapping + synthesis, with w̄ tracking, truncation and style mixing."""

    def __init__(self, config: StyleGANConfig = StyleGANConfig()) -> None:
        super().__init__()
        self.config = config
        self.mapping = MappingNetwork(config)
        self.synthesis = SynthesisNetwork(config)
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def forward(self, z: torch.Tensor, noises: list[torch.Tensor], *, z2: torch.Tensor | None = None,
                crossover: int | None = None, psi: float = 1.0) -> torch.Tensor:
        n_layers = self.config.num_layers
        w = self.mapping(z)
        if self.training:  # w̄: moving average of mapped latents (authors' code)
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0), 1.0 - self.config.w_avg_beta)
        if z2 is not None and crossover is not None:
            ws = style_mix(w, self.mapping(z2), crossover, n_layers)
        else:
            ws = w[:, None].expand(-1, n_layers, -1)
        if psi != 1.0:
            ws = truncate(ws, self.w_avg, psi, self.config.truncation_cutoff)
        return self.synthesis(ws, noises)


# --------------------------------------------------------------------- examples
@register_example(covers=[StyleGANGenerator, MappingNetwork, SynthesisNetwork, StyledLayer, NoiseInjection,
                          StyleModulation, style_mix, truncate])
def stylegan_generator() -> Example:
    g = seeded(0)
    model = StyleGANGenerator(TINY)
    z, z2 = torch.randn(2, TINY.z_dim, generator=g), torch.randn(2, TINY.z_dim, generator=g)
    noises = [torch.randn(s, generator=g) for s in model.synthesis.noise_shapes(2)]

    def run(m: StyleGANGenerator, z: torch.Tensor, z2: torch.Tensor, *noises: torch.Tensor) -> torch.Tensor:
        return m(z, list(noises), z2=z2, crossover=3, psi=0.7)

    return Example(model=model, inputs=(z, z2, *noises), output_shapes=((2, 3, 16, 16),), run=run)
