"""Multimodal Unsupervised Image-to-Image Translation (MUNIT).

Xun Huang, Ming-Yu Liu, Serge Belongie, Jan Kautz. ECCV 2018. arXiv:1804.04732.
Catalog id: ``munit``.

Implemented:

* Sec. 3.1, each domain's auto-encoder splits an image into a domain-invariant
  content code ``c = E^c(x)`` (a spatial map) and a low-dimensional style code
  ``s = E^s(x)`` (a vector); translation decodes ``c_1`` with a style from the
  other domain, ``x_{1→2} = G_2(c_1, s_2)``.
* Sec. 3.2 / App. B, the networks: a content encoder (strided convs + residual
  blocks, instance norm), a style encoder (strided convs, global average
  pooling, 1×1 conv, no normalisation), and a decoder whose residual blocks use
  Adaptive Instance Normalisation with parameters produced by an MLP from the
  style code, followed by nearest up-sampling + 5×5 convs with layer norm.
* Eq. 1–4, the bidirectional reconstruction losses: image reconstruction
  ``‖G(E^c(x), E^s(x)) − x‖₁``, and latent reconstruction of the content
  ``‖E^c(G(c_1, s_2)) − c_1‖₁`` and of a random style
  ``‖E^s(G(c_1, s_2)) − s_2‖₁``, weighted 10 / 1 / 1 (Eq. 5, authors' configs).

AdaIN normalises with the per-channel statistics of ``refimpl.adain`` and
scales/shifts with MLP outputs instead of a style feature's statistics.

Official preset: ``OFFICIAL`` is the generator of the authors' code
(NVlabs/MUNIT at a82e222bc359892bd0f522d7a0f1573f3ec4a485, ``networks.py``
``AdaINGen`` with ``configs/edges2shoes_folder.yaml``: dim 64, style_dim 8,
mlp_dim 256, n_downsample 2, n_res 4, reflection padding, ReLU), which is also
the paper's App. B. One domain's auto-encoder has 15,026,187 parameters
(content encoder 5,385,856; style encoder 2,764,936; decoder 5,754,627; MLP
1,120,768, producing 4,096 AdaIN parameters); at 256×256 the content code is
(256, 64, 64) and the style code (8, 1, 1). Tested, with the AdaIN output of
the official ``AdaptiveInstanceNorm2d`` on a 2×2 example.

Deviations from the paper and the official code:

* The discriminators (multi-scale LSGAN) are omitted; ``refimpl.pix2pixhd``'s
  ``MultiscaleDiscriminator`` and ``refimpl.losses_gan`` provide that part.
* Layer norm is ``GroupNorm(1, C)`` (per-sample statistics over C×H×W with
  per-channel affine); the authors' version adds ε to the std rather than the
  variance, uses the unbiased std, and initialises γ uniformly.
* Weights keep PyTorch's default initialisation (the official trainer applies
  Kaiming-normal weights and zero biases to every conv and linear layer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .adain import calc_mean_std
from .registry import Example, register_example, seeded

NormLayer = Callable[[int], nn.Module]


@dataclass(frozen=True)
class MUNITConfig:
    dim: int = 64  # App. B: c7s1-64
    style_dim: int = 8  # App. B: 8-dimensional style code
    mlp_dim: int = 256  # App. B: MLP with two 256-unit hidden layers
    n_downsample: int = 2  # App. B: content encoder d128, d256
    n_style_downsample: int = 4  # authors' code (AdaINGen): style encoder down-samples 4 times
    n_res: int = 4  # App. B: four residual blocks
    lambda_x: float = 10.0  # Eq. 5 / authors' configs: image reconstruction weight
    lambda_c: float = 1.0  # Eq. 5 / authors' configs (recon_c_w): content reconstruction weight
    lambda_s: float = 1.0  # Eq. 5 / authors' configs (recon_s_w): style reconstruction weight


# NVlabs/MUNIT configs/edges2shoes_folder.yaml (gen: dim 64, mlp_dim 256, style_dim 8, n_downsample 2,
# n_res 4; recon_x_w 10, recon_c_w 1, recon_s_w 1); the style encoder's 4 down-samplings are fixed in AdaINGen.
OFFICIAL = MUNITConfig()


TINY = MUNITConfig(dim=4, style_dim=3, mlp_dim=8, n_downsample=2, n_style_downsample=2, n_res=1)


# --------------------------------------------------------------------- blocks
def instance_norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=False)


def layer_norm(c: int) -> nn.Module:
    return nn.GroupNorm(1, c)


def conv_block(c_in: int, c_out: int, k: int, stride: int, pad: int, norm: NormLayer | None = None,
               act: nn.Module | None = None) -> nn.Sequential:
    """Reflection pad → conv → optional norm → activation (ReLU unless given)."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(pad), nn.Conv2d(c_in, c_out, k, stride)]
    if norm is not None:
        layers.append(norm(c_out))
    layers.append(nn.ReLU(True) if act is None else act)
    return nn.Sequential(*layers)


