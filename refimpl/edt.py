"""On Efficient Transformer and Image Pre-training for Low-level Vision (EDT).

Wenbo Li, Xin Lu, Shengju Qian, Jiangbo Lu, Xiangyu Zhang, Jiaya Jia.
arXiv:2112.10175 (2021). Catalog id: ``edt-low-level-transformer``.

Implemented:

* Sec. 3.1, the encoder–body–decoder framework: a convolutional encoder and
  decoder per task around one transformer body shared by all tasks (the
  multi-task / multi-related-task pre-training set-up of Sec. 4). Each
  encoder is a 3 × 3 conv, ``head_depth`` residual blocks doubling the
  channels (``num_feat`` → 2·``num_feat`` → …) and a 3 × 3 conv to the
  embedding; for denoising the blocks also halve the resolution (strided
  4 × 4 convs) so the body runs on 16× fewer tokens. The decoders mirror
  the encoders with skip connections: SR decoders fuse the skips at the low
  resolution and up-sample by pixel shuffle onto a bilinear up-sampling of
  the input; denoising decoders up-sample back with transposed convs and
  add the input. Images are shifted by the DIV2K RGB mean first.
* Sec. 3.2, shifted crossed local attention (SCL-MSA): the channels are split
  in two halves; one attends inside horizontal ``h × w`` windows, the other
  inside vertical ``w × h`` windows; every other block shifts both by half a
  window (Swin masking, built for the input's size). Each half adds a
  locally-enhanced positional encoding (LePE: a depthwise 3 × 3 convolution
  of V inside the window).
* The feed-forward network with a depthwise 5 × 5 convolution between its
  two linear layers; body stages with a stage-level residual, a LayerNorm
  on the tokens before the first stage and after the last, and a 3 × 3
  conv with the body's global residual.

Official code: fenglinglwb/EDT @ f4b3b77 (``utils/modules/edt.py``,
``configs/SRx2_EDT{T,S,B}_Div2kFlickr2K.py``, ``configs/DNg15_EDTB_D4.py``).
``OFFICIAL`` (= ``EDT_T``) is the SR×2 EDT-T config; ``EDT_S`` and ``EDT_B``
the larger ones. Parameter counts of the official ``Network`` built from those
configs (CPU, float32), reproduced here: EDT-T SR×2 916,924 (body 829,020 =
24 blocks of 33,180 + two LayerNorms + the 3 × 3 conv), EDT-S SR×2 4,230,323,
EDT-B denoising 11,503,163, EDT-T SR×2,×3,×4 with pixel shuffle 1,137,537
(tested); EDT-B SR×2 11,479,355 and SR×4 11,627,067. On small configs with
every weight set deterministically (``head_depth`` 2 and 3) the outputs match
the official ``Network``'s to 1e-14 in float64 (recorded in the tests); one
window of attention matches softmax(q·d^-1/2 kᵀ + mask) v + LePE(v) computed by
hand (EDT has no relative position bias; LePE is its positional term). One EDT-T block:
two LayerNorms (2 × 120), qkv 60→180 (10,980), two LePE depthwise 3 × 3
convs on 30 channels (2 × 300), proj 60→60 (3,660), MLP 60→120 (7,320),
depthwise 5 × 5 on 120 (3,120), 120→60 (7,260) = 33,180.

Deviations from the paper and the official code:

* Masked logits are −∞ (official: −100); the softmax weights agree to
  e^−100.
* No stochastic depth (the official body uses drop-path up to 0.1 during
  training) and no derain heads; tasks run one at a time (the official code
  batches every task through the body at once during training).
"""

from __future__ import annotations

import math
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
    num_feat: int = 8  # channels of the encoders' first conv, doubled by each residual block (NUM_FEAT)
    head_depth: int = 2  # residual blocks per encoder / decoder; denoising ones halve the size (DEPTH = NOISE_DOWN)
    upsampler: str = "pixelshuffledirect"  # SR tail: one conv + pixel shuffle (UPSAMPLER)
    rgb_mean: tuple[float, float, float] = (0.4488, 0.4371, 0.4040)  # subtracted from the input (DIV2K mean)
    img_range: float = 1.0  # IMAGE_RANGE


