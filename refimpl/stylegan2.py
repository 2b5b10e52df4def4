"""Analyzing and Improving the Image Quality of StyleGAN.

Tero Karras, Samuli Laine, Miika Aittala, Janne Hellsten, Jaakko Lehtinen,
Timo Aila. CVPR 2020. arXiv:1912.04958. Catalog id: ``stylegan2``.

Implemented:

* Sec. 2.2, Eq. 1–3, weight demodulation replacing AdaIN: the style s
  scales the input feature maps of each convolution through the weights,
  ``w′_ijk = s_i · w_ijk`` (Eq. 1), and the output is brought back to unit
  standard deviation by ``w″_ijk = w′_ijk / √(Σ_{i,k} w′_ijk² + ε)`` (Eq. 3),
  so with unit-variance i.i.d. inputs the outputs have unit variance (Eq. 2).
  Different styles per sample run as one grouped convolution (App. B).
* Fig. 2 (c)–(d), the revised synthesis layer: modulated 3×3 convolution, then
  per-pixel noise (one learned strength per layer) and bias outside the
  style block, leaky ReLU.
* Sec. 4.1 / Fig. 7 (b), the skip generator: every resolution has a tRGB
  layer (1×1 modulated convolution without demodulation) and the image is
  the sum of the upsampled tRGB outputs.
* Fig. 7 (c), the residual discriminator: blocks of two 3×3 convolutions
  with a 1×1 skip, summed with weights 1/√2, minibatch stddev at 4×4
  (``refimpl.progan.minibatch_stddev``).
* Sec. 3.2, Eq. 4, path length regularisation
  ``E_{w,y}(‖J_wᵀ y‖₂ − a)²`` with ``y ~ N(0, I)/√(H·W)`` and ``a`` an
  exponential moving average of the lengths (decay 0.01, authors' code);
  as in the authors' code the updated target keeps its gradient path
  (``path_length_penalty``).
* Sec. 3.1, lazy regularisation: R1 (``γ/2 · E‖∇D(x)‖²``) every 16 D steps
  and path length every 4 G steps, each scaled by its interval, with Adam's
  learning rate and betas adjusted by ``c = k / (k + 1)`` (authors' code).
* The non-saturating logistic losses of the authors' code.

The mapping network is StyleGAN's (``refimpl.stylegan.MappingNetwork``),
built from Progressive GAN's equalized-LR layers (``refimpl.progan``), as the
paper keeps it unchanged.

Parameter counts (config F at 1024×1024, ``StyleGAN2Config()``): the
generator has 30,370,060 parameters (mapping 2,101,248 + synthesis
28,268,812) and the residual discriminator 29,012,513: the sums over the
layers of NVlabs/stylegan2-ada-pytorch ``training/networks.py``
(``channel_base = 32768``, ``channel_max = 512``; per synthesis layer an
affine ``w_dim → c_in`` with bias, a ``c_out × c_in × k × k`` weight, one
noise strength and ``c_out`` biases; per D block two 3×3 convs and a 1×1
skip without bias); tested. The same figures are the sums of the variable
shapes of NVlabs/stylegan2 @ bf0fe0b ``training/networks_stylegan2.py``
(``fmap_base = 16 << 10`` for config F); tested.

Deviations from the paper:

* Resampling uses bilinear up-sampling (the ``[1, 3, 3, 1]`` filter's
  interior) and 2×2 average pooling instead of the authors' FIR-filtered
  transposed / strided convolutions; the parameter counts are unaffected.
* Noise inputs are passed in explicitly (the examples must be
  deterministic); no mixed precision, no conv clamping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .progan import EqualizedConv2d, EqualizedLinear, minibatch_stddev
from .registry import Example, register_example, seeded
from .stylegan import MappingNetwork, StyleGANConfig, truncate


@dataclass(frozen=True)
class StyleGAN2Config:
    z_dim: int = 512  # Sec. 2 of StyleGAN, unchanged
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_mul: float = 0.01
    resolution: int = 1024  # FFHQ 1024×1024 (Table 1)
    channel_base: int = 32768  # config F: channels = min(32768 / res, 512) (authors' code)
    channel_max: int = 512
    img_channels: int = 3
    mbstd_group: int = 4  # authors' code
    w_avg_beta: float = 0.995  # authors' code: EMA of w̄ for truncation
    pl_weight: float = 2.0  # authors' code: γ_pl = 2
    pl_decay: float = 0.01  # authors' code: EMA decay of the target length a
    pl_batch_shrink: int = 2  # authors' code: the PL batch is half the minibatch
    r1_gamma: float = 10.0  # authors' code for FFHQ 1024 (config F)
    g_reg_interval: int = 4  # Sec. 3.1 / authors' code: path length every 4 G steps
    d_reg_interval: int = 16  # Sec. 3.1: R1 once every 16 minibatches

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)

    @property
    def block_resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        """One w per conv plus the last tRGB: 18 for 1024×1024."""
        return 2 * int(math.log2(self.resolution)) - 2

    def noise_shapes(self, batch: int) -> list[tuple[int, int, int, int]]:
        """One single-channel noise image per 3×3 conv: 1 at 4×4, 2 per higher resolution."""
        shapes = []
        for res in self.block_resolutions:
            shapes += [(batch, 1, res, res)] * (1 if res == 4 else 2)
        return shapes

    def mapping_config(self) -> StyleGANConfig:
        return StyleGANConfig(z_dim=self.z_dim, w_dim=self.w_dim, mapping_layers=self.mapping_layers,
                              mapping_lr_mul=self.mapping_lr_mul)


# NVlabs/stylegan2 run_training.py config-f (and NVlabs/stylegan2-ada-pytorch's 1024² FFHQ model).
OFFICIAL = StyleGAN2Config()
TINY = StyleGAN2Config(z_dim=8, w_dim=8, mapping_layers=2, resolution=16, channel_base=64, channel_max=16,
                       mbstd_group=2)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    # Leaky ReLU followed by √2, the gain that keeps activations' scale (authors' bias_act).
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """×2 bilinear up-sampling (the [1, 3, 3, 1] FIR filter away from the border)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


