"""On Efficient Transformer and Image Pre-training for Low-level Vision (EDT).

Wenbo Li, Xin Lu, Shengju Qian, Jiangbo Lu, Xiangyu Zhang, Jiaya Jia.
arXiv:2112.10175 (2021). Catalog id: ``edt-low-level-transformer``.

Implemented:

* Sec. 3.1, the encoder–body–decoder framework: a convolutional encoder and
  decoder per task around one transformer body shared by all tasks (the
  multi-task / multi-related-task pre-training set-up of Sec. 4). For
  super-resolution the encoder keeps the resolution and the decoder
  up-samples with pixel shuffle; for denoising the encoder down-samples
  ×4 with strided residual blocks (so the body runs on fewer tokens) and the
  decoder up-samples back with skip connections and a global residual.
* Sec. 3.2, shifted crossed local attention (SCL-MSA): the channels are split
  in two halves; one attends inside horizontal ``h × w`` windows, the other
  inside vertical ``w × h`` windows; every other block shifts both by half a
  window (Swin masking). Each half adds a locally-enhanced positional
  encoding (LePE: a depthwise 3 × 3 convolution of V inside the window).
* The feed-forward network with a depthwise 5 × 5 convolution between its
  two linear layers, and body stages closed by a 3 × 3 convolution with a
  stage-level residual.

Parameter count: one standard EDT-T block (embed dim 60, 6 heads, MLP ratio
2; official config ``SRx2_EDTT``) has 33,180 parameters, the sum over the
official ``CSwinTransformerBlock`` layers (fenglinglwb/EDT,
``utils/modules/edt.py``): two LayerNorms (2 × 120), qkv 60→180 (10,980),
two LePE depthwise 3 × 3 convs on 30 channels (2 × 300), proj 60→60
(3,660), MLP 60→120 (7,320), depthwise 5 × 5 on 120 (3,120), 120→60
(7,260); tested. Whole-model counts are not claimed.

Deviations from the paper:

* Heads, window size and depths are configurable; the defaults follow the
  EDT-T config (window 6 × 24, depths 6,6,6,6) but tests use tiny values.
* The SR decoder is conv + pixel shuffle; the official "pixelshuffledirect"
  and multi-scale tails are reduced to that.
* Masked logits are −∞ (official: −100).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .styleswin import shifted_window_mask, window_partition, window_reverse


@dataclass(frozen=True)
class EDTConfig:
    embed_dim: int = 60  # EDT-T (configs/SRx2_EDTT_*: EMBED_DIM = 60)
    depths: tuple[int, ...] = (6, 6, 6, 6)  # blocks per stage (DEPTHS)
    num_heads: int = 6  # heads per window-attention half (NUM_HEADS)
    window: tuple[int, int] = (6, 24)  # horizontal window h × w; vertical is w × h (WINDOW_SIZE)
    mlp_ratio: float = 2.0  # MLP_RATIO
    denoise_down: int = 2  # denoising encoder halves the resolution this many times (NOISE_DOWN)


TINY = EDTConfig(embed_dim=8, depths=(2,), num_heads=2, window=(2, 4), denoise_down=2)


# --------------------------------------------------------------------- attention
class LePEWindowAttention(nn.Module):
    """Attention inside (possibly rectangular) windows plus LePE on V.

    q, k, v: (B, H, W, C) → (B, H, W, C); mask: (nW, N, N) or None.
    """

    def __init__(self, dim: int, window: tuple[int, int], num_heads: int) -> None:
        super().__init__()
        self.window, self.num_heads = window, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.lepe = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)  # per-window depthwise conv on V

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, h, w, c = v.shape
        kh, kw = self.window
        qw, kww, vw = (window_partition(t, self.window) for t in (q, k, v))  # (B·nW, N, C)
        # LePE runs on each window separately (zero padding at its border), so it stays local too
        lepe = self.lepe(vw.transpose(1, 2).reshape(-1, c, kh, kw)).flatten(2).transpose(1, 2)
        bw, n, _ = qw.shape
        split = [t.reshape(bw, n, self.num_heads, -1).transpose(1, 2) for t in (qw, kww, vw)]
        attn = (split[0] * self.scale) @ split[1].transpose(-2, -1)  # (B·nW, nH, N, N)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(bw // nw, nw, self.num_heads, n, n) + mask[None, :, None]).view(bw, self.num_heads, n, n)
        out = (attn.softmax(-1) @ split[2]).transpose(1, 2).reshape(bw, n, c) + lepe
        return window_reverse(out, self.window, h, w)


class EDTMlp(nn.Module):
    """Linear → GELU → depthwise 5 × 5 → GELU → linear, on (B, H, W, C)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 5, padding=2, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.fc1(x)).permute(0, 3, 1, 2)
        return self.fc2(F.gelu(self.dwconv(x)).permute(0, 2, 3, 1))


