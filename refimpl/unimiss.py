"""UniMiSS: Universal Medical Self-Supervised Learning via Breaking Dimensionality Barrier.

Yutong Xie, Jianpeng Zhang, Yong Xia, Qi Wu. 2021. arXiv:2112.09356 (first
titled "Unified 2D and 3D Pre-training for Medical Image Classification and
Segmentation"). Catalog id: ``unified-2d-3d-medical-pretraining``.

Implemented: MiT, the pyramid U-like medical Transformer that lets one network
learn from 2D images and 3D volumes (encoder and pre-training decoder), and the
self-distillation objective it is pre-trained with. Defaults follow the
official code's pre-training configuration.

* Switchable patch embedding (SPE): every down-sampling step has a 2D and a 3D
  branch (convolution without bias → InstanceNorm with affine parameters →
  LeakyReLU(0.01)); the rank of the input picks the branch. A 7×7(×7) stem
  with stride 2 (2D) or (1, 2, 2) (3D) is followed, at each of four stages, by
  a 3×3(×3) embedding with stride 2, so a stage's grid is the previous one
  halved (in depth too, for volumes).
* The embedded patches of either dimensionality become one sequence: a class
  token (a learnt vector at stage 1; at stages 2–4 a linear map of the previous
  stage's class token) is prepended and a learnt position embedding of the
  modality is added (resampled, bicubic in 2D and trilinear in 3D, when the
  grid differs from the one of the configured input size).
* Transformer blocks (pre-norm, ``x + Attn(LN(x))``, ``x + MLP(LN(x))``, GELU
  MLP) whose q, kv, output projection and MLP weights are shared by 2D and 3D
  inputs. Attention is spatial-reduction attention: queries come from every
  token; keys and values from the class token and the patch grid reduced by a
  strided ``sr×sr`` convolution, which has a 2D and a 3D copy in each layer,
  followed by one LayerNorm shared by both.
* Outputs, as the official encoder returns them: the stem's feature map, the
  patch feature maps of stages 1–3 (class token removed) and the stage-4
  token sequence with its class token in front.
* The decoder that makes MiT U-like (``MiT``): three stages back up the
  pyramid, each a 2×2(×2) transposed convolution (one per modality) whose
  output is added to the encoder's feature map of the same grid, a class token
  mapped linearly from the previous one, a position embedding per modality and
  the same shared spatial-reduction blocks; the LayerNorm-ed final class token
  is the representation that self-distillation trains.
* Self-distillation (``UniMiSS`` = MiT + ``ProjectionHead``): a GELU MLP to a
  bottleneck, L2 normalisation and a weight-normalised linear layer whose gain
  is frozen at 1; ``self_distillation_loss``, the cross-entropy of each student
  view's softmax (temperature 0.1) against the other view of the teacher's
  centred softmax (temperature 0.04), with no gradient to the teacher;
  ``update_center`` (EMA 0.9 of the teacher's batch mean); the teacher's EMA
  (``update_teacher``) with the cosine momentum schedule from 0.996 to 1
  (``teacher_momentum``).
* The official initialisation (``init_weights``): truncated-normal linear
  weights (std 0.02) with zero biases, Kaiming-normal (fan-out) convolution
  weights, truncated-normal position embeddings and class token.

Official code: YtongXie/UniMiSS-code, ``UniMiSS/models/MiT_encoder.py`` and
``UniMiSS/models/Pacth_embeds.py`` (added in 7d3a592) with
``UniMiSS/models/MiT.py`` (created in 0bce2c8, last changed in 4f530a7; the
three files are unchanged up to 68be0a4). ``OFFICIAL`` is the encoder the
pre-training script builds (``main.py``: ``--arch model_small`` →
``encoder_small``, ``norm2D='IN2'``, ``norm3D='IN3'``, ``act='LeakyReLU'``,
``modal_type='MM'``, inputs 224² and 16×96×96): 28,523,888 parameters (2D-only
17,321,312, 3D-only 24,644,064), and with the decoder (``MiT``, ``model_small``)
43,942,944 (2D-only 23,804,704, 3D-only 36,996,000); ``OFFICIAL_TINY``
(``encoder_tiny`` / ``model_tiny``, one block per stage): 13,859,392 and
20,380,336. Counted by instantiating the official models; tested, with the
output shapes at 224² and 16×96×96 (encoder: 32×112², 48×56², 128×28², 256×14²
and 50 tokens of 512; 32×16×48², 48×8×24², 128×4×12², 256×2×6² and 10 tokens;
MiT: a 48-vector), and float64 worked examples on a rule-filled small
configuration (``TINY``) that equal the official encoder's and MiT's outputs to
1e-9, at the configured sizes and with resampled position embeddings.
``OFFICIAL_DISTILLATION`` holds ``main.py``'s head and loss settings; the
official ``Head(48, 65536)`` has 21,664,000 parameters (21,598,464 trainable),
tested, as are a float64 head output and a ``TrainLoss`` value and centre.

Deviations from the paper and the official code:

* Not implemented: the data pipeline and its views, the training loop that
  alternates 2D and 3D epochs, the learning-rate and weight-decay schedules,
  gradient clipping, and the downstream segmentation and classification
  networks. The head's batch-norm option (``use_bn``, off in pre-training) is
  not offered. ``update_center`` averages one process's batch; the official
  code all-reduces it over processes first.
* Stochastic depth and dropout are left out: the rates are 0 in the official
  model (``main.py`` passes ``drop_path_rate=0.1`` to ``model_small``, which
  does not forward it).
* The official decoder's unused ``nn.Upsample`` members are left out (they hold
  no parameters).
* Only instance normalisation is offered in the embeddings (the official
  ``Norm_layer`` also offers batch, group and layer norms; pre-training uses
  instance norm), and no weight-standardised convolutions (``ws=False``).
* Grids are read off the embedding's output, so the encoder takes odd sizes;
  the official code halves the size with ``//`` and fails there. (MiT's skips
  still need each encoder grid to be twice the next one.)
* The position embedding is resampled to the grid's (depth, height, width)
  from the configured grid. The official code passes width where height is
  expected and, in 3D, assumes the configured depth; on the inputs it accepts
  without error (square in-plane grids, configured depth) the two agree.
* The 2D and 3D stems take ``in_chans_2d`` and ``in_chans_3d`` channels
  (official: 3 and 1, the 3 being fixed in the code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded

# The rank of a batch names its modality.
MODALITY_OF_RANK = {4: "2d", 5: "3d"}


@dataclass(frozen=True)
class MiTConfig:
    """MiT encoder and decoder; defaults are the official pre-training model (``model_small``, ``main.py``)."""

    in_chans_2d: int = 3  # MiT_encoder.py: the 2D stem convolution takes 3 channels
    in_chans_3d: int = 1  # MiT_encoder.py: in_chans=1 (CT volumes)
    stem_dim: int = 32  # MiT_encoder.py: the 7×7(×7) stem has 32 channels
    embed_dims: tuple[int, ...] = (48, 128, 256, 512)  # encoder_small
    depths: tuple[int, ...] = (2, 3, 4, 3)  # encoder_small
    num_heads: tuple[int, ...] = (1, 2, 4, 8)  # encoder_small
    mlp_ratios: tuple[float, ...] = (4, 4, 4, 4)  # encoder_small
    sr_ratios: tuple[int, ...] = (6, 4, 2, 1)  # encoder_small: spatial-reduction kernel = stride
    qkv_bias: bool = True  # encoder_small
    img_size_2d: int = 224  # main.py --img_size2D
    img_size_3d: tuple[int, int, int] = (16, 96, 96)  # main.py --img_size3D
    leaky_slope: float = 0.01  # main.py act='LeakyReLU'; Pacth_embeds.py negative_slope=1e-2
    norm_eps: float = 1e-6  # encoder_small: norm_layer=partial(nn.LayerNorm, eps=1e-6)
    sr_norm_eps: float = 1e-5  # MiT_encoder.py Attention: nn.LayerNorm(dim), PyTorch's default eps
    modalities: tuple[str, ...] = ("2d", "3d")  # main.py modal_type='MM': both branches
    # The decoder of pre-training (MiT.py model_small): three stages back up the pyramid.
    dec_dims: tuple[int, ...] = (256, 128, 48)  # model_small embed_dims
    dec_depths: tuple[int, ...] = (3, 4, 3)  # model_small depths
    dec_heads: tuple[int, ...] = (8, 4, 2)  # model_small num_heads
    dec_mlp_ratios: tuple[float, ...] = (4, 4, 4)  # model_small mlp_ratios
    dec_sr_ratios: tuple[int, ...] = (2, 4, 6)  # model_small sr_ratios
    dec_qkv_bias: bool = False  # MiT.py: model_small passes none, MiT's default qkv_bias=False
    dec_norm_eps: float = 1e-5  # MiT.py: norm_layer=nn.LayerNorm, PyTorch's default eps


OFFICIAL = MiTConfig(
    in_chans_2d=3, in_chans_3d=1, stem_dim=32, embed_dims=(48, 128, 256, 512), depths=(2, 3, 4, 3),
    num_heads=(1, 2, 4, 8), mlp_ratios=(4, 4, 4, 4), sr_ratios=(6, 4, 2, 1), qkv_bias=True,
    img_size_2d=224, img_size_3d=(16, 96, 96), leaky_slope=0.01, norm_eps=1e-6, sr_norm_eps=1e-5,
    modalities=("2d", "3d"), dec_dims=(256, 128, 48), dec_depths=(3, 4, 3), dec_heads=(8, 4, 2),
    dec_mlp_ratios=(4, 4, 4), dec_sr_ratios=(2, 4, 6), dec_qkv_bias=False, dec_norm_eps=1e-5,
)  # YtongXie/UniMiSS-code @ 4f530a7, UniMiSS/models/MiT_encoder.py encoder_small, as main.py builds it
# MiT_encoder.py encoder_tiny and MiT.py model_tiny (main.py --arch model_tiny)
OFFICIAL_TINY = MiTConfig(depths=(1, 1, 1, 1), dec_depths=(1, 1, 1))
# A small encoder of the same design: unequal widths, heads and MLP ratios per stage, two blocks
# in stage 2, reduction in stages 1 and 2 only, a non-cubic volume (grid depth ≠ height).
TINY = MiTConfig(
    stem_dim=8, embed_dims=(8, 16, 24, 32), depths=(1, 2, 1, 1), num_heads=(1, 2, 2, 4),
    mlp_ratios=(4, 2, 4, 4), sr_ratios=(4, 2, 1, 1), img_size_2d=64, img_size_3d=(32, 32, 32),
    dec_dims=(24, 16, 8), dec_depths=(1, 2, 1), dec_heads=(2, 2, 1), dec_mlp_ratios=(4, 2, 4),
    dec_sr_ratios=(2, 2, 4),
)


def stage_grids(config: MiTConfig, modality: str) -> list[tuple[int, ...]]:
    """Patch grid of each stage at the configured input size (the position embeddings' grids).

    2D: the stem and every stage halve the side. 3D: the stem keeps the depth, the stages halve it.
    """
    if modality == "2d":
        return [(config.img_size_2d // 2 ** (i + 2),) * 2 for i in range(4)]
    d, h, w = config.img_size_3d
    return [(d // 2 ** (i + 1), h // 2 ** (i + 2), w // 2 ** (i + 2)) for i in range(4)]


class ConvNormAct(nn.Module):
    """Convolution without bias → InstanceNorm (affine) → LeakyReLU, in 2 or 3 dimensions."""

    def __init__(self, dims: int, in_chans: int, out_chans: int, kernel: int, stride: int | tuple[int, ...],
                 padding: int, slope: float) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"expected 2 or 3 spatial dimensions, got {dims}")
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        norm = nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d
        self.conv = conv(in_chans, out_chans, kernel, stride=stride, padding=padding, bias=False)
        self.norm = norm(out_chans, affine=True)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), self.slope)


class SwitchablePatchEmbedding(nn.Module):
    """SPE: a 2D and a 3D embedding of one width; the input's rank picks the branch.

    Returns the feature map (N, C, *grid) of the chosen branch.
    """

    def __init__(self, in_2d: int, in_3d: int, out_chans: int, kernel: int, stride_2d: int,
                 stride_3d: tuple[int, int, int], padding: int, slope: float,
                 modalities: tuple[str, ...] = ("2d", "3d")) -> None:
        super().__init__()
        self.branch_2d = ConvNormAct(2, in_2d, out_chans, kernel, stride_2d, padding, slope) \
            if "2d" in modalities else None
        self.branch_3d = ConvNormAct(3, in_3d, out_chans, kernel, stride_3d, padding, slope) \
            if "3d" in modalities else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.branch_2d if x.dim() == 4 else self.branch_3d
        if branch is None:
            raise ValueError(f"this encoder has no {MODALITY_OF_RANK[x.dim()]} branch")
        return branch(x)


class SpatialReductionAttention(nn.Module):
    """Multi-head attention whose keys and values come from a reduced grid plus the class token.

    q, kv and proj are shared by the modalities; the reduction convolution (kernel = stride = sr)
    has one copy per modality and is followed by a LayerNorm both share.
    """

    def __init__(self, dim: int, num_heads: int, sr_ratio: int, qkv_bias: bool = True,
                 sr_norm_eps: float = 1e-5, modalities: tuple[str, ...] = ("2d", "3d")) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr_2d = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio) if "2d" in modalities else None
            self.sr_3d = nn.Conv3d(dim, dim, sr_ratio, stride=sr_ratio) if "3d" in modalities else None
            self.sr_norm = nn.LayerNorm(dim, eps=sr_norm_eps)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        return x.reshape(n, length, self.num_heads, dim // self.num_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
        """x: (N, 1 + prod(grid), C), class token first; grid: the patch grid, (H, W) or (D, H, W)."""
        n, length, dim = x.shape
        source = x
        if self.sr_ratio > 1:
            reduce = self.sr_2d if len(grid) == 2 else self.sr_3d
            patches = x[:, 1:].transpose(1, 2).reshape(n, dim, *grid)
            reduced = reduce(patches).flatten(2).transpose(1, 2)
            source = self.sr_norm(torch.cat([x[:, :1], reduced], dim=1))
        k, v = self.kv(source).chunk(2, dim=-1)
        q, k, v = self._heads(self.q(x)), self._heads(k), self._heads(v)
        attn = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, length, dim))


class MiTBlock(nn.Module):
    """Pre-norm Transformer block: x + Attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, sr_ratio: int, qkv_bias: bool = True,
                 norm_eps: float = 1e-6, sr_norm_eps: float = 1e-5,
                 modalities: tuple[str, ...] = ("2d", "3d")) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = SpatialReductionAttention(dim, num_heads, sr_ratio, qkv_bias, sr_norm_eps, modalities)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), grid)
        return x + self.mlp(self.norm2(x))