# --------------------------------------------------------------------- weight demodulation
def modulate_weights(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     eps: float = 1e-8) -> torch.Tensor:
    """Eq. 1 and 3: per-sample weights.

    weight: (O, I, k, k), styles: (N, I) → (N, O, I, k, k).
    """
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]  # Eq. 1: w′_ijk = s_i · w_ijk
    if demodulate:  # Eq. 3: unit L2 norm over (input channel, tap) for each output channel
        w = w * torch.rsqrt(w.square().sum(dim=(2, 3, 4), keepdim=True) + eps)
    return w


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     padding: int | None = None) -> torch.Tensor:
    """Modulated convolution as one grouped conv (App. B): x (N, I, H, W) → (N, O, H′, W′).

    The batch is folded into the channel axis so each sample is convolved
    with its own weights: groups = N.
    """
    n, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    weights = modulate_weights(weight, styles, demodulate)  # (N, O, I, k, k)
    out = F.conv2d(x.reshape(1, n * c_in, h, w), weights.reshape(n * c_out, c_in, k, k),
                   padding=k // 2 if padding is None else padding, groups=n)
    return out.reshape(n, c_out, out.shape[2], out.shape[3])


class ModulatedConv2d(nn.Module):
    """A (affine w → s, bias initialised to 1) + Mod + Demod + Conv of Fig. 2 (c)."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, kernel_size: int = 3, *, demodulate: bool = True,
                 up: bool = False) -> None:
        super().__init__()
        self.affine = EqualizedLinear(w_dim, c_in, gain=1.0)
        with torch.no_grad():  # authors' code: styles start at 1 (bias_init = 1)
            self.affine.bias.fill_(1.0)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(c_in * kernel_size * kernel_size)  # equalized LR (ProGAN Sec. 4.1)
        self.demodulate = demodulate
        self.up = up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (N, I)
        if self.up:
            x = upsample2x(x)
        return modulated_conv2d(x, self.weight * self.scale, styles, demodulate=self.demodulate)


class SynthesisLayer(nn.Module):
    """Fig. 2 (c)–(d): modulated 3×3 conv → + noise (learned strength) → + bias → leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, *, up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, w_dim, 3, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))  # one scalar per layer (authors' code)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        x = self.conv(x, w) + self.noise_strength * noise  # noise: (N, 1, H, W)
        return _lrelu(x + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """tRGB: 1×1 modulated conv without demodulation, plus bias (Fig. 7 (b))."""

    def __init__(self, c_in: int, w_dim: int, img_channels: int = 3) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, img_channels, w_dim, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias.view(1, -1, 1, 1)


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (x, img) at R/2 → (x, img) at R.

    The 4×4 block starts from a learned constant and has one conv; the others
    upsample in their first conv. ``ws``: (N, 2 or 3, w_dim), the last for tRGB.
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, img_channels: int = 3, *, first: bool = False) -> None:
        super().__init__()
        self.first = first
        if first:
            self.const = nn.Parameter(torch.randn(c_out, 4, 4))
        else:
            self.conv0 = SynthesisLayer(c_in, c_out, w_dim, up=True)
        self.conv1 = SynthesisLayer(c_out, c_out, w_dim)
        self.torgb = ToRGB(c_out, w_dim, img_channels)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noises: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        if self.first:
            x = self.const.expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, ws[:, 0], noises[0])
        else:
            x = self.conv0(x, ws[:, 0], noises[0])
            x = self.conv1(x, ws[:, 1], noises[1])
        rgb = self.torgb(x, ws[:, -1])
        img = rgb if img is None else upsample2x(img) + rgb  # skip architecture: sum of upsampled tRGBs
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) and per-conv noises → image (N, C, R, R).

    Each block's tRGB shares its w with the next block's first conv, as in
    the authors' code: block b reads ws[2b − 1 : 2b + 2] (ws[0:2] for 4×4).
    """

    def __init__(self, config: StyleGAN2Config = StyleGAN2Config()) -> None:
        super().__init__()
        self.config = config
        blocks = []
        for res in config.block_resolutions:
            c_in = 0 if res == 4 else config.channels(res // 2)
            blocks.append(SynthesisBlock(c_in, config.channels(res), config.w_dim, config.img_channels,
                                         first=res == 4))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, ws: torch.Tensor, noises: Sequence[torch.Tensor]) -> torch.Tensor:
        x = img = None
        for b, block in enumerate(self.blocks):
            if b == 0:
                x, img = block(x, img, ws[:, 0:2], noises[0:1])
            else:
                x, img = block(x, img, ws[:, 2 * b - 1: 2 * b + 2], noises[2 * b - 1: 2 * b + 1])
        return img


class StyleGAN2Generator(nn.Module):
    """StyleGAN's mapping network + the skip synthesis network, with w̄ and truncation."""

    def __init__(self, config: StyleGAN2Config = StyleGAN2Config()) -> None:
        super().__init__()
        self.config = config
        self.mapping = MappingNetwork(config.mapping_config())
        self.synthesis = SynthesisNetwork(config)
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def map(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """z (N, z_dim) → ws (N, num_ws, w_dim), truncated towards w̄ when ψ < 1."""
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0), 1.0 - self.config.w_avg_beta)
        ws = w[:, None].expand(-1, self.config.num_ws, -1)
        return ws if psi == 1.0 else truncate(ws, self.w_avg, psi)

    def forward(self, z: torch.Tensor, noises: Sequence[torch.Tensor], psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.map(z, psi), noises)