class CrossedLocalAttentionBlock(nn.Module):
    """SCL-MSA block (Sec. 3.2): (B, H, W, C) → (B, H, W, C)."""

    def __init__(self, dim: int, *, resolution: tuple[int, int], num_heads: int = 6,
                 window: tuple[int, int] = (6, 24), shifted: bool = False, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        h, w = resolution
        self.windows = (window, (window[1], window[0]))  # horizontal, vertical
        self.shifts = ((window[0] // 2, window[1] // 2), (window[1] // 2, window[0] // 2)) if shifted else None
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attns = nn.ModuleList([LePEWindowAttention(dim // 2, win, num_heads) for win in self.windows])
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = EDTMlp(dim, int(dim * mlp_ratio))
        for i, name in enumerate(("mask_h", "mask_v")):
            mask = shifted_window_mask(h, w, self.windows[i], self.shifts[i]) if self.shifts else None
            self.register_buffer(name, mask, persistent=False)

    def crossed_attention(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[-1]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        outs = []
        for i, (attn, mask) in enumerate(zip(self.attns, (self.mask_h, self.mask_v), strict=True)):
            part = [t[..., i * c // 2:(i + 1) * c // 2] for t in (q, k, v)]
            if self.shifts:
                part = [torch.roll(t, shifts=tuple(-s for s in self.shifts[i]), dims=(1, 2)) for t in part]
            out = attn(*part, mask)
            outs.append(torch.roll(out, shifts=self.shifts[i], dims=(1, 2)) if self.shifts else out)
        return self.proj(torch.cat(outs, dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.crossed_attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class EDTBody(nn.Module):
    """The shared transformer body: features (B, C, H, W) → (B, C, H, W)."""

    def __init__(self, config: EDTConfig = EDTConfig(), *, resolution: tuple[int, int] = (48, 48)) -> None:
        super().__init__()
        c = config.embed_dim
        self.stages = nn.ModuleList(
            nn.ModuleList(
                CrossedLocalAttentionBlock(c, resolution=resolution, num_heads=config.num_heads, window=config.window,
                                           shifted=j % 2 == 1, mlp_ratio=config.mlp_ratio)
                for j in range(depth)
            )
            for depth in config.depths
        )
        self.stage_convs = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in config.depths)  # "1conv"
        self.norm = nn.LayerNorm(c)
        self.conv_after_body = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        x = feat
        for blocks, conv in zip(self.stages, self.stage_convs, strict=True):
            y = x.permute(0, 2, 3, 1)
            for block in blocks:
                y = block(y)
            x = x + conv(y.permute(0, 3, 1, 2))  # stage residual
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return feat + self.conv_after_body(x)


# --------------------------------------------------------------------- task heads and tails
class ResBlock(nn.Module):
    """conv–LReLU–conv–LReLU plus a 1 × 1 shortcut; optional strided 4 × 4 down-sampling after it."""

    def __init__(self, c_in: int, c_out: int, *, down: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_in, 3, padding=1)
        self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)
        self.down = nn.Conv2d(c_out, c_out, 4, stride=2, padding=1, bias=False) if down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.2)), 0.2) + self.shortcut(x)
        return y


class SREncoder(nn.Module):
    """LR image (B, 3, H, W) → features (B, C, H, W)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SRDecoder(nn.Module):
    """Features (B, C, H, W) → HR image (B, 3, sH, sW) by conv + pixel shuffle."""

    def __init__(self, dim: int, scale: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, feat: torch.Tensor, _skips: list[torch.Tensor], _image: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(feat))


class DenoiseEncoder(nn.Module):
    """Noisy image (B, 3, H, W) → features (B, C, H/2^d, W/2^d) and the skip features per scale."""

    def __init__(self, dim: int, down: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, dim, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(dim, dim, down=True) for _ in range(down))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.head(x)
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)
            x = block.down(x)
        return x, skips


class DenoiseDecoder(nn.Module):
    """Features and skips → clean image (B, 3, H, W), predicted as a residual on the input."""

    def __init__(self, dim: int, down: int) -> None:
        super().__init__()
        self.ups = nn.ModuleList(nn.ConvTranspose2d(dim, dim, 2, stride=2) for _ in range(down))
        self.blocks = nn.ModuleList(ResBlock(2 * dim, dim) for _ in range(down))
        self.tail = nn.Conv2d(dim, 3, 3, padding=1)

    def forward(self, feat: torch.Tensor, skips: list[torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        x = feat
        for up, block, skip in zip(self.ups, self.blocks, reversed(skips), strict=True):
            x = block(torch.cat([up(x), skip], dim=1))
        return image + self.tail(x)


class EDT(nn.Module):
    """Per-task encoders/decoders around one shared body.

    ``tasks`` maps a task name to ``("sr", scale)`` or ``("denoise", 0)``;
    ``body_resolution`` is the token grid the body runs on (the SR input size,
    or the denoising input size divided by 2^denoise_down).
    """

    def __init__(self, config: EDTConfig = EDTConfig(), *, tasks: dict[str, tuple[str, int]],
                 body_resolution: tuple[int, int] = (48, 48)) -> None:
        super().__init__()
        c = config.embed_dim
        self.body = EDTBody(config, resolution=body_resolution)
        self.encoders, self.decoders = nn.ModuleDict(), nn.ModuleDict()
        for name, (kind, scale) in tasks.items():
            if kind == "sr":
                self.encoders[name], self.decoders[name] = SREncoder(c), SRDecoder(c, scale)
            elif kind == "denoise":
                self.encoders[name] = DenoiseEncoder(c, config.denoise_down)
                self.decoders[name] = DenoiseDecoder(c, config.denoise_down)
            else:
                raise ValueError(f"unknown task kind {kind!r} for task {name!r}")

    def forward(self, x: torch.Tensor, task: str) -> torch.Tensor:
        encoded = self.encoders[task](x)
        feat, skips = encoded if isinstance(encoded, tuple) else (encoded, [])
        return self.decoders[task](self.body(feat), skips, x)


# --------------------------------------------------------------------- examples
@register_example(covers=[EDT, EDTBody, CrossedLocalAttentionBlock, LePEWindowAttention, EDTMlp, SREncoder,
                          SRDecoder, DenoiseEncoder, DenoiseDecoder, ResBlock])
def edt_multitask() -> Example:
    g = seeded(0)
    model = EDT(TINY, tasks={"sr2": ("sr", 2), "denoise": ("denoise", 0)}, body_resolution=(8, 8))
    lr = torch.rand(1, 3, 8, 8, generator=g)
    noisy = torch.rand(1, 3, 32, 32, generator=g)
    return Example(model=model, inputs=(lr, noisy), output_shapes=((1, 3, 16, 16), (1, 3, 32, 32)),
                   run=lambda m, a, b: (m(a, "sr2"), m(b, "denoise")))
