"""Masked Autoencoders Are Scalable Vision Learners.

Kaiming He, Xinlei Chen, Saining Xie, Yanghao Li, Piotr Dollár, Ross Girshick.
CVPR 2022. arXiv:2111.06377. Catalog id: ``mae``.

Implemented (Sec. 3):

* Masking: the image is cut into non-overlapping patches and a random subset
  of ``L · (1 − mask_ratio)`` patches is kept, per sample, by shuffling: the
  patches are sorted by uniform noise, the first ones are kept, and
  ``ids_restore = argsort(ids_shuffle)`` undoes the shuffle. The binary mask is
  1 on removed patches. Mask ratio 75 % (Sec. 4, Fig. 5).
* MAE encoder: a ViT (``refimpl.vit`` blocks) applied to the visible patches
  only, with fixed 2-D sine-cosine position embeddings added before masking,
  and the class token.
* MAE decoder: a linear map to the decoder width, one shared learned mask
  token inserted at every removed position (the sequence unshuffled with
  ``ids_restore``), the decoder's own fixed sine-cosine position embeddings,
  Transformer blocks, LayerNorm and a linear projection to the ``p²·C`` pixel
  values of each patch.
* Reconstruction target and loss: per-patch MSE in pixel space, averaged over
  the **removed** patches only; with ``norm_pix_loss`` the target of each
  patch is normalised by its own mean and variance (Sec. 3, "normalized
  pixels").

Official preset: facebookresearch/mae, ``models_mae.py``
``mae_vit_base_patch16_dec512d8b`` (commit efb2a80): ViT-B/16 encoder
(768, 12 blocks, 12 heads), decoder 512 wide, 8 blocks, 16 heads, MLP ratio 4,
LayerNorm ε 1e-6. Instantiated (timm 1.0.31 blocks): 111,907,840 parameters
counting the two frozen position-embedding tables (151,296 + 100,864), of
which 111,655,680 trainable; encoder 85,798,656 (with its table), decoder
26,109,184 (with its table and the mask token); tested. The sine-cosine table
is checked against ``util/pos_embed.py:get_2d_sincos_pos_embed``.

Deviations from the paper and the official code:

* The frozen position-embedding tables are buffers here, not parameters with
  ``requires_grad=False``; the counts above are split accordingly.
* ``norm_pix_loss`` defaults to True, the paper's default target (Table 1d);
  the official constructor defaults to False and the pre-training recipe
  passes ``--norm_pix_loss``. ``MAEConfig(norm_pix_loss=False)`` is the
  plain-pixel variant.
* ``random_masking`` accepts the noise as an argument (or a generator) so that
  masks are reproducible; by default it draws ``torch.rand`` like the official
  code.
* Initialisation (xavier-uniform linear layers) is PyTorch's default here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded
from .vit import PatchEmbedding, TransformerBlock


@dataclass(frozen=True)
class MAEConfig:
    image_size: int = 224  # Sec. 4: ImageNet-1K at 224²
    patch_size: int = 16  # ViT-B/16 and ViT-L/16 (Sec. 4)
    in_chans: int = 3
    embed_dim: int = 768  # ViT-B encoder (official mae_vit_base_patch16)
    depth: int = 12
    num_heads: int = 12
    decoder_embed_dim: int = 512  # Table 1b: decoder width 512
    decoder_depth: int = 8  # Table 1a: decoder depth 8 blocks
    decoder_num_heads: int = 16  # official models_mae.py
    mlp_ratio: float = 4.0  # official models_mae.py
    mask_ratio: float = 0.75  # Sec. 4, Fig. 5: 75 %
    norm_pix_loss: bool = True  # Table 1d: "pixel (w/ norm)" is the default target
    norm_pix_eps: float = 1e-6  # official forward_loss: (var + 1e-6) ** .5
    eps: float = 1e-6  # LayerNorm ε (official partial(nn.LayerNorm, eps=1e-6))

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size


MAE_VIT_B_16 = MAEConfig()
OFFICIAL = MAE_VIT_B_16
MAE_VIT_L_16 = MAEConfig(embed_dim=1024, depth=24, num_heads=16)  # official mae_vit_large_patch16
TINY = MAEConfig(image_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=4,
                 decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2)


# --------------------------------------------------------------------- position embeddings
def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """(M,) positions → (M, dim): [sin(p ω_i), cos(p ω_i)], ω_i = 10000^{−2i/dim}."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.double()[:, None] * omega[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_pos_embed_2d(dim: int, grid_size: int, cls_token: bool = True) -> torch.Tensor:
    """Fixed 2-D table (grid², dim), row-major patches; half the channels encode the column,
    half the row (the official order). With ``cls_token`` a zero row is prepended."""
    if dim % 4:
        raise ValueError(f"dim {dim} must be divisible by 4")
    rows, cols = torch.meshgrid(torch.arange(grid_size), torch.arange(grid_size), indexing="ij")
    emb = torch.cat([sincos_1d(dim // 2, cols.reshape(-1)), sincos_1d(dim // 2, rows.reshape(-1))], dim=1)
    if cls_token:
        emb = torch.cat([emb.new_zeros(1, dim), emb], dim=0)
    return emb.float()


# --------------------------------------------------------------------- patches and masking
def patchify(imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(N, C, H, W) → (N, L, p²·C), patches row-major, pixels within a patch ordered (row, col, channel)."""
    n, c, h, w = imgs.shape
    p = patch_size
    x = imgs.reshape(n, c, h // p, p, w // p, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // p) * (w // p), p * p * c)


def unpatchify(x: torch.Tensor, patch_size: int, channels: int, grid: tuple[int, int]) -> torch.Tensor:
    """Inverse of ``patchify``: (N, L, p²·C) → (N, C, H, W) for a grid of (H/p, W/p) patches."""
    n = x.shape[0]
    gh, gw = grid
    p = patch_size
    x = x.reshape(n, gh, gw, p, p, channels)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, channels, gh * p, gw * p)


def random_masking(x: torch.Tensor, mask_ratio: float, noise: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample random masking by shuffling (Sec. 3, "Masking").

    x (N, L, D) → visible tokens (N, L_keep, D), mask (N, L) with 1 = removed, ids_restore (N, L).
    The patches with the smallest noise are kept.
    """
    n, length, d = x.shape
    len_keep = int(length * (1 - mask_ratio))
    if noise is None:
        noise = torch.rand(n, length, generator=generator, device=x.device if generator is None else "cpu")
        noise = noise.to(x.device)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :len_keep]
    visible = torch.gather(x, 1, ids_keep[..., None].expand(-1, -1, d))
    mask = torch.ones(n, length, device=x.device)
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return visible, mask, ids_restore


def restore_with_mask_tokens(visible: torch.Tensor, mask_token: torch.Tensor,
                             ids_restore: torch.Tensor) -> torch.Tensor:
    """Decoder input without the class token: visible (N, L_keep, D) and the mask token (1, 1, D)
    → (N, L, D) in the original patch order, the mask token at each removed position."""
    n, keep, d = visible.shape
    tokens = torch.cat([visible, mask_token.expand(n, ids_restore.shape[1] - keep, d)], dim=1)
    return torch.gather(tokens, 1, ids_restore[..., None].expand(-1, -1, d))


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, norm_pix: bool = True,
             eps: float = 1e-6) -> torch.Tensor:
    """Mean over removed patches of the per-patch MSE; pred, target (N, L, P), mask (N, L).

    With ``norm_pix`` the target patch is ``(t − mean) / sqrt(var + eps)`` (unbiased variance,
    as the official code's ``Tensor.var``)."""
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + eps) ** 0.5
    per_patch = ((pred - target) ** 2).mean(dim=-1)
    return (per_patch * mask).sum() / mask.sum()


# --------------------------------------------------------------------- the model
class MaskedAutoencoderViT(nn.Module):
    """MAE: asymmetric encoder (visible patches) and light decoder (all positions)."""

    def __init__(self, config: MAEConfig = OFFICIAL) -> None:
        super().__init__()
        self.config = config
        c = config
        num_patches = c.grid_size**2
        self.patch_embed = PatchEmbedding(c.patch_size, c.in_chans, c.embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        self.register_buffer("pos_embed", sincos_pos_embed_2d(c.embed_dim, c.grid_size)[None])
        self.blocks = nn.ModuleList(
            TransformerBlock(c.embed_dim, c.num_heads, int(c.embed_dim * c.mlp_ratio), eps=c.eps)
            for _ in range(c.depth)
        )
        self.norm = nn.LayerNorm(c.embed_dim, eps=c.eps)

        self.decoder_embed = nn.Linear(c.embed_dim, c.decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.decoder_embed_dim))
        self.register_buffer("decoder_pos_embed", sincos_pos_embed_2d(c.decoder_embed_dim, c.grid_size)[None])
        self.decoder_blocks = nn.ModuleList(
            TransformerBlock(c.decoder_embed_dim, c.decoder_num_heads, int(c.decoder_embed_dim * c.mlp_ratio),
                             eps=c.eps)
            for _ in range(c.decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(c.decoder_embed_dim, eps=c.eps)
        self.decoder_pred = nn.Linear(c.decoder_embed_dim, c.patch_size**2 * c.in_chans)
        assert num_patches + 1 == self.pos_embed.shape[1]
        nn.init.normal_(self.cls_token, std=0.02)  # official initialize_weights
        nn.init.normal_(self.mask_token, std=0.02)

    def forward_encoder(self, imgs: torch.Tensor, mask_ratio: float, noise: torch.Tensor | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, C, H, W) → latent (N, 1 + L_keep, D), mask (N, L), ids_restore (N, L)."""
        x = self.patch_embed(imgs) + self.pos_embed[:, 1:]
        x, mask, ids_restore = random_masking(x, mask_ratio, noise)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x), mask, ids_restore

    def decoder_features(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent (N, 1 + L_keep, D) → normalised decoder tokens (N, 1 + L, D_dec), class token first."""
        x = self.decoder_embed(latent)
        patches = restore_with_mask_tokens(x[:, 1:], self.mask_token, ids_restore)
        x = torch.cat([x[:, :1], patches], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_norm(x)

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent (N, 1 + L_keep, D) → per-patch pixel predictions (N, L, p²·C)."""
        return self.decoder_pred(self.decoder_features(latent, ids_restore))[:, 1:]

    def forward(self, imgs: torch.Tensor, mask_ratio: float | None = None, noise: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (loss, pred (N, L, p²·C), mask (N, L))."""
        ratio = self.config.mask_ratio if mask_ratio is None else mask_ratio
        latent, mask, ids_restore = self.forward_encoder(imgs, ratio, noise)
        pred = self.forward_decoder(latent, ids_restore)
        target = patchify(imgs, self.config.patch_size)
        loss = mae_loss(pred, target, mask, self.config.norm_pix_loss, self.config.norm_pix_eps)
        return loss, pred, mask


# --------------------------------------------------------------------- examples
@register_example(covers=[MaskedAutoencoderViT, random_masking, restore_with_mask_tokens, mae_loss, patchify,
                          sincos_pos_embed_2d])
def mae_tiny() -> Example:
    g = seeded(0)
    model = MaskedAutoencoderViT(TINY)
    imgs = torch.randn(2, 3, 16, 16, generator=g)
    noise = torch.rand(2, 16, generator=g)
    return Example(model=model, inputs=(imgs,), output_shapes=((), (2, 16, 48), (2, 16)),
                   run=lambda m, x: m(x, noise=noise.to(x.device)))
