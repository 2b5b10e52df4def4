"""Progressive Growing of GANs for Improved Quality, Stability, and Variation.

Tero Karras, Timo Aila, Samuli Laine, Jaakko Lehtinen. ICLR 2018.
arXiv:1710.10196. Catalog id: ``progan``.

Implemented:

* Sec. 2 / Fig. 2, progressive growing with fade-in: while a new resolution
  is added, the output is ``(1 − α) · upsample(toRGB_old(h_old)) + α ·
  toRGB_new(h_new)`` (generator) and the mirror image with average pooling
  (discriminator), α growing linearly from 0 to 1.
* Sec. 3, minibatch standard deviation: the std of each feature over a
  group of samples, averaged over features and pixels, appended to the
  discriminator's last block as one extra constant feature map.
* Sec. 4.1, equalized learning rate: weights initialised from N(0, 1) and
  scaled at run time by He's constant ``c = √2 / √fan_in``.
* Sec. 4.2, pixelwise feature normalisation
  ``b = a / √(mean_j a_j² + ε)`` with ε = 1e-8, after each generator conv.
* Table 2, the generator and discriminator layer plan, with the channel
  count ``min(8192 / 2^stage, 512)`` of the authors' code.

Parameter count: the standard 1024×1024 generator (``ProGANConfig()``) has
23,079,115 parameters with all nine toRGB layers that growing needs
(23,071,507 with only the final toRGB: the "23.1M" of Table 2). The count is
the sum over the layers of the official ``G_paper`` (tkarras/
progressive_growing_of_gans, ``networks.py``): a 512 → 512·16 dense layer
(the 4×4 "conv" of Table 2) with one bias per channel, two 3×3 convs per
resolution, and 1×1 toRGB layers; tested. The discriminator has 23,087,249
(23,077,137 with only the final fromRGB), the sum over ``D_paper``'s layers
(tkarras/progressive_growing_of_gans @ 2504c3f); tested.

Official code: tkarras/progressive_growing_of_gans @ 2504c3f (``networks.py``,
``G_paper`` / ``D_paper``); ``OFFICIAL`` is its CelebA-HQ 1024² setting,
``fused_scale=True`` included. Parameter counts are those above (the fused
layers have the same 3×3 weights).

Deviations from the paper:

* The first generator layer is the dense layer of the authors' code (same
  parameters as Table 2's 4×4 convolution on a 1×1 input).
* Discriminator down-sampling: the default follows Table 2 (conv, leaky ReLU,
  then 2×2 average pooling). The authors' ``D_paper`` fuses the second conv
  of each block with the down-sampling (a 4×4 stride-2 kernel, equal to 3×3
  conv then 2×2 mean) and applies bias and leaky ReLU after the pooling;
  ``OFFICIAL`` (``fused_scale=True``) does the same. Their fused generator
  layer (transposed 4×4 conv) equals nearest up-sampling then a 3×3 conv with
  the kernel flipped, i.e. the same function class as the default here, so the
  generator has no such switch.
* No label conditioning, no WGAN-GP training loop and no drift term here:
  the module holds the architecture and the four tricks above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class ProGANConfig:
    latent_dim: int = 512  # Sec. A.1: 512-dimensional latent vectors
    resolution: int = 1024  # Table 2: CelebA-HQ 1024×1024
    fmap_base: int = 8192  # authors' code: channels = min(fmap_base / 2^stage, fmap_max)
    fmap_max: int = 512  # Table 2: at most 512 channels
    img_channels: int = 3
    mbstd_group: int = 4  # authors' code: minibatch groups of 4 samples
    eps: float = 1e-8  # Sec. 4.2: ε = 10⁻⁸
    # Table 2, D: "Conv 3×3, LReLU; Conv 3×3, LReLU; Downsample" (pool after the activation). The
    # authors' D_paper (fused_scale=True) pools the second conv's output, then adds bias and LReLU.
    fused_scale: bool = False

    def channels(self, stage: int) -> int:
        """Channels at stage s (resolution 2^(s+1)): 512 up to 32×32, then halving."""
        return min(self.fmap_base // 2**stage, self.fmap_max)

    @property
    def depth(self) -> int:
        """Number of resolutions above 4×4 (8 for 1024×1024)."""
        return int(math.log2(self.resolution)) - 2


# tkarras/progressive_growing_of_gans @ 2504c3f networks.py G_paper / D_paper at 1024² (CelebA-HQ),
# with their default fused_scale=True (config.py does not override it).
OFFICIAL = ProGANConfig(fused_scale=True)
TINY = ProGANConfig(latent_dim=16, resolution=16, fmap_base=64, fmap_max=16, mbstd_group=2)


# --------------------------------------------------------------------- the tricks
def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Sec. 4.2: normalise each pixel's feature vector to unit mean square over channels."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, eps: float = 1e-8) -> torch.Tensor:
    """Sec. 3: append the group's average feature std as one more channel.

    x: (N, C, H, W) with N divisible by the group size → (N, C + 1, H, W).
    """
    n, c, h, w = x.shape
    g = min(group_size, n)
    y = x.reshape(g, n // g, c, h, w)  # sample i belongs to group i % (n // g), as in the authors' code
    std = (y.var(dim=0, unbiased=False) + eps).sqrt()  # (M, C, H, W): std over the group
    stat = std.mean(dim=(1, 2, 3)).reshape(1, n // g, 1, 1, 1)  # one number per group
    stat = stat.expand(g, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, stat], dim=1)


def fade_in(old: torch.Tensor, new: torch.Tensor, alpha: float) -> torch.Tensor:
    """Fig. 2 (b): blend the old (resampled) path and the new layer's path."""
    return (1.0 - alpha) * old + alpha * new


