"""StyleSwin: Transformer-based GAN for High-resolution Image Generation.

Bowen Zhang, Shuyang Gu, Bo Zhang, Jianmin Bao, Dong Chen, Fang Wen, Yong Wang,
Baining Guo. CVPR 2022. arXiv:2112.10762. Catalog id: ``styleswin``.

Implemented:

* Sec. 3.2, the style-modulated block: the token sequence is normalised with
  AdaIN whose scale and bias come from the style vector ``w`` through a
  learned affine map (``AdaIN(x, w) = γ(w) · (x − μ(x)) / σ(x) + β(w)``,
  statistics per sample and channel over all tokens).
* Sec. 3.2, double attention: the heads are split in two halves; the first
  attends inside the regular ``K × K`` windows, the second inside windows
  shifted by ``K/2`` (Swin's cyclic shift with masking), so one block has the
  receptive field of two Swin blocks. Window attention carries Swin's
  relative position bias.
* Sec. 3.2, sinusoidal positional encoding (SPE): half of the channels encode
  the column, half the row, each axis as ``[sin(p·ω), cos(p·ω)]`` over n
  frequencies ``ωᵢ = 10000^(−i/(n−1))`` at positions p = 1, 2, …, exactly as
  the official ``SinusoidalPositionalEmbedding.make_grid2d``
  (``models/basic_layers.py``); the official generator adds it, scaled by a
  learned gate initialised at zero, after each up-sampling.
* Window partition / reverse and the shifted-window attention mask, reused by
  the other window-attention modules (``transformer_gan``, ``edt``).

Official preset: ``OFFICIAL`` is the block of the official generator at its
8² … 32² stages (microsoft/StyleSwin, commit a7c28b3, ``models/generator.py``:
channels 512, ``num_heads = max(c // 32, 4) = 16``, window 8, MLP ratio 4,
style dim 512). At 8² the window covers the whole map and the shift is 0; from
16² on the second half of the heads uses windows shifted by 4.

Parameter count: the standard block (dim 512, 16 heads, window 8, MLP ratio
4, style dim 512) has 4,204,560 parameters, the sum over the layers of the
official ``StyleSwinTransformerBlock`` (microsoft/StyleSwin,
``models/generator.py``): two AdaIN style maps 512→1024 (2 × 525,312), qkv
512→1536 (787,968), proj 512→512 (262,656), two relative-position tables
15² × 8 (2 × 1,800), MLP 512→2048→512 (2,099,712); tested, and equal to the
official block instantiated from that file. The full official generators
(not implemented here) have 48,929,512 (256², FFHQ/LSUN) and 49,462,342
(1024²) parameters.

Deviations from the paper:

* SPE follows the official code (sin block then cos block, ``10000^(−i/(n−1))``,
  positions from 1), not the Transformer paper's interleaved
  ``10000^(−2i/d)`` from 0 that the paper's citation suggests.
* The style affine map is a plain ``nn.Linear`` rather than StyleGAN's
  equalised-learning-rate linear layer (same parameter count).
* Masked logits are set to −∞ instead of the official −100, so attention
  across a shifted-window boundary is exactly zero.
* Only the block, its parts and SPE are given; the full generator (mapping
  network, upsampling stages, to-RGB, wavelet discriminator) is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .adain import calc_mean_std
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class StyleSwinConfig:
    dim: int = 512  # channels at the 8²…32² stages (official generator, channel_multiplier 2)
    num_heads: int = 16  # official generator: 16 heads at those stages
    window_size: int = 8  # Sec. 4.1, "window size 8"
    mlp_ratio: float = 4.0  # Swin default, kept by StyleSwin
    style_dim: int = 512  # latent w (StyleGAN mapping network)
    eps: float = 1e-5  # InstanceNorm epsilon (official AdaIN uses nn.InstanceNorm1d)


TINY = StyleSwinConfig(dim=16, num_heads=4, window_size=4, style_dim=8)
# microsoft/StyleSwin models/generator.py: the 8²…32² stages of Generator(size, 512, 8, channel_multiplier=2).
OFFICIAL = StyleSwinConfig(dim=512, num_heads=16, window_size=8, mlp_ratio=4.0, style_dim=512, eps=1e-5)


# --------------------------------------------------------------------- windows
def _pair(window: int | tuple[int, int]) -> tuple[int, int]:
    return (window, window) if isinstance(window, int) else window


def window_partition(x: torch.Tensor, window: int | tuple[int, int]) -> torch.Tensor:
    """(B, H, W, C) → (B · H/Kh · W/Kw, Kh·Kw, C): non-overlapping Kh × Kw windows, row-major."""
    kh, kw = _pair(window)
    b, h, w, c = x.shape
    x = x.view(b, h // kh, kh, w // kw, kw, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, kh * kw, c)


def window_reverse(windows: torch.Tensor, window: int | tuple[int, int], h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B·nW, Kh·Kw, C) → (B, H, W, C)."""
    kh, kw = _pair(window)
    c = windows.shape[-1]
    b = windows.shape[0] // ((h // kh) * (w // kw))
    x = windows.view(b, h // kh, w // kw, kh, kw, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


def shifted_window_mask(h: int, w: int, window: int | tuple[int, int], shift: int | tuple[int, int]) -> torch.Tensor:
    """Additive mask (nW, N, N), N = Kh·Kw: 0 within a region, −∞ across regions.

    After the cyclic shift a border window holds tokens that were far apart in
    the image; labelling the 3 × 3 regions the shift creates and masking pairs
    with different labels keeps attention to tokens that really were adjacent.
    """
    (kh, kw), (sh, sw) = _pair(window), _pair(shift)
    labels = torch.zeros(1, h, w, 1)
    rows = (slice(0, -kh), slice(-kh, -sh), slice(-sh, None))
    cols = (slice(0, -kw), slice(-kw, -sw), slice(-sw, None))
    for i, hs in enumerate(rows):
        for j, ws in enumerate(cols):
            labels[:, hs, ws, :] = 3 * i + j
    windows = window_partition(labels, (kh, kw)).squeeze(-1)  # (nW, N)
    differ = windows.unsqueeze(1) != windows.unsqueeze(2)
    return torch.zeros(differ.shape).masked_fill(differ, float("-inf"))


class WindowAttention(nn.Module):
    """Multi-head attention inside each window, with Swin's relative position bias.

    q, k, v: (B·nW, N, C) with N = K·K → (B·nW, N, C).
    """

    def __init__(self, dim: int, window_size: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        k = window_size
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * k - 1) ** 2, num_heads) * 0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij")).flatten(1)  # (2, N)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (k - 1)  # (N, N, 2), in [0, 2K−2]
        self.register_buffer("relative_position_index", rel[..., 0] * (2 * k - 1) + rel[..., 1], persistent=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        bw, n, c = q.shape
        heads = [t.reshape(bw, n, self.num_heads, c // self.num_heads).transpose(1, 2) for t in (q, k, v)]
        q, k, v = heads  # (B·nW, nH, N, C/nH)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index]  # (N, N, nH)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, self.num_heads, n, n) + mask[None, :, None]
            attn = attn.view(bw, self.num_heads, n, n)
        return (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(bw, n, c)


# --------------------------------------------------------------------- style and position
class TokenAdaIN(nn.Module):
    """AdaIN on a token sequence: (B, L, C) normalised per channel over L, then γ(w)·x̂ + β(w)."""

    def __init__(self, dim: int, style_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.style = nn.Linear(style_dim, 2 * dim)  # w → (γ, β)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.style(w).unsqueeze(1).chunk(2, dim=-1)  # (B, 1, C) each
        # AdaIN's statistics, taken over the tokens: view (B, L, C) as (B, C, L, 1).
        mean, std = calc_mean_std(x.transpose(1, 2).unsqueeze(-1), self.eps)
        x_hat = (x - mean.view(x.shape[0], 1, -1)) / std.view(x.shape[0], 1, -1)
        return gamma * x_hat + beta


def sinusoidal_position_encoding(h: int, w: int, dim: int) -> torch.Tensor:
    """SPE: (H·W, dim), the column encoded in the first dim/2 channels and the row in the rest.

    As the official code defines it (SPE2d): an axis of d = dim/2 channels holds
    ``[sin(p·ω₀) … sin(p·ω_{n−1}), cos(p·ω₀) … cos(p·ω_{n−1})]`` with n = d/2,
    ``ωᵢ = 10000^(−i/(n−1))`` and positions p = 1, 2, … (0 is the padding index).
    The dot product of two encodings depends only on their offset.
    """
    n = dim // 4  # frequencies per axis
    if n < 2:
        raise ValueError(f"SPE needs dim >= 8 (two frequencies per axis), got {dim}")
    freqs = torch.exp(-math.log(10000.0) / (n - 1) * torch.arange(n, dtype=torch.float32))  # (n,)

    def encode(size: int) -> torch.Tensor:
        angles = torch.arange(1, size + 1, dtype=torch.float32)[:, None] * freqs[None]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (size, 2n)

    half = 2 * n
    rows = encode(h)[:, None, :].expand(h, w, half)
    cols = encode(w)[None, :, :].expand(h, w, half)
    return torch.cat([cols, rows], dim=-1).reshape(h * w, 2 * half)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


# --------------------------------------------------------------------- the block
class StyleSwinTransformerBlock(nn.Module):
    """Style-modulated double-attention block: tokens (B, H·W, C), style (B, style_dim) → (B, H·W, C)."""

    def __init__(self, config: StyleSwinConfig = StyleSwinConfig(), *, resolution: tuple[int, int] = (8, 8)) -> None:
        super().__init__()
        self.config = config
        self.resolution = resolution
        c, k = config.dim, config.window_size
        if min(resolution) <= k:  # a single window: no shift (official behaviour)
            k = min(resolution)
        self.window_size = k
        self.shift = k // 2 if min(resolution) > config.window_size else 0
        self.norm1 = TokenAdaIN(c, config.style_dim, config.eps)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        # two half-width attentions: regular windows and shifted windows (Sec. 3.2)
        self.attn = nn.ModuleList([WindowAttention(c // 2, k, config.num_heads // 2) for _ in range(2)])
        self.norm2 = TokenAdaIN(c, config.style_dim, config.eps)
        self.mlp = Mlp(c, int(c * config.mlp_ratio))
        mask = shifted_window_mask(*resolution, k, self.shift) if self.shift > 0 else None
        self.register_buffer("shift_mask", mask, persistent=False)

    def double_attention(self, x: torch.Tensor) -> torch.Tensor:
        """qkv → regular-window heads ‖ shifted-window heads → proj; (B, H·W, C) → (B, H·W, C)."""
        (h, w), k, s = self.resolution, self.window_size, self.shift
        b, _, c = x.shape
        qkv = self.qkv(x).view(b, h, w, 3, c)
        first, second = qkv[..., : c // 2], qkv[..., c // 2 :]
        if s > 0:
            second = torch.roll(second, shifts=(-s, -s), dims=(1, 2))
        outs = []
        for part, attn, mask in ((first, self.attn[0], None), (second, self.attn[1], self.shift_mask)):
            q, kk, v = (window_partition(part[..., i, :], k) for i in range(3))
            outs.append(window_reverse(attn(q, kk, v, mask), k, h, w))
        if s > 0:
            outs[1] = torch.roll(outs[1], shifts=(s, s), dims=(1, 2))
        return self.proj(torch.cat(outs, dim=-1).reshape(b, h * w, c))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = x + self.double_attention(self.norm1(x, style))
        return x + self.mlp(self.norm2(x, style))


# --------------------------------------------------------------------- examples
@register_example(covers=[StyleSwinTransformerBlock, WindowAttention, TokenAdaIN, sinusoidal_position_encoding,
                          window_partition, window_reverse, shifted_window_mask])
def styleswin_block() -> Example:
    g = seeded(0)
    block = StyleSwinTransformerBlock(TINY, resolution=(8, 8))
    tokens = torch.randn(2, 64, TINY.dim, generator=g) + sinusoidal_position_encoding(8, 8, TINY.dim)
    style = torch.randn(2, TINY.style_dim, generator=g)
    return Example(model=block, inputs=(tokens, style), output_shapes=((2, 64, TINY.dim),))