def resample_position(pos: torch.Tensor, stored: tuple[int, ...], grid: tuple[int, ...]) -> torch.Tensor:
    """Position embedding (1, 1 + prod(stored), C) for a patch grid ``grid``.

    The class token's entry is kept; the patch entries, laid out on ``stored``, are resampled
    (bicubic in 2D, trilinear in 3D) with scale factors (g + 0.1) / s, as the official code does
    (the 0.1 keeps floor(s · factor) = g despite rounding).
    """
    if tuple(grid) == tuple(stored):
        return pos
    dim = pos.shape[-1]
    patches = pos[:, 1:].reshape(1, *stored, dim).movedim(-1, 1)
    factors = tuple((g + 0.1) / s for g, s in zip(grid, stored, strict=True))
    mode = "bicubic" if len(grid) == 2 else "trilinear"
    patches = F.interpolate(patches, scale_factor=factors, mode=mode)
    return torch.cat([pos[:, :1], patches.flatten(2).transpose(1, 2)], dim=1)


def init_weights(module: nn.Module) -> None:
    """The official initialisation: linear weights truncated-normal (std 0.02) with zero biases,
    convolution weights Kaiming-normal over the fan-out, norms at weight 1 and bias 0.
    (Transposed convolutions keep PyTorch's default, as there.)"""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.Conv2d, nn.Conv3d)):
            # kaiming_normal_(mode="fan_out") with its default gain sqrt(2), written out: that call is
            # slow on the meta device
            nn.init.normal_(m.weight, std=math.sqrt(2 / (m.out_channels * math.prod(m.kernel_size))))


