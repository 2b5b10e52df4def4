"""Semantic Image Synthesis with Spatially-Adaptive Normalization (SPADE / GauGAN).

Taesung Park, Ming-Yu Liu, Ting-Chun Wang, Jun-Yan Zhu. CVPR 2019.
arXiv:1903.07291. Catalog id: ``spade``.

Implemented:

* Eq. 1, SPADE: parameter-free batch normalisation followed by a
  spatially-varying affine map learned from the segmentation mask ``m``,
  ``γ_{c,y,x}(m) · (h − μ_c) / σ_c + β_{c,y,x}(m)``; γ and β come from a
  two-layer conv net (shared 3×3 conv with ReLU, 128 hidden channels, then one
  3×3 conv each), on the mask resized (nearest) to the activation's size. As
  in the authors' code the scale is applied as ``1 + γ``.
* Fig. 4, the SPADE residual block: SPADE → LeakyReLU(0.2) → 3×3 conv, twice,
  with a learned shortcut (SPADE → 1×1 conv) when the widths differ; spectral
  normalisation on the convolutions.
* Sec. 3 / App. A, the generator: the down-sampled mask (instead of z) goes
  through a 3×3 conv to a 16·nf map at ``H/2^5``, then SPADE residual blocks
  interleaved with 2× nearest up-sampling to the output resolution.
* Sec. 3.2's point: a constant mask fed through conv → instance norm is washed
  out, while SPADE keeps it (tested).

Parameter count: not tested (it depends on the dataset's label count).

Deviations from the paper:

* Synchronized batch norm is plain ``BatchNorm2d`` (one device); the VAE
  style encoder and the multi-scale discriminator (pix2pixHD's,
  ``refimpl.pix2pixhd.MultiscaleDiscriminator``, with hinge loss from
  ``refimpl.losses_gan``) are not repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class SPADEConfig:
    label_nc: int = 184  # COCO-Stuff labels incl. "unknown" + instance edge (authors' code)
    nf: int = 64  # App. A: ngf = 64 (the first map has 16·nf = 1024 channels)
    hidden: int = 128  # App. A: SPADE's shared conv has 128 channels
    kernel_size: int = 3  # "spadesyncbatch3x3"
    num_up_layers: int = 5  # "normal" generator: 256 / 2^5 = 8 × 8 first map
    use_spectral_norm: bool = True  # Sec. 3: spectral norm on all layers of G


TINY = SPADEConfig(label_nc=3, nf=1, hidden=4, num_up_layers=3)


# --------------------------------------------------------------------- normalisation
class SPADE(nn.Module):
    """(x (N, C, H, W), segmap (N, L, H', W')) → (N, C, H, W)."""

    def __init__(self, norm_nc: int, label_nc: int, *, hidden: int = 128, kernel_size: int = 3) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)  # statistics only: no learned affine here
        self.shared = nn.Sequential(nn.Conv2d(label_nc, hidden, kernel_size, padding=pad), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, norm_nc, kernel_size, padding=pad)
        self.beta = nn.Conv2d(hidden, norm_nc, kernel_size, padding=pad)

    def modulation(self, segmap: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """γ(m), β(m) at the given spatial size, each (N, C, H, W)."""
        actv = self.shared(F.interpolate(segmap, size=size, mode="nearest"))
        return self.gamma(actv), self.beta(actv)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        return self.param_free_norm(x) * (1 + gamma) + beta


class SPADEResBlock(nn.Module):
    """Fig. 4: (x (N, fin, H, W), segmap) → (N, fout, H, W)."""

    def __init__(self, fin: int, fout: int, label_nc: int, *, hidden: int = 128, use_spectral_norm: bool = True) -> None:
        super().__init__()
        fmiddle = min(fin, fout)
        sn = spectral_norm if use_spectral_norm else (lambda m: m)
        self.learned_shortcut = fin != fout
        self.conv_0 = sn(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = sn(nn.Conv2d(fmiddle, fout, 3, padding=1))
        self.norm_0 = SPADE(fin, label_nc, hidden=hidden)
        self.norm_1 = SPADE(fmiddle, label_nc, hidden=hidden)
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, label_nc, hidden=hidden)

    def shortcut(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return self.shortcut(x, segmap) + dx


class SPADEGenerator(nn.Module):
    """segmap (N, label_nc, H, W) → image (N, 3, H, W); H divisible by 2^num_up_layers."""

    def __init__(self, config: SPADEConfig = SPADEConfig()) -> None:
        super().__init__()
        nf, kw = config.nf, dict(hidden=config.hidden, use_spectral_norm=config.use_spectral_norm)
        self.num_up_layers = config.num_up_layers
        self.fc = nn.Conv2d(config.label_nc, 16 * nf, 3, padding=1)  # the down-sampled mask replaces z
        self.head = SPADEResBlock(16 * nf, 16 * nf, config.label_nc, **kw)
        self.middle = nn.ModuleList(SPADEResBlock(16 * nf, 16 * nf, config.label_nc, **kw) for _ in range(2))
        # After head and the first up-sampling, each remaining up-sampling halves the width: 16nf → 8nf → … → nf.
        self.ups = nn.ModuleList(
            SPADEResBlock(16 * nf // 2**i, 16 * nf // 2 ** (i + 1), config.label_nc, **kw)
            for i in range(config.num_up_layers - 1)
        )
        self.conv_img = nn.Conv2d(16 * nf // 2 ** (config.num_up_layers - 1), 3, 3, padding=1)

    def forward(self, segmap: torch.Tensor) -> torch.Tensor:
        h, w = segmap.shape[-2] // 2**self.num_up_layers, segmap.shape[-1] // 2**self.num_up_layers
        x = self.fc(F.interpolate(segmap, size=(h, w), mode="nearest"))  # (N, 16nf, H/32, W/32)
        x = F.interpolate(self.head(x, segmap), scale_factor=2, mode="nearest")
        for block in self.middle:
            x = block(x, segmap)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), segmap)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


# --------------------------------------------------------------------- examples
@register_example(covers=[SPADE, SPADEResBlock, SPADEGenerator])
def spade_generator() -> Example:
    g = seeded(0)
    model = SPADEGenerator(TINY)
    labels = torch.randint(0, TINY.label_nc, (2, 16, 16), generator=g)
    segmap = F.one_hot(labels, TINY.label_nc).permute(0, 3, 1, 2).float()
    return Example(model=model, inputs=(segmap,), output_shapes=((2, 3, 16, 16),))
