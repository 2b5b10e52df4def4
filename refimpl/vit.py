"""An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale.

Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov, Dirk Weissenborn, Xiaohua
Zhai, Thomas Unterthiner, Mostafa Dehghani, Matthias Minderer, Georg Heigold,
Sylvain Gelly, Jakob Uszkoreit, Neil Houlsby. ICLR 2021. arXiv:2010.11929.
Catalog id: ``vit``.

Implemented (Sec. 3.1, Eq. 1–4):

* Eq. 1, the patch embedding: the image (C, H, W) is cut into N = HW/P²
  non-overlapping P×P patches, each flattened and linearly projected to D
  (a P×P convolution with stride P is the same linear map); a learnable class
  token ``x_class`` is prepended and learnable 1-D position embeddings
  ``E_pos ∈ R^{(N+1)×D}`` are added.
* Eq. 2–3, the pre-norm Transformer encoder block:
  ``z' = MSA(LN(z)) + z``, ``z = MLP(LN(z')) + z'``, the MLP being two layers
  with a GELU between them.
* Eq. 4, ``y = LN(z_L^0)``: the final LayerNorm on the class token, then the
  classification head (a single linear layer, the fine-tuning head).

Official code: google-research/vision_transformer @ 2ecbc73
(``vit_jax/models_vit.py``, ``vit_jax/configs/models.py``), and timm's port
``timm/models/vision_transformer.py``. Official presets (Table 1; ``ViT-Ti``
and ``ViT-S`` are the official AugReg configurations): ``VIT_TI_16``,
``VIT_S_16``, ``VIT_B_16`` (= ``OFFICIAL``), ``VIT_L_16`` at 224² with a
1000-class head. Parameter counts, computed by instantiating timm's
``vit_{tiny,small,base,large}_patch16_224`` (timm 1.0.31) on the meta device:
5,717,416, 22,050,664, 86,567,656 and 304,326,632, the same as the sum over
the JAX model's layers (its separate q, k, v projections have the shapes of
the fused ``qkv`` here); tested. ``VIT_B_16_JAX`` is ViT-B/16 with the JAX
code's tanh-approximated GELU.

Deviations from the paper and the official code:

* The pre-training head (an MLP with one hidden tanh layer, Sec. 3.1) is not
  included: presets use the single linear layer of fine-tuning, which is what
  the official checkpoints and timm ship.
* LayerNorm ε is 1e-6, as in the official JAX code and timm, not PyTorch's
  default 1e-5.
* GELU is exact by default (timm's ``nn.GELU``); the JAX code uses Flax's
  ``nn.gelu``, whose default is the tanh approximation (``gelu="tanh"``,
  ``VIT_B_16_JAX``).
* The official classification head starts at zero; here it keeps PyTorch's
  default initialisation (the pre-trained weights are what one loads).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class ViTConfig:
    image_size: int = 224  # Sec. 4.1: fine-tuning resolution 224 (pre-training too)
    patch_size: int = 16  # "ViT-L/16 means the Large variant with 16×16 input patch size"
    in_chans: int = 3
    dim: int = 768  # Table 1, ViT-Base: hidden size D = 768
    depth: int = 12  # Table 1, ViT-Base: 12 layers
    num_heads: int = 12  # Table 1, ViT-Base: 12 heads
    mlp_dim: int = 3072  # Table 1, ViT-Base: MLP size 3072
    num_classes: int = 1000  # ImageNet-1k fine-tuning head
    dropout: float = 0.0  # Appendix B.1: dropout 0.1 only for some runs; 0 for ImageNet fine-tuning
    eps: float = 1e-6  # LayerNorm ε of the official code
    gelu: str = "none"  # Sec. 3.1 "GELU", exact as in timm; the official JAX MlpBlock's nn.gelu is "tanh"

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


VIT_B_16 = ViTConfig()
OFFICIAL = VIT_B_16
VIT_TI_16 = ViTConfig(dim=192, depth=12, num_heads=3, mlp_dim=768)  # official get_ti16_config; timm vit_tiny_patch16_224
VIT_S_16 = ViTConfig(dim=384, depth=12, num_heads=6, mlp_dim=1536)  # official get_s16_config; timm vit_small_patch16_224
# Table 1, ViT-Large; dropout 0.1 as in the official get_l16_config (Table 3: 0.1 on ImageNet and -21k).
VIT_L_16 = ViTConfig(dim=1024, depth=24, num_heads=16, mlp_dim=4096, dropout=0.1)
# ViT-B/16 exactly as google-research/vision_transformer @ 2ecbc73 (vit_jax/configs/models.py get_b16_config,
# vit_jax/models_vit.py): Flax's nn.gelu defaults to the tanh approximation.
VIT_B_16_JAX = ViTConfig(gelu="tanh")
TINY = ViTConfig(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64, num_classes=10)


# --------------------------------------------------------------------- blocks
class PatchEmbedding(nn.Module):
    """Eq. 1 without the class token: (B, C, H, W) → (B, N, D), patches in row-major order."""

    def __init__(self, patch_size: int, in_chans: int, dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class MultiHeadSelfAttention(nn.Module):
    """MSA (Appendix A): h heads of scaled dot-product attention, softmax(q kᵀ / √(D/h)) v."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * (d // self.num_heads) ** -0.5
        out = attn.softmax(dim=-1) @ v  # (B, h, N, D/h)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    """Two linear layers with a GELU non-linearity (Sec. 3.1)."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0, gelu: str = "none") -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)
        self.gelu = gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x), approximate=self.gelu))))


class TransformerBlock(nn.Module):
    """Eq. 2–3: pre-norm residual MSA and MLP; dropout on each branch, as in the official encoder block."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, dropout: float = 0.0, eps: float = 1e-6,
                 gelu: str = "none") -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.attn_drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_dim, dropout, gelu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn_drop(self.attn(self.norm1(x)))
        return x + self.mlp(self.norm2(x))


# --------------------------------------------------------------------- the model
class VisionTransformer(nn.Module):
    """ViT: image (B, C, H, W) → logits (B, num_classes), read from the class token."""

    def __init__(self, config: ViTConfig = OFFICIAL) -> None:
        super().__init__()
        self.config = config
        d = config.dim
        self.patch_embed = PatchEmbedding(config.patch_size, config.in_chans, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.empty(1, config.num_patches + 1, d))
        self.pos_drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(d, config.num_heads, config.mlp_dim, config.dropout, config.eps, config.gelu)
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(d, eps=config.eps)
        self.head = nn.Linear(d, config.num_classes)
        nn.init.normal_(self.pos_embed, std=0.02)  # the official code's initialiser

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 1: z_0 = [x_class; x_p E] + E_pos, shape (B, N + 1, D)."""
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return self.pos_drop(torch.cat([cls, x], dim=1) + self.pos_embed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """All tokens after the encoder and the final LayerNorm, (B, N + 1, D)."""
        z = self.tokens(x)
        for block in self.blocks:
            z = block(z)
        return self.norm(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[:, 0])  # Eq. 4: y = LN(z_L^0), then the head


# --------------------------------------------------------------------- examples
@register_example(covers=[VisionTransformer, PatchEmbedding, MultiHeadSelfAttention, MLP, TransformerBlock])
def vit_tiny() -> Example:
    g = seeded(0)
    return Example(model=VisionTransformer(TINY), inputs=(torch.randn(2, 3, 16, 16, generator=g),),
                   output_shapes=((2, 10),))