def adaptive_instance_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN with given parameters: ``γ · (x − μ(x)) / σ(x) + β``, γ and β of shape (N, C)."""
    mean, std = calc_mean_std(x, eps)
    return gamma[..., None, None] * (x - mean) / std + beta[..., None, None]


class ResBlock(nn.Module):
    """Residual block with instance norm: (N, C, H, W) → same."""

    def __init__(self, dim: int, norm: NormLayer = instance_norm) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_block(dim, dim, 3, 1, 1, norm),
                                   conv_block(dim, dim, 3, 1, 1, norm, nn.Identity()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class AdaINResBlock(nn.Module):
    """Residual block whose two norms are AdaIN; ``params`` (N, 4C) = [β₁, γ₁, β₂, γ₂]."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.conv1 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3))
        self.conv2 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3))

    @property
    def num_adain_params(self) -> int:
        return 4 * self.dim

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        b1, g1, b2, g2 = params.split(self.dim, dim=1)
        h = F.relu(adaptive_instance_norm(self.conv1(x), g1, b1))
        h = adaptive_instance_norm(self.conv2(h), g2, b2)
        return x + h


class MLP(nn.Module):
    """Style code (N, style_dim[, 1, 1]) → AdaIN parameters (N, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int, dim: int = 256, n_blocks: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(in_dim, dim), nn.ReLU(True)]
        for _ in range(n_blocks - 2):
            layers += [nn.Linear(dim, dim), nn.ReLU(True)]
        layers.append(nn.Linear(dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.net(s.flatten(1))


# --------------------------------------------------------------------- encoders and decoder
class ContentEncoder(nn.Module):
    """x (N, 3, H, W) → content code (N, dim·2^n_down, H/2^n_down, W/2^n_down)."""

    def __init__(self, *, dim: int = 64, n_downsample: int = 2, n_res: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_block(in_channels, dim, 7, 1, 3, instance_norm)]
        for _ in range(n_downsample):
            layers.append(conv_block(dim, dim * 2, 4, 2, 1, instance_norm))
            dim *= 2
        layers += [ResBlock(dim) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class StyleEncoder(nn.Module):
    """x (N, 3, H, W) → style code (N, style_dim, 1, 1). No normalisation: it would remove the style."""

    def __init__(self, *, dim: int = 64, style_dim: int = 8, n_downsample: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_block(in_channels, dim, 7, 1, 3)]
        for i in range(n_downsample):
            c_out = dim * 2 if i < 2 else dim  # width doubles twice, then stays
            layers.append(conv_block(dim, c_out, 4, 2, 1))
            dim = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Decoder(nn.Module):
    """(content (N, dim, h, w), AdaIN params (N, P)) → image (N, 3, h·2^n_up, w·2^n_up)."""

    def __init__(self, *, dim: int = 256, n_upsample: int = 2, n_res: int = 4, out_channels: int = 3,
                 up_norm: NormLayer = layer_norm) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(AdaINResBlock(dim) for _ in range(n_res))
        layers: list[nn.Module] = []
        for _ in range(n_upsample):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), conv_block(dim, dim // 2, 5, 1, 2, up_norm)]
            dim //= 2
        layers.append(conv_block(dim, out_channels, 7, 1, 3, None, nn.Tanh()))
        self.up = nn.Sequential(*layers)

    @property
    def num_adain_params(self) -> int:
        return sum(b.num_adain_params for b in self.res_blocks)

    def forward(self, content: torch.Tensor, adain_params: torch.Tensor) -> torch.Tensor:
        x = content
        for block, params in zip(self.res_blocks, adain_params.split(
                [b.num_adain_params for b in self.res_blocks], dim=1), strict=True):
            x = block(x, params)
        return self.up(x)


class MUNITGenerator(nn.Module):
    """One domain's auto-encoder: ``encode(x) → (c, s)``, ``decode(c, s) → x``."""

    def __init__(self, config: MUNITConfig = MUNITConfig()) -> None:
        super().__init__()
        self.content_encoder = ContentEncoder(dim=config.dim, n_downsample=config.n_downsample, n_res=config.n_res)
        self.style_encoder = StyleEncoder(dim=config.dim, style_dim=config.style_dim,
                                          n_downsample=config.n_style_downsample)
        self.decoder = Decoder(dim=self.content_encoder.out_dim, n_upsample=config.n_downsample, n_res=config.n_res)
        self.mlp = MLP(config.style_dim, self.decoder.num_adain_params, config.mlp_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.content_encoder(x), self.style_encoder(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.decoder(content, self.mlp(style))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))


