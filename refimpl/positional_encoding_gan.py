"""Positional Encoding as Spatial Inductive Bias in GANs.

Rui Xu, Xintao Wang, Kai Chen, Bolei Zhou, Chen Change Loy. CVPR 2021.
arXiv:2012.05217. Catalog id: ``positional-encoding-gan``.

The paper shows that zero padding is what lets convolutional generators
know where they are (an implicit positional encoding), and replaces it by
an explicit one: feature maps carry a spatial encoding, the generator
becomes (nearly) padding-free, and training at several scales with the
encoding (MS-PIE) yields one generator for many output sizes.

Implemented:

* The Cartesian spatial grid (CSG): two channels holding the normalised
  x and y coordinates in [−1, 1].
* The sinusoidal positional encoding (SPE): Transformer-style
  ``sin(p / 10000^{2i/d}), cos(p / 10000^{2i/d})`` along each axis, d/2
  channels for x and d/2 for y, with p the integer offset from the
  canvas centre — so a larger canvas extends the same pattern outward.
* Concatenating an encoding to a generator's feature maps at every
  resolution (``AddPositionalEncoding``), and a small generator that takes
  SPE in place of StyleGAN2's learned constant input, uses unpadded
  convolutions and renders at any multiple of its base size (``PEGenerator``).

Parameter count: none tested (the paper plugs the encodings into
StyleGAN2 and DCGAN-style generators).

Deviations from the paper:

* ``PEGenerator`` is a compact stand-in for the paper's StyleGAN2 variant:
  latent-conditioned bias instead of weight modulation, two unpadded 3×3
  convs per resolution. The 2-pixel margin they consume is restored by
  replicate padding after each upsampling, so every step doubles the size
  exactly; the paper instead feeds a larger input and lets it shrink, which
  leaves no padding at all.
* No multi-scale training loop: the tests check that one set of weights
  renders several sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class PEGANConfig:
    spe_dim: int = 512  # SPE channels, matching StyleGAN2's 512-channel constant input
    base_size: int = 4  # StyleGAN2: the constant input is 4×4
    latent_dim: int = 512
    channels: int = 512
    num_ups: int = 3
    img_channels: int = 3


TINY = PEGANConfig(spe_dim=8, latent_dim=8, channels=8, num_ups=2)


def cartesian_grid(height: int, width: int, *, device: torch.device | None = None) -> torch.Tensor:
    """CSG: (1, 2, H, W), channel 0 = x and channel 1 = y, each from −1 to 1."""
    ys = torch.linspace(-1.0, 1.0, height, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy])[None]


def _sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer encoding of 1-D positions (P,) → (dim, P): sin on the first half, cos on the second."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=positions.device) / half)
    angles = freqs[:, None] * positions[None].float()
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=0)


def sinusoidal_encoding(height: int, width: int, dim: int, *, device: torch.device | None = None) -> torch.Tensor:
    """SPE: (1, dim, H, W); dim/2 channels encode x, dim/2 encode y; positions are offsets from the centre."""
    if dim % 4:
        raise ValueError(f"SPE needs a multiple of 4 channels (sin and cos per axis), got {dim}")
    xs = torch.arange(width, device=device) - width // 2
    ys = torch.arange(height, device=device) - height // 2
    ex = _sinusoid(xs, dim // 2)[:, None, :].expand(-1, height, -1)
    ey = _sinusoid(ys, dim // 2)[:, :, None].expand(-1, -1, width)
    return torch.cat([ex, ey])[None]


class AddPositionalEncoding(nn.Module):
    """Concatenate an explicit spatial encoding to feature maps: (N, C, H, W) → (N, C + k, H, W)."""

    def __init__(self, kind: str = "cartesian", dim: int = 2) -> None:
        super().__init__()
        if kind not in ("cartesian", "sinusoidal"):
            raise ValueError(f"unknown encoding {kind!r}")
        self.kind = kind
        self.dim = 2 if kind == "cartesian" else dim

    def encoding(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        if self.kind == "cartesian":
            return cartesian_grid(height, width, device=device)
        return sinusoidal_encoding(height, width, self.dim, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        return torch.cat([x, self.encoding(h, w, x.device).to(x.dtype).expand(n, -1, -1, -1)], dim=1)


class PEGenerator(nn.Module):
    """SPE input instead of a learned constant; unpadded convs; any output size 2^num_ups · s.

    ``forward(z, size)`` with size = base_size · k renders (N, 3, size · 2^num_ups, same).
    """

    def __init__(self, config: PEGANConfig = PEGANConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.margin = 2  # two unpadded 3×3 convs eat 2 pixels on each side
        self.inp = nn.Conv2d(config.spe_dim, c, 1)
        self.style = nn.Linear(config.latent_dim, c)
        self.add_pe = AddPositionalEncoding("cartesian")
        self.blocks = nn.ModuleList(
            nn.ModuleList([nn.Conv2d(c + 2, c, 3), nn.Conv2d(c, c, 3)]) for _ in range(config.num_ups)
        )
        self.to_rgb = nn.Conv2d(c, config.img_channels, 1)

    def forward(self, z: torch.Tensor, size: int | None = None) -> torch.Tensor:
        size = self.config.base_size if size is None else size
        spe = sinusoidal_encoding(size, size, self.config.spe_dim, device=z.device).to(z.dtype)
        x = self.inp(spe) + self.style(z)[:, :, None, None]  # (N, C, s, s)
        for conv1, conv2 in self.blocks:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.pad(x, [self.margin] * 4, mode="replicate")  # the margin the unpadded convs consume
            x = F.leaky_relu(conv1(self.add_pe(x)), 0.2)
            x = F.leaky_relu(conv2(x), 0.2)
        return self.to_rgb(x)


# --------------------------------------------------------------------- examples
@register_example(covers=[PEGenerator, AddPositionalEncoding, cartesian_grid, sinusoidal_encoding])
def pe_generator_two_scales() -> Example:
    g = seeded(0)
    model = PEGenerator(TINY)
    z = torch.randn(2, TINY.latent_dim, generator=g)

    def run(m: PEGenerator, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return m(z), m(z, size=2 * TINY.base_size)  # one generator, two output sizes (MS-PIE)

    return Example(model=model, inputs=(z,), output_shapes=((2, 3, 16, 16), (2, 3, 32, 32)), run=run)