# --------------------------------------------------------------------- discriminator
class ResidualDiscriminatorBlock(nn.Module):
    """Fig. 7 (c): (conv 3×3 → conv 3×3 → ↓2) + (↓2 → 1×1 skip), times 1/√2."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(c_in, c_in, 3, gain=1.0)
        self.conv1 = EqualizedConv2d(c_in, c_out, 3, gain=1.0)
        self.skip = EqualizedConv2d(c_in, c_out, 1, gain=1.0)
        self.skip.bias = None  # the authors' skip conv has no bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.skip(F.avg_pool2d(x, 2))
        x = F.avg_pool2d(_lrelu(self.conv1(_lrelu(self.conv0(x)))), 2)
        return (x + y) * math.sqrt(0.5)


class StyleGAN2Discriminator(nn.Module):
    """Residual D: fromRGB at full resolution, blocks down to 4×4, mbstd, conv, fc, out → (N, 1) logits."""

    def __init__(self, config: StyleGAN2Config = StyleGAN2Config()) -> None:
        super().__init__()
        self.config = config
        self.from_rgb = EqualizedConv2d(config.img_channels, config.channels(config.resolution), 1, gain=1.0)
        self.blocks = nn.ModuleList(
            ResidualDiscriminatorBlock(config.channels(res), config.channels(res // 2))
            for res in reversed(config.block_resolutions[1:])
        )
        c4 = config.channels(4)
        self.conv = EqualizedConv2d(c4 + 1, c4, 3, gain=1.0)
        self.fc = EqualizedLinear(c4 * 16, c4, gain=1.0)
        self.out = EqualizedLinear(c4, 1, gain=1.0)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = _lrelu(self.from_rgb(img))
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, self.config.mbstd_group)
        x = _lrelu(self.conv(x))
        return self.out(_lrelu(self.fc(x.flatten(1))))


# --------------------------------------------------------------------- losses and regularisers
def generator_logistic_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating G loss: E[softplus(−D(G(z)))] = −E[log σ(D(G(z)))]."""
    return F.softplus(-fake_logits).mean()


def discriminator_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D loss: E[softplus(D(G(z)))] + E[softplus(−D(x))]."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E‖∇ₓD(x)‖² on real images; the loss is γ/2 times this."""
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()