# --------------------------------------------------------------------- losses
class AutoEncoder(Protocol):
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor: ...


def reconstruction_losses(
    gen_a: AutoEncoder, gen_b: AutoEncoder, x_a: torch.Tensor, x_b: torch.Tensor,
    s_a: torch.Tensor, s_b: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Eq. 1–4: image reconstruction within each domain and latent reconstruction across domains.

    ``s_a``, ``s_b`` are styles drawn from the prior N(0, I), shape (N, style_dim, 1, 1).
    """
    c_a, s_a_own = gen_a.encode(x_a)
    c_b, s_b_own = gen_b.encode(x_b)
    x_ba = gen_a.decode(c_b, s_a)  # b's content in a random a-style
    x_ab = gen_b.decode(c_a, s_b)
    c_b_rec, s_a_rec = gen_a.encode(x_ba)
    c_a_rec, s_b_rec = gen_b.encode(x_ab)
    return {
        "x_a": F.l1_loss(gen_a.decode(c_a, s_a_own), x_a),
        "x_b": F.l1_loss(gen_b.decode(c_b, s_b_own), x_b),
        "c_a": F.l1_loss(c_a_rec, c_a),
        "c_b": F.l1_loss(c_b_rec, c_b),
        "s_a": F.l1_loss(s_a_rec, s_a),
        "s_b": F.l1_loss(s_b_rec, s_b),
    }


def total_reconstruction_loss(losses: dict[str, torch.Tensor], config: MUNITConfig = MUNITConfig()) -> torch.Tensor:
    """Eq. 5 without the GAN terms: λ_x (x_a + x_b) + λ_c (c_a + c_b) + λ_s (s_a + s_b)."""
    return (config.lambda_x * (losses["x_a"] + losses["x_b"]) + config.lambda_c * (losses["c_a"] + losses["c_b"])
            + config.lambda_s * (losses["s_a"] + losses["s_b"]))


# --------------------------------------------------------------------- examples
@register_example(covers=[MUNITGenerator, ContentEncoder, StyleEncoder, Decoder, AdaINResBlock, MLP, ResBlock,
                          adaptive_instance_norm, reconstruction_losses, total_reconstruction_loss])
def munit_tiny() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"a": MUNITGenerator(TINY), "b": MUNITGenerator(TINY)})
    x_a = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    x_b = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    s_a = torch.randn(2, TINY.style_dim, 1, 1, generator=g)
    s_b = torch.randn(2, TINY.style_dim, 1, 1, generator=g)

    def run(m: nn.ModuleDict, x_a: torch.Tensor, x_b: torch.Tensor, s_a: torch.Tensor, s_b: torch.Tensor):
        c_a, _ = m["a"].encode(x_a)
        x_ab = m["b"].decode(c_a, s_b)
        return x_ab, total_reconstruction_loss(reconstruction_losses(m["a"], m["b"], x_a, x_b, s_a, s_b), TINY)

    return Example(model=model, inputs=(x_a, x_b, s_a, s_b), output_shapes=((2, 3, 16, 16), ()), run=run)