class EqualizedLinear(nn.Module):
    """Sec. 4.1: w ~ N(0, 1), used as ``w · gain / √fan_in`` at every call.

    ``lr_mul`` (StyleGAN's mapping network uses 0.01) further scales the
    effective learning rate: weights start at N(0, 1/lr_mul²) and both the
    weight and the bias are multiplied by ``lr_mul`` at run time.
    """

    def __init__(self, in_features: int, out_features: int, *, gain: float = math.sqrt(2), bias: bool = True,
                 lr_mul: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = gain / math.sqrt(in_features) * lr_mul
        self.lr_mul = lr_mul

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.lr_mul
        return F.linear(x, self.effective_weight(), bias)


class EqualizedConv2d(nn.Module):
    """Sec. 4.1 for convolutions: fan_in = in_channels · k · k, 'same' padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)  # Sec. A.1: leaky ReLU with leakiness 0.2


# --------------------------------------------------------------------- generator
class GeneratorBlock(nn.Module):
    """Upsample ×2, then two 3×3 convs, each followed by leaky ReLU and pixel norm."""

    def __init__(self, c_in: int, c_out: int, eps: float) -> None:
        super().__init__()
        self.conv1 = EqualizedConv2d(c_in, c_out, 3)
        self.conv2 = EqualizedConv2d(c_out, c_out, 3)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = pixel_norm(_lrelu(self.conv1(x)), self.eps)
        return pixel_norm(_lrelu(self.conv2(x)), self.eps)


class ProGANGenerator(nn.Module):
    """Table 2 generator; ``forward(z, depth, alpha)`` renders 4·2^depth pixels."""

    def __init__(self, config: ProGANConfig = ProGANConfig()) -> None:
        super().__init__()
        self.config = config
        c0 = config.channels(1)
        self.c0 = c0
        self.dense = EqualizedLinear(config.latent_dim, c0 * 16, gain=math.sqrt(2) / 4, bias=False)
        self.bias0 = nn.Parameter(torch.zeros(c0))  # one bias per channel, after the reshape (authors' code)
        self.conv0 = EqualizedConv2d(c0, c0, 3)
        self.blocks = nn.ModuleList(
            GeneratorBlock(config.channels(s - 1), config.channels(s), config.eps) for s in range(2, config.depth + 2)
        )
        # toRGB: 1×1 conv with gain 1 (linear output), one per resolution.
        self.to_rgb = nn.ModuleList(
            EqualizedConv2d(config.channels(s), config.img_channels, 1, gain=1.0) for s in range(1, config.depth + 2)
        )

    def forward(self, z: torch.Tensor, depth: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        """z: (N, latent) → image (N, C, 4·2^depth, 4·2^depth); α fades in the last block."""
        depth = self.config.depth if depth is None else depth
        eps = self.config.eps
        x = self.dense(pixel_norm(z, eps)).reshape(-1, self.c0, 4, 4) + self.bias0.view(1, -1, 1, 1)
        x = pixel_norm(_lrelu(x), eps)
        x = pixel_norm(_lrelu(self.conv0(x)), eps)
        prev = x
        for block in self.blocks[:depth]:
            prev, x = x, block(x)
        new = self.to_rgb[depth](x)
        if depth == 0 or alpha >= 1.0:
            return new
        old = F.interpolate(self.to_rgb[depth - 1](prev), scale_factor=2, mode="nearest")
        return fade_in(old, new, alpha)


# --------------------------------------------------------------------- discriminator
class DiscriminatorBlock(nn.Module):
    """Two 3×3 convs with leaky ReLU, then 2×2 average pooling.

    ``fused_scale``: the authors' fused conv + downscale, i.e. the second conv's output is pooled
    before its bias and leaky ReLU are applied (their 4×4 stride-2 kernel equals 3×3 conv + 2×2 mean).
    """

    def __init__(self, c_in: int, c_out: int, fused_scale: bool = False) -> None:
        super().__init__()
        self.conv1 = EqualizedConv2d(c_in, c_in, 3)
        self.conv2 = EqualizedConv2d(c_in, c_out, 3)
        self.fused_scale = fused_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _lrelu(self.conv1(x))
        if self.fused_scale:
            y = F.conv2d(x, self.conv2.effective_weight(), padding=self.conv2.padding)
            return _lrelu(F.avg_pool2d(y, 2) + self.conv2.bias.view(1, -1, 1, 1))
        return F.avg_pool2d(_lrelu(self.conv2(x)), 2)


class ProGANDiscriminator(nn.Module):
    """Table 2 discriminator, ending in minibatch stddev, 3×3 conv, 4×4 conv and a linear score."""

    def __init__(self, config: ProGANConfig = ProGANConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.depth
        self.from_rgb = nn.ModuleList(EqualizedConv2d(config.img_channels, config.channels(s), 1) for s in range(1, d + 2))
        # blocks[i] maps stage i + 2 (resolution 2^(i+3)) down to stage i + 1.
        self.blocks = nn.ModuleList(DiscriminatorBlock(config.channels(s), config.channels(s - 1), config.fused_scale)
                                    for s in range(2, d + 2))
        c1 = config.channels(1)
        self.conv_last = EqualizedConv2d(c1 + 1, c1, 3)
        self.dense1 = EqualizedLinear(c1 * 16, config.channels(0))  # the 4×4 conv on a 4×4 map
        self.dense2 = EqualizedLinear(config.channels(0), 1, gain=1.0)

    def forward(self, img: torch.Tensor, depth: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        """img: (N, C, 4·2^depth, same) → score (N, 1)."""
        depth = self.config.depth if depth is None else depth
        x = _lrelu(self.from_rgb[depth](img))
        if depth > 0:
            x = self.blocks[depth - 1](x)
            if alpha < 1.0:
                old = _lrelu(self.from_rgb[depth - 1](F.avg_pool2d(img, 2)))
                x = fade_in(old, x, alpha)
            for block in reversed(self.blocks[: depth - 1]):
                x = block(x)
        x = minibatch_stddev(x, self.config.mbstd_group, self.config.eps)
        x = _lrelu(self.conv_last(x))
        x = _lrelu(self.dense1(x.flatten(1)))
        return self.dense2(x)


# --------------------------------------------------------------------- examples
@register_example(covers=[pixel_norm, minibatch_stddev, EqualizedConv2d, EqualizedLinear])
def progan_layers() -> Example:
    g = seeded(0)
    x = torch.randn(4, 6, 5, 5, generator=g, requires_grad=True)
    model = nn.ModuleDict({"conv": EqualizedConv2d(7, 3, 3), "fc": EqualizedLinear(6, 2)})

    def run(m: nn.ModuleDict, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return m["conv"](minibatch_stddev(pixel_norm(x), group_size=2)), m["fc"](x.mean(dim=(2, 3)))

    return Example(model=model, inputs=(x,), output_shapes=((4, 3, 5, 5), (4, 2)), run=run)


@register_example(covers=[ProGANGenerator, ProGANDiscriminator, GeneratorBlock, DiscriminatorBlock, fade_in])
def progan_fade_in() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": ProGANGenerator(TINY), "D": ProGANDiscriminator(TINY)})
    z = torch.randn(4, TINY.latent_dim, generator=g)

    def run(m: nn.ModuleDict, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        img = m["G"](z, depth=2, alpha=0.5)  # growing from 8×8 to 16×16, half faded in
        return img, m["D"](img, depth=2, alpha=0.5)

    # The 4×4 toRGB / fromRGB layers only serve while growing from 4×4 to 8×8.
    return Example(model=model, inputs=(z,), output_shapes=((4, 3, 16, 16), (4, 1)), run=run,
                   no_grad=("G.to_rgb.0.", "D.from_rgb.0."))