def path_lengths(images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """‖J_wᵀ y‖₂ per sample, y = noise / √(H·W), via one backward pass (Sec. 3.2).

    images: (N, C, H, W) computed from ws (N, L, D); noise: like images, N(0, I).
    The squared length is summed over D and averaged over the L layer inputs
    (authors' code).
    """
    h, w = images.shape[2:]
    y = noise / math.sqrt(h * w)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    return grad.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: torch.Tensor, pl_mean: torch.Tensor,
                        decay: float = StyleGAN2Config.pl_decay) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 4 per sample: ``(l_i − a)²`` with ``a = ā + decay · (mean(l) − ā)``; returns (penalties, a).

    As in the authors' code (NVlabs/stylegan2 ``training/loss.py``
    ``G_logistic_ns_pathreg``; rosinality ``g_path_regularize``), the updated
    target ``a`` is not detached: the penalty's gradient also flows through
    its ``decay · mean(l)`` term. Only the stored running mean is a constant.
    """
    a = pl_mean + decay * (lengths.mean() - pl_mean)
    return (lengths - a).square(), a


class PathLengthRegularizer(nn.Module):
    """Eq. 4: (‖J_wᵀ y‖₂ − a)², with a the running mean of the lengths (a buffer)."""

    def __init__(self, decay: float = StyleGAN2Config.pl_decay) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("pl_mean", torch.zeros(()))

    def forward(self, images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Per-sample penalties (N,); updates a in training mode (before use, as the authors do)."""
        penalties, a = path_length_penalty(path_lengths(images, ws, noise), self.pl_mean, self.decay)
        if self.training:
            self.pl_mean.copy_(a.detach())
        return penalties


def lazy_regularization_adam(lr: float, betas: tuple[float, float], interval: int) -> tuple[float, tuple[float, float]]:
    """Adam hyper-parameters when a regulariser runs every ``interval`` steps (authors' code).

    With c = k / (k + 1): lr′ = c · lr and β′ = β^c, so the optimiser's time
    constants stay those of the unregularised schedule.
    """
    c = interval / (interval + 1)
    return lr * c, (betas[0] ** c, betas[1] ** c)


def is_regularization_step(step: int, interval: int) -> bool:
    """Lazy regularisation: run the regulariser on steps 0, k, 2k, … (and scale it by k)."""
    return step % interval == 0


# --------------------------------------------------------------------- examples
@register_example(covers=[modulated_conv2d, modulate_weights, ModulatedConv2d])
def stylegan2_modulated_conv() -> Example:
    g = seeded(0)
    model = ModulatedConv2d(6, 4, w_dim=5)
    x = torch.randn(3, 6, 7, 7, generator=g, requires_grad=True)
    w = torch.randn(3, 5, generator=g)
    return Example(model=model, inputs=(x, w), output_shapes=((3, 4, 7, 7),))


@register_example(covers=[StyleGAN2Generator, SynthesisNetwork, SynthesisBlock, SynthesisLayer, ToRGB,
                          StyleGAN2Discriminator, ResidualDiscriminatorBlock, upsample2x, PathLengthRegularizer,
                          path_lengths, path_length_penalty, r1_penalty, generator_logistic_loss, discriminator_logistic_loss])
def stylegan2_training_losses() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": StyleGAN2Generator(TINY), "D": StyleGAN2Discriminator(TINY),
                           "pl": PathLengthRegularizer()})
    n = 2
    z = torch.randn(n, TINY.z_dim, generator=g)
    real = torch.rand(n, 3, 16, 16, generator=g) * 2 - 1
    pl_noise = torch.randn(n, 3, 16, 16, generator=g)
    noises = [torch.randn(s, generator=g) for s in TINY.noise_shapes(n)]

    def run(m: nn.ModuleDict, z: torch.Tensor, real: torch.Tensor, pl_noise: torch.Tensor,
            *noises: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with torch.enable_grad():  # the regularisers differentiate even when called under no_grad
            ws = m["G"].map(z)
            fake = m["G"].synthesis(ws, list(noises))
            fake_logits = m["D"](fake)
            real = real.detach().requires_grad_(True)
            real_logits = m["D"](real)
            reg_g = TINY.pl_weight * TINY.g_reg_interval * m["pl"](fake, ws, pl_noise).mean()
            reg_d = TINY.r1_gamma / 2 * TINY.d_reg_interval * r1_penalty(real_logits, real)
        return (fake, fake_logits, generator_logistic_loss(fake_logits) + reg_g,
                discriminator_logistic_loss(real_logits, fake_logits) + reg_d)

    return Example(model=model, inputs=(z, real, pl_noise, *noises),
                   output_shapes=((n, 3, 16, 16), (n, 1), (), ()), run=run)