EDT_T = EDTConfig()  # configs/SRx2_EDTT_Div2kFlickr2K.py
EDT_S = EDTConfig(embed_dim=120, depths=(6,) * 5, num_feat=16, upsampler="pixelshuffle")  # SRx2_EDTS_*
EDT_B = EDTConfig(embed_dim=180, depths=(6,) * 6, num_feat=32, upsampler="pixelshuffle")  # SRx2_EDTB_*, DNg15_EDTB_*
OFFICIAL = EDT_T
TINY = EDTConfig(embed_dim=8, depths=(2,), num_heads=2, window=(2, 4), num_feat=2, upsampler="pixelshuffle")


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
    """SCL-MSA block (Sec. 3.2): (B, H, W, C) → (B, H, W, C).

    The shift masks are built for the input's size at every call (the official
    block caches them for the training patch size and rebuilds them for any
    other size, e.g. whole test images).
    """

    def __init__(self, dim: int, *, num_heads: int, window: tuple[int, int], shifted: bool, mlp_ratio: float) -> None:
        super().__init__()
        self.windows = (window, (window[1], window[0]))  # horizontal, vertical
        self.shifts = ((window[0] // 2, window[1] // 2), (window[1] // 2, window[0] // 2)) if shifted else None
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attns = nn.ModuleList([LePEWindowAttention(dim // 2, win, num_heads) for win in self.windows])
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = EDTMlp(dim, int(dim * mlp_ratio))

    def shift_mask(self, i: int, size: tuple[int, int]) -> torch.Tensor:
        """Mask of half ``i`` (0 horizontal, 1 vertical) for an H × W token grid."""
        return shifted_window_mask(size[0], size[1], self.windows[i], self.shifts[i])

    def crossed_attention(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[-1]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        outs = []
        for i, attn in enumerate(self.attns):
            part = [t[..., i * c // 2:(i + 1) * c // 2] for t in (q, k, v)]
            mask = None
            if self.shifts:
                mask = self.shift_mask(i, (x.shape[1], x.shape[2])).to(x)
                part = [torch.roll(t, shifts=tuple(-s for s in self.shifts[i]), dims=(1, 2)) for t in part]
            out = attn(*part, mask)
            outs.append(torch.roll(out, shifts=self.shifts[i], dims=(1, 2)) if self.shifts else out)
        return self.proj(torch.cat(outs, dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.crossed_attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class EDTBody(nn.Module):
    """The shared transformer body: features (B, C, H, W) → (B, C, H, W)."""

    def __init__(self, config: EDTConfig = EDTConfig()) -> None:
        super().__init__()
        c = config.embed_dim
        self.embed_norm = nn.LayerNorm(c)  # the official patch embedding: tokens, then LayerNorm
        self.stages = nn.ModuleList(
            nn.ModuleList(
                CrossedLocalAttentionBlock(c, num_heads=config.num_heads, window=config.window, shifted=j % 2 == 1,
                                           mlp_ratio=config.mlp_ratio)
                for j in range(depth)
            )
            for depth in config.depths
        )
        self.norm = nn.LayerNorm(c)
        self.conv_after_body = nn.Conv2d(c, c, 3, padding=1)
        for m in self.modules():  # the official body's initialisation of its linear layers
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        x = self.embed_norm(feat.permute(0, 2, 3, 1))
        for blocks in self.stages:
            y = x
            for block in blocks:
                y = block(y)
            x = x + y  # stage residual
        x = self.norm(x).permute(0, 3, 1, 2)
        return feat + self.conv_after_body(x)


# --------------------------------------------------------------------- encoders and decoders
class ResBlock(nn.Module):
    """conv 3 × 3 (c_in → c_in)–LReLU–conv (→ c_out)–LReLU plus a 1 × 1 shortcut; ``down``: a strided 4 × 4 conv."""

    def __init__(self, c_in: int, c_out: int, *, down: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_in, 3, padding=1)
        self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)
        self.down = nn.Conv2d(c_out, c_out, 4, stride=2, padding=1, bias=False) if down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.2)), 0.2) + self.shortcut(x)


class ResBlockUp(nn.Module):
    """conv 3 × 3 (c_in → c_out)–LReLU–conv (→ c_out)–LReLU plus a 1 × 1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.2)), 0.2) + self.shortcut(x)


class SkipFusion(nn.Module):
    """Decoder step: bring x to c_out (3 × 3 conv, or a 2 × 2 transposed conv that doubles the size), concatenate
    the encoder's skip and fuse them with a :class:`ResBlockUp`."""

    def __init__(self, c_in: int, c_out: int, *, up: bool) -> None:
        super().__init__()
        self.pre = nn.ConvTranspose2d(c_in, c_out, 2, stride=2) if up else nn.Conv2d(c_in, c_out, 3, padding=1)
        self.block = ResBlockUp(2 * c_out, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.pre(x), skip], dim=1))


class _ConvEncoder(nn.Module):
    down = False

    def __init__(self, config: EDTConfig) -> None:
        super().__init__()
        f, d = config.num_feat, config.head_depth
        self.head = nn.Conv2d(3, f, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(f * 2**i, f * 2 ** (i + 1), down=self.down) for i in range(d))
        self.tail = nn.Conv2d(f * 2**d, config.embed_dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.head(x)
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)  # before any down-sampling
            if block.down is not None:
                x = block.down(x)
        return self.tail(x), skips


class SREncoder(_ConvEncoder):
    """LR image (B, 3, H, W) → features (B, C, H, W) and one skip per residual block."""


class DenoiseEncoder(_ConvEncoder):
    """Noisy image (B, 3, H, W) → features (B, C, H/2^d, W/2^d) and the skip features per scale."""

    down = True


def _decoder_channels(config: EDTConfig) -> list[tuple[int, int]]:
    # mirrors the encoder: embed_dim → 2^d·f … → 2f, deepest skip first
    f, d = config.num_feat, config.head_depth
    return [(config.embed_dim if i == d - 1 else f * 2 ** (i + 2), f * 2 ** (i + 1)) for i in reversed(range(d))]


class SRDecoder(nn.Module):
    """Features, skips and the LR image → HR image (B, 3, sH, sW).

    The pixel-shuffle output is added to the bilinearly up-sampled input.
    """

    def __init__(self, config: EDTConfig, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.blocks = nn.ModuleList(SkipFusion(c_in, c_out, up=False) for c_in, c_out in _decoder_channels(config))
        f = 2 * config.num_feat
        if config.upsampler == "pixelshuffledirect":  # one conv straight to the RGB sub-pixels
            self.upsample = nn.Sequential(nn.Conv2d(f, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
            self.out = nn.Identity()
        elif config.upsampler == "pixelshuffle":  # ×2 steps (or one ×3) on features, then conv to RGB
            if scale & (scale - 1) == 0:
                steps = [(4, 2)] * int(math.log2(scale))
            elif scale == 3:
                steps = [(9, 3)]
            else:
                raise ValueError(f"pixel-shuffle up-sampling supports scales 2^n and 3, got {scale}")
            self.upsample = nn.Sequential(*(m for k, s in steps
                                            for m in (nn.Conv2d(f, k * f, 3, padding=1), nn.PixelShuffle(s))))
            self.out = nn.Conv2d(f, 3, 3, padding=1)
        else:
            raise ValueError(f"unknown upsampler {config.upsampler!r}")

    def forward(self, feat: torch.Tensor, skips: list[torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        x = feat
        for j, block in enumerate(self.blocks):
            x = block(x, skips[-j - 1])
        base = F.interpolate(image, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + self.out(self.upsample(x))


class DenoiseDecoder(nn.Module):
    """Features and skips → clean image (B, 3, H, W), predicted as a residual on the input."""

    def __init__(self, config: EDTConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(SkipFusion(c_in, c_out, up=True) for c_in, c_out in _decoder_channels(config))
        self.tail = nn.Conv2d(2 * config.num_feat, 3, 3, padding=1)

    def forward(self, feat: torch.Tensor, skips: list[torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        x = feat
        for j, block in enumerate(self.blocks):
            x = block(x, skips[-j - 1])
        return image + self.tail(x)


class EDT(nn.Module):
    """Per-task encoders/decoders around one shared body.

    ``tasks`` maps a task name to ``("sr", scale)`` or ``("denoise", 0)``. The
    body runs on the SR input size, or the denoising input size divided by
    2^head_depth (48² tokens for the official 48² / 192² training patches).
    """

    def __init__(self, config: EDTConfig = EDTConfig(), *, tasks: dict[str, tuple[str, int]]) -> None:
        super().__init__()
        self.config = config
        self.body = EDTBody(config)
        self.encoders, self.decoders = nn.ModuleDict(), nn.ModuleDict()
        for name, (kind, scale) in tasks.items():
            if kind == "sr":
                self.encoders[name], self.decoders[name] = SREncoder(config), SRDecoder(config, scale)
            elif kind == "denoise":
                self.encoders[name], self.decoders[name] = DenoiseEncoder(config), DenoiseDecoder(config)
            else:
                raise ValueError(f"unknown task kind {kind!r} for task {name!r}")
        self.register_buffer("rgb_mean", torch.tensor(config.rgb_mean).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, task: str) -> torch.Tensor:
        lq = (x - self.rgb_mean) * self.config.img_range
        feat, skips = self.encoders[task](lq)
        out = self.decoders[task](self.body(feat), skips, lq)
        return out / self.config.img_range + self.rgb_mean


# --------------------------------------------------------------------- examples
@register_example(covers=[EDT, EDTBody, CrossedLocalAttentionBlock, LePEWindowAttention, EDTMlp, SREncoder,
                          SRDecoder, DenoiseEncoder, DenoiseDecoder, ResBlock, ResBlockUp, SkipFusion])
def edt_multitask() -> Example:
    g = seeded(0)
    model = EDT(TINY, tasks={"sr2": ("sr", 2), "denoise": ("denoise", 0)})
    lr = torch.rand(1, 3, 8, 8, generator=g)
    noisy = torch.rand(1, 3, 32, 32, generator=g)
    return Example(model=model, inputs=(lr, noisy), output_shapes=((1, 3, 16, 16), (1, 3, 32, 32)),
                   run=lambda m, a, b: (m(a, "sr2"), m(b, "denoise")))
