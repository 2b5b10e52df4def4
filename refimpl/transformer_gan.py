"""The Nuts and Bolts of Adopting Transformer in GANs (STrans-G).

Rui Xu, Xiangyu Xu, Kai Chen, Bolei Zhou, Chen Change Loy. arXiv:2110.13107
(2021; earlier title "STransGAN: An Empirical Study on Transformer in GANs").
Catalog id: ``transgan-nuts-and-bolts``.

Implemented, the ingredients the study advocates:

* Feature locality (Sec. 3): attention restricted to local windows, Swin
  style, alternating regular and shifted windows between consecutive blocks;
  global attention is the baseline Trans-G it improves on.
* The attention-distance analysis used to show it: the mean, over queries,
  of the attention-weighted Euclidean distance (in tokens) between a query
  and its keys, ``d = 1/L · Σ_q Σ_k A[q, k] · ‖p_q − p_k‖``.
* Residual connections around self-attention (Sec. 4): the study finds them
  harmful for discriminators and conditional generators; each block takes
  ``attention_residual`` so both variants can be built and compared.
* Self-modulated layer normalisation: LN whose per-channel gain and bias are
  predicted from the generator's own latent ``z``
  (``SLN(x, z) = γ(z) ⊙ LN(x) + β(z)``), the way the latent enters a
  transformer generator without a conditioning input.
* A CNN-free generator: a linear map from ``z`` to a 4 × 4 token grid,
  stages of window-attention blocks, nearest ×2 up-sampling of the token
  grid between stages, and a per-token linear map to RGB.

Official preset: none. No code for STrans-G was released with the paper;
VITA-Group/TransGAN is the code of a different paper (Jiang et al., "TransGAN:
Two Pure Transformers Can Make One Strong GAN") and is not used as a
reference. No standard-configuration count is claimed; the tests pin the
generator's count to its layer-by-layer sum (input map, per block two SLNs,
qkv, proj, relative-position table, MLP; width changes; to-RGB).

Deviations from the paper:

* Up-sampling is nearest-neighbour on the token grid; the paper's choice of
  up-sampling and its stage widths/depths are not reproduced.
* The window attention, partition and shifted-window mask are StyleSwin's
  (``refimpl.styleswin``): both follow Swin, and sharing one implementation
  keeps the two modules consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .styleswin import Mlp, WindowAttention, shifted_window_mask, window_partition, window_reverse


@dataclass(frozen=True)
class STransConfig:
    latent_dim: int = 512  # z, as in StyleGAN-family generators the study compares against
    widths: tuple[int, ...] = (512, 512, 256, 128, 64)  # channels at 4², 8², 16², 32², 64² (Swin-style halving)
    depth: int = 2  # blocks per stage: one regular-window and one shifted-window block
    num_heads: int = 8
    window_size: int = 8  # local attention window (Sec. 3, Swin windows)
    mlp_ratio: float = 4.0
    attention_residual: bool = True  # Sec. 4: the shortcut around self-attention, studied on/off


TINY = STransConfig(latent_dim=8, widths=(16, 16, 8), depth=2, num_heads=2, window_size=4)


# --------------------------------------------------------------------- normalisation
class SelfModulatedLayerNorm(nn.Module):
    """SLN(x, z) = γ(z) ⊙ LN(x) + β(z): tokens (B, L, C), latent (B, Z) → (B, L, C)."""

    def __init__(self, dim: int, latent_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.gamma = nn.Linear(latent_dim, dim)
        self.beta = nn.Linear(latent_dim, dim)
        # start as a plain LayerNorm: γ = 1, β = 0 whatever z is
        nn.init.zeros_(self.gamma.weight)
        nn.init.ones_(self.gamma.bias)
        nn.init.zeros_(self.beta.weight)
        nn.init.zeros_(self.beta.bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.gamma(z).unsqueeze(1) * self.norm(x) + self.beta(z).unsqueeze(1)


# --------------------------------------------------------------------- the block
class STransBlock(nn.Module):
    """Local (shifted-)window attention block with SLN: (B, H·W, C), z → (B, H·W, C)."""

    def __init__(self, dim: int, latent_dim: int, *, resolution: tuple[int, int], num_heads: int = 8,
                 window_size: int = 8, shifted: bool = False, mlp_ratio: float = 4.0,
                 attention_residual: bool = True) -> None:
        super().__init__()
        self.resolution = resolution
        self.window_size = min(window_size, *resolution)
        self.shift = self.window_size // 2 if shifted and min(resolution) > window_size else 0
        self.attention_residual = attention_residual
        self.norm1 = SelfModulatedLayerNorm(dim, latent_dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn = WindowAttention(dim, self.window_size, num_heads)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = SelfModulatedLayerNorm(dim, latent_dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        mask = shifted_window_mask(*resolution, self.window_size, self.shift) if self.shift else None
        self.register_buffer("shift_mask", mask, persistent=False)

    def local_attention(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), k, s = self.resolution, self.window_size, self.shift
        b, _, c = x.shape
        qkv = self.qkv(x).view(b, h, w, 3 * c)
        if s:
            qkv = torch.roll(qkv, shifts=(-s, -s), dims=(1, 2))
        q, kk, v = window_partition(qkv, k).chunk(3, dim=-1)
        out = window_reverse(self.attn(q, kk, v, self.shift_mask), k, h, w)
        if s:
            out = torch.roll(out, shifts=(s, s), dims=(1, 2))
        return self.proj(out.reshape(b, h * w, c))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        attended = self.local_attention(self.norm1(x, z))
        x = x + attended if self.attention_residual else attended
        return x + self.mlp(self.norm2(x, z))


class STransGenerator(nn.Module):
    """CNN-free generator: z (B, Z) → image (B, 3, 4·2^(S−1), 4·2^(S−1)) for S = len(widths) stages."""

    def __init__(self, config: STransConfig = STransConfig()) -> None:
        super().__init__()
        self.config = config
        c0 = config.widths[0]
        self.input = nn.Linear(config.latent_dim, 16 * c0)  # z → 4 × 4 tokens
        self.stages = nn.ModuleList()
        self.widen = nn.ModuleList()
        for i, width in enumerate(config.widths):
            res = 4 * 2**i
            blocks = [
                STransBlock(width, config.latent_dim, resolution=(res, res), num_heads=config.num_heads,
                            window_size=config.window_size, shifted=j % 2 == 1, mlp_ratio=config.mlp_ratio,
                            attention_residual=config.attention_residual)
                for j in range(config.depth)
            ]
            self.stages.append(nn.ModuleList(blocks))
            nxt = config.widths[i + 1] if i + 1 < len(config.widths) else None
            self.widen.append(nn.Linear(width, nxt) if nxt is not None else nn.Identity())
        self.to_rgb = nn.Linear(config.widths[-1], 3)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        x = self.input(z).view(b, 16, self.config.widths[0])
        res = 4
        for i, (blocks, widen) in enumerate(zip(self.stages, self.widen, strict=True)):
            for block in blocks:
                x = block(x, z)
            if i + 1 < len(self.stages):  # nearest ×2 on the token grid, then change width
                grid = x.transpose(1, 2).reshape(b, -1, res, res)
                res *= 2
                x = widen(F.interpolate(grid, scale_factor=2, mode="nearest").flatten(2).transpose(1, 2))
        rgb = torch.tanh(self.to_rgb(x))  # (B, H·W, 3)
        return rgb.transpose(1, 2).reshape(b, 3, res, res)


# --------------------------------------------------------------------- analysis
def mean_attention_distance(attn: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Mean over queries of Σ_k A[q, k]·‖p_q − p_k‖ for attention (..., H·W, H·W) on an H × W grid."""
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([rows.flatten(), cols.flatten()], dim=-1).to(attn)  # (L, 2)
    dist = torch.cdist(pos, pos)  # (L, L)
    return (attn * dist).sum(dim=-1).mean(dim=-1)


# --------------------------------------------------------------------- examples
@register_example(covers=[STransGenerator, STransBlock, SelfModulatedLayerNorm])
def strans_generator() -> Example:
    g = seeded(0)
    model = STransGenerator(TINY)
    z = torch.randn(2, TINY.latent_dim, generator=g)
    return Example(model=model, inputs=(z,), output_shapes=((2, 3, 16, 16),))


@register_example(covers=[mean_attention_distance])
def strans_attention_distance() -> Example:
    g = seeded(0)
    logits = torch.randn(2, 16, 16, generator=g, requires_grad=True)
    return Example(model=nn.Module(), inputs=(logits,), output_shapes=((2,),),
                   run=lambda _m, a: mean_attention_distance(a.softmax(-1), 4, 4))