class MiTEncoder(nn.Module):
    """MiT encoder: SPE stem, four SPE + Transformer stages, 2D and 3D inputs through shared blocks.

    ``forward`` takes (N, C, H, W) images or (N, C, D, H, W) volumes and returns five tensors:
    the stem's feature map, the feature maps of stages 1–3 and the stage-4 tokens (N, 1 + L, C)
    with the class token first.
    """

    def __init__(self, config: MiTConfig = OFFICIAL) -> None:
        super().__init__()
        c = config
        self.config = c
        dims = c.embed_dims
        self.stem = SwitchablePatchEmbedding(c.in_chans_2d, c.in_chans_3d, c.stem_dim, 7, 2, (1, 2, 2), 3,
                                             c.leaky_slope, c.modalities)
        self.embeds = nn.ModuleList(
            SwitchablePatchEmbedding(cin, cin, cout, 3, 2, (2, 2, 2), 1, c.leaky_slope, c.modalities)
            for cin, cout in zip((c.stem_dim, *dims[:-1]), dims, strict=True))
        self.grids = {m: stage_grids(c, m) for m in c.modalities}
        self.pos_2d = nn.ParameterList(self._positions("2d"))
        self.pos_3d = nn.ParameterList(self._positions("3d"))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims[0]))
        self.cls_proj = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.blocks = nn.ModuleList(
            nn.ModuleList(MiTBlock(dims[i], c.num_heads[i], c.mlp_ratios[i], c.sr_ratios[i], c.qkv_bias,
                                   c.norm_eps, c.sr_norm_eps, c.modalities) for _ in range(c.depths[i]))
            for i in range(4))
        for p in (*self.pos_2d, *self.pos_3d, self.cls_token):
            nn.init.trunc_normal_(p, std=0.02)
        init_weights(self)

    def _positions(self, modality: str) -> list[nn.Parameter]:
        if modality not in self.config.modalities:
            return []
        return [nn.Parameter(torch.zeros(1, 1 + math.prod(g), d))
                for g, d in zip(self.grids[modality], self.config.embed_dims, strict=True)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.encode(x)[0]

    def encode(self, x: torch.Tensor) -> tuple[list[torch.Tensor], tuple[int, ...]]:
        """The five outputs of ``forward`` and the stage-4 patch grid."""
        modality = MODALITY_OF_RANK.get(x.dim())
        if modality is None:
            raise ValueError(f"expected a 4-D image or 5-D volume batch, got shape {tuple(x.shape)}")
        if modality not in self.config.modalities:
            raise ValueError(f"this encoder has no {modality} branch")
        positions = self.pos_2d if modality == "2d" else self.pos_3d
        n = x.shape[0]
        x = self.stem(x)
        outputs = [x]
        cls = self.cls_token.expand(n, -1, -1)
        for i, (embed, blocks) in enumerate(zip(self.embeds, self.blocks, strict=True)):
            feature = embed(x)
            grid = tuple(feature.shape[2:])
            if i > 0:
                cls = self.cls_proj[i - 1](cls)
            tokens = torch.cat([cls, feature.flatten(2).transpose(1, 2)], dim=1)
            tokens = tokens + resample_position(positions[i], self.grids[modality][i], grid)
            for block in blocks:
                tokens = block(tokens, grid)
            cls = tokens[:, :1]
            x = tokens[:, 1:].transpose(1, 2).reshape(n, -1, *grid)
            outputs.append(x if i < 3 else tokens)  # the last stage keeps its class token
        return outputs, grid


class MiT(nn.Module):
    """MiT: the encoder and a decoder back up the pyramid; the pre-training representation.

    Each decoder stage up-samples the previous grid by a 2×2(×2) transposed convolution, adds the
    encoder's feature map of that grid (stages 3, 2, 1), prepends a class token (a linear map of the
    previous one, the encoder's stage-4 class token first), adds a position embedding of the
    modality and runs Transformer blocks. ``forward`` returns the final class token after a
    LayerNorm, (N, dec_dims[-1]): what the projection head of self-distillation receives.
    """

    def __init__(self, config: MiTConfig = OFFICIAL) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = MiTEncoder(c)
        ins = (c.embed_dims[-1], *c.dec_dims[:-1])
        self.up_2d = nn.ModuleList(nn.ConvTranspose2d(a, b, 2, stride=2) for a, b in zip(ins, c.dec_dims, strict=True)) \
            if "2d" in c.modalities else None
        self.up_3d = nn.ModuleList(nn.ConvTranspose3d(a, b, 2, stride=2) for a, b in zip(ins, c.dec_dims, strict=True)) \
            if "3d" in c.modalities else None
        # Decoder stage j works on the grid of encoder stage 3 - j.
        self.grids = {m: g[2::-1] for m, g in self.encoder.grids.items()}
        self.pos_2d = nn.ParameterList(self._positions("2d"))
        self.pos_3d = nn.ParameterList(self._positions("3d"))
        self.cls_proj = nn.ModuleList(nn.Linear(a, b) for a, b in zip(ins, c.dec_dims, strict=True))
        self.blocks = nn.ModuleList(
            nn.ModuleList(MiTBlock(c.dec_dims[j], c.dec_heads[j], c.dec_mlp_ratios[j], c.dec_sr_ratios[j],
                                   c.dec_qkv_bias, c.dec_norm_eps, c.sr_norm_eps, c.modalities)
                          for _ in range(c.dec_depths[j]))
            for j in range(3))
        self.norm = nn.LayerNorm(c.dec_dims[-1], eps=c.dec_norm_eps)
        for p in (*self.pos_2d, *self.pos_3d):
            nn.init.trunc_normal_(p, std=0.02)
        init_weights(self)  # the encoder's layers again, as the official MiT re-applies its initialisation

    def _positions(self, modality: str) -> list[nn.Parameter]:
        if modality not in self.config.modalities:
            return []
        return [nn.Parameter(torch.zeros(1, 1 + math.prod(g), d))
                for g, d in zip(self.grids[modality], self.config.dec_dims, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, grid = self.encoder.encode(x)  # raises on a rank or modality the encoder lacks
        modality = MODALITY_OF_RANK[x.dim()]
        ups, positions = (self.up_2d, self.pos_2d) if modality == "2d" else (self.up_3d, self.pos_3d)
        tokens = features[-1]
        n = tokens.shape[0]
        cls = tokens[:, :1]
        x = tokens[:, 1:].transpose(1, 2).reshape(n, -1, *grid)
        for j, (up, blocks) in enumerate(zip(ups, self.blocks, strict=True)):
            skip = features[3 - j]
            up_map = up(x)
            grid = tuple(up_map.shape[2:])
            patches = (up_map + skip).flatten(2).transpose(1, 2)
            cls = self.cls_proj[j](cls)
            seq = torch.cat([cls, patches], dim=1)
            seq = seq + resample_position(positions[j], self.grids[modality][j], grid)
            for block in blocks:
                seq = block(seq, grid)
            cls = seq[:, :1]
            x = seq[:, 1:].transpose(1, 2).reshape(n, -1, *grid)
        return self.norm(seq[:, 0])


@dataclass(frozen=True)
class SelfDistillationConfig:
    """Projection head and self-distillation objective of pre-training (official defaults)."""

    out_dim: int = 65536  # main.py --out_dim
    hidden_dim: int = 2048  # MiT.py Head: hidden_dim
    bottleneck_dim: int = 256  # MiT.py Head: bottleneck_dim
    num_layers: int = 3  # MiT.py Head: nlayers
    norm_last_layer: bool = True  # main.py --norm_last_layer: the weight norm's gain stays 1
    student_temp: float = 0.1  # main.py TrainLoss: student_temp
    teacher_temp: float = 0.04  # main.py --teacher_temp (warm-up from 0.04 over 0 epochs: constant)
    center_momentum: float = 0.9  # main.py TrainLoss: center_momentum
    teacher_momentum: float = 0.996  # main.py --momentum_teacher, raised to 1 by a cosine schedule


OFFICIAL_DISTILLATION = SelfDistillationConfig(
    out_dim=65536, hidden_dim=2048, bottleneck_dim=256, num_layers=3, norm_last_layer=True, student_temp=0.1,
    teacher_temp=0.04, center_momentum=0.9, teacher_momentum=0.996,
)  # YtongXie/UniMiSS-code UniMiSS/main.py (arguments, TrainLoss) and UniMiSS/models/MiT.py Head
TINY_DISTILLATION = SelfDistillationConfig(out_dim=10, hidden_dim=16, bottleneck_dim=6)


class ProjectionHead(nn.Module):
    """MLP (GELU) to a bottleneck, L2 normalisation, then a weight-normalised linear layer to ``out_dim``."""

    def __init__(self, in_dim: int, config: SelfDistillationConfig = OFFICIAL_DISTILLATION) -> None:
        super().__init__()
        c = config
        if c.num_layers == 1:
            self.mlp: nn.Module = nn.Linear(in_dim, c.bottleneck_dim)
        else:
            layers: list[nn.Module] = [nn.Linear(in_dim, c.hidden_dim), nn.GELU()]
            for _ in range(c.num_layers - 2):
                layers += [nn.Linear(c.hidden_dim, c.hidden_dim), nn.GELU()]
            self.mlp = nn.Sequential(*layers, nn.Linear(c.hidden_dim, c.bottleneck_dim))
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        self.last_layer = nn.utils.parametrizations.weight_norm(nn.Linear(c.bottleneck_dim, c.out_dim, bias=False))
        gain = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            gain.fill_(1.0)
        gain.requires_grad_(not c.norm_last_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(F.normalize(self.mlp(x), dim=-1))


def self_distillation_loss(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor,
                           student_temp: float = OFFICIAL_DISTILLATION.student_temp,
                           teacher_temp: float = OFFICIAL_DISTILLATION.teacher_temp, views: int = 2) -> torch.Tensor:
    """Cross-entropy of the student's views against the centred, sharpened teacher's other view.

    ``student`` stacks ``views`` views and ``teacher`` two (the global views) along the batch; every
    (teacher view i, student view v ≠ i) pair is one term, averaged over the batch, and the terms are
    averaged. The teacher receives no gradient.
    """
    targets = torch.softmax((teacher - center) / teacher_temp, dim=-1).detach().chunk(2)
    logs = F.log_softmax(student / student_temp, dim=-1).chunk(views)
    terms = [-(t * log).sum(dim=-1).mean() for i, t in enumerate(targets) for v, log in enumerate(logs) if v != i]
    return torch.stack(terms).mean()


def update_center(center: torch.Tensor, teacher: torch.Tensor,
                  momentum: float = OFFICIAL_DISTILLATION.center_momentum) -> torch.Tensor:
    """EMA of the teacher's batch mean: the centre subtracted from the teacher's outputs."""
    return center * momentum + teacher.detach().mean(dim=0) * (1 - momentum)


def teacher_momentum(step: int, total_steps: int, base: float = OFFICIAL_DISTILLATION.teacher_momentum) -> float:
    """Cosine schedule of the teacher's EMA momentum, from ``base`` at step 0 towards 1."""
    return 1 + 0.5 * (base - 1) * (1 + math.cos(math.pi * step / total_steps))


@torch.no_grad()
def update_teacher(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """teacher ← momentum · teacher + (1 − momentum) · student, parameter by parameter."""
    for t, s in zip(teacher.parameters(), student.parameters(), strict=True):
        t.mul_(momentum).add_(s, alpha=1 - momentum)


class UniMiSS(nn.Module):
    """Student network of pre-training: MiT followed by the projection head."""

    def __init__(self, config: MiTConfig = OFFICIAL,
                 distillation: SelfDistillationConfig = OFFICIAL_DISTILLATION) -> None:
        super().__init__()
        self.backbone = MiT(config)
        self.head = ProjectionHead(config.dec_dims[-1], distillation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


@register_example(covers=[UniMiSS, ProjectionHead, self_distillation_loss, update_center])
def unimiss_self_distillation() -> Example:
    g = seeded(0)
    config = replace(TINY, modalities=("2d",))  # the objective does not depend on the modality
    pair = nn.ModuleDict({"student": UniMiSS(config, TINY_DISTILLATION),
                          "teacher": UniMiSS(config, TINY_DISTILLATION)})
    pair["teacher"].load_state_dict(pair["student"].state_dict())  # the teacher starts as the student
    pair["teacher"].requires_grad_(False)  # and learns only by EMA
    views = torch.randn(4, 3, 64, 64, generator=g)  # two views of two images, view-major

    def run(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = model["teacher"](x)
        center = torch.zeros_like(out[:1])
        return self_distillation_loss(model["student"](x), out, center), update_center(center, out)

    return Example(model=pair, inputs=(views,), output_shapes=((), (1, 10)), run=run)


@register_example(covers=[MiT])
def unimiss_mit_representation() -> Example:
    g = seeded(0)
    model = MiT(TINY)
    images = torch.randn(2, 3, 64, 64, generator=g)
    volumes = torch.randn(2, 1, 32, 32, 32, generator=g)
    return Example(model=model, inputs=(images, volumes), output_shapes=((2, 8), (2, 8)),
                   run=lambda m, a, b: (m(a), m(b)))


@register_example(covers=[MiTEncoder, SwitchablePatchEmbedding, SpatialReductionAttention, MiTBlock,
                          resample_position])
def unimiss_mit_2d_and_3d() -> Example:
    g = seeded(0)
    model = MiTEncoder(TINY)
    images = torch.randn(2, 3, 64, 64, generator=g)
    volumes = torch.randn(2, 1, 32, 32, 32, generator=g)
    return Example(model=model, inputs=(images, volumes),
                   output_shapes=((2, 8, 32, 32), (2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 5, 32),
                                  (2, 8, 32, 16, 16), (2, 8, 16, 8, 8), (2, 16, 8, 4, 4), (2, 24, 4, 2, 2),
                                  (2, 3, 32)),
                   run=lambda m, a, b: (*m(a), *m(b)))
