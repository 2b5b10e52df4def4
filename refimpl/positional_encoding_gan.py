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

Official code: the authors' release in MMGeneration (open-mmlab/mmgeneration,
``configs/positional_encoding_in_gans/`` and
``mmgen/models/architectures/positional_encoding.py``, commit ccd1f56). The
best MS-PIE model (Tab. 5 config-f) feeds StyleGAN2 an SPE head of
``embedding_dim=256`` channels per axis (512 in all) on a 4×4 grid, trained at
head sizes 4, 6 and 8 (256, 384 and 512 pixels), and upsamples bilinearly with
``align_corners=True``. ``OFFICIAL`` is this module's generator at that size:
512 SPE channels, 4×4 base, six doublings (4 → 256), the official SPE
numbering and frequencies; 28,899,843 parameters (counted by hand in the
tests; the stand-in's blocks are not StyleGAN2's, so this is not the official
generator's count).

Deviations from the paper and from the official code:

* Positions. The paper's SPE spaces grow outward from a fixed centre
  (Fig. 4(d)), so ``sinusoidal_encoding`` numbers positions as offsets from
  the centre (``centred=True``, the default). The official ``SPE2d`` takes a
  ``center_shift`` for that purpose, but its ``make_positions`` renumbers the
  shifted indices to 1…N, so the released models encode positions 1…N from
  the top-left corner and a larger canvas extends to the right and bottom;
  ``centred=False`` reproduces it.
* Frequencies. The paper uses the Transformer's ``10000^{-2i/d}``
  (``div_half_dim=True``, the default); the official code divides by
  ``d/2 − 1`` instead (its ``div_half_dim=False`` default), so its lowest
  frequency is exactly ``10⁻⁴``.
* ``dim`` here counts all SPE channels (both axes); the official
  ``embedding_dim`` (and the paper's "SPE-dim4/dim8") counts one axis.
* ``PEGenerator`` is a compact stand-in for the paper's StyleGAN2 variant:
  latent-conditioned bias instead of weight modulation, no noise inputs or
  style mapping, two unpadded 3×3 convs per resolution with a Cartesian grid
  concatenated before the first. The 2-pixel margin they consume is restored
  by replicate padding after each (bilinear, ``align_corners=True``, as the
  official ``up_config``) upsampling, so every step doubles the size exactly;
  the official config-f keeps zero padding, and its padding-free configs
  (h–k) instead feed a larger head and let it shrink.
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
    spe_dim: int = 512  # SPE channels in all, replacing StyleGAN2's 512-channel constant input (Sec. 5)
    base_size: int = 4  # StyleGAN2's constant input is 4×4; MS-PIE also trains at 6 and 8 (Tab. 5)
    latent_dim: int = 512  # StyleGAN2's latent width
    channels: int = 512  # StyleGAN2's width at 4–32 pixels
    num_ups: int = 3  # doublings after the base grid (a small stand-in; OFFICIAL uses 6)
    img_channels: int = 3  # RGB
    spe_centred: bool = True  # Fig. 4(d): the SPE space expands around a fixed centre
    spe_div_half_dim: bool = True  # Transformer frequencies 10000^{-2i/d}


# MS-PIE config-f (mmgeneration configs/positional_encoding_in_gans/
# mspie-stylegan2_c2_config-f_ffhq_256-512_b3x8_1100k.py): SPE embedding_dim=256 per axis, 4×4 head, 256-pixel output.
OFFICIAL = PEGANConfig(num_ups=6, spe_centred=False, spe_div_half_dim=False)
TINY = PEGANConfig(spe_dim=8, latent_dim=8, channels=8, num_ups=2)


def cartesian_grid(height: int, width: int, *, device: torch.device | None = None) -> torch.Tensor:
    """CSG: (1, 2, H, W), channel 0 = x and channel 1 = y, each from −1 to 1."""
    ys = torch.linspace(-1.0, 1.0, height, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy])[None]


def _sinusoid(positions: torch.Tensor, dim: int, div_half_dim: bool = True) -> torch.Tensor:
    """Transformer encoding of 1-D positions (P,) → (dim, P): sin on the first half, cos on the second.

    Frequency i of the d/2 is ``10000^{-i/(d/2)}``, or ``10000^{-i/(d/2 − 1)}`` (the official code's
    default) when ``div_half_dim`` is false.
    """
    half = dim // 2
    divisor = half if div_half_dim else half - 1
    if divisor < 1:
        raise ValueError(f"dividing by d/2 - 1 needs at least 4 channels per axis, got {dim}")
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=positions.device) / divisor)
    angles = freqs[:, None] * positions[None].float()
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=0)


def sinusoidal_encoding(height: int, width: int, dim: int, *, centred: bool = True, div_half_dim: bool = True,
                        device: torch.device | None = None) -> torch.Tensor:
    """SPE: (1, dim, H, W); the first dim/2 channels encode x, the last dim/2 encode y.

    Positions are offsets from the centre (``p − N // 2``), or 1…N from the top-left corner as the
    official code numbers them when ``centred`` is false.
    """
    if dim % 4:
        raise ValueError(f"SPE needs a multiple of 4 channels (sin and cos per axis), got {dim}")
    xs = torch.arange(width, device=device) - width // 2 if centred else torch.arange(1, width + 1, device=device)
    ys = torch.arange(height, device=device) - height // 2 if centred else torch.arange(1, height + 1, device=device)
    ex = _sinusoid(xs, dim // 2, div_half_dim)[:, None, :].expand(-1, height, -1)
    ey = _sinusoid(ys, dim // 2, div_half_dim)[:, :, None].expand(-1, -1, width)
    return torch.cat([ex, ey])[None]


class AddPositionalEncoding(nn.Module):
    """Concatenate an explicit spatial encoding to feature maps: (N, C, H, W) → (N, C + k, H, W)."""

    def __init__(self, kind: str = "cartesian", dim: int | None = None, *, centred: bool = True,
                 div_half_dim: bool = True) -> None:
        super().__init__()
        if kind not in ("cartesian", "sinusoidal"):
            raise ValueError(f"unknown encoding {kind!r}")
        if kind == "sinusoidal" and dim is None:
            raise ValueError("the sinusoidal encoding needs its number of channels, dim")
        self.kind = kind
        self.dim = 2 if kind == "cartesian" else dim
        self.centred, self.div_half_dim = centred, div_half_dim

    def encoding(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        if self.kind == "cartesian":
            return cartesian_grid(height, width, device=device)
        return sinusoidal_encoding(height, width, self.dim, centred=self.centred, div_half_dim=self.div_half_dim,
                                   device=device)

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
        cfg = self.config
        spe = sinusoidal_encoding(size, size, cfg.spe_dim, centred=cfg.spe_centred, div_half_dim=cfg.spe_div_half_dim,
                                  device=z.device).to(z.dtype)
        x = self.inp(spe) + self.style(z)[:, :, None, None]  # (N, C, s, s)
        for conv1, conv2 in self.blocks:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)  # the official up_config
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
