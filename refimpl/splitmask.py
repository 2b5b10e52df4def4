"""Are Large-scale Datasets Necessary for Self-Supervised Pre-training? (SplitMask)

Alaaeldin El-Nouby, Gautier Izacard, Hugo Touvron, Ivan Laptev, Hervé Jegou,
Edouard Grave. 2021. arXiv:2112.10740. Catalog id: ``ssl-small-datasets``.

Implemented (Sec. 3, "split, inpaint, match"):

* Split: the patches of an image are divided at random into two disjoint
  halves A and B; each half goes through the same (shared) ViT encoder.
* Inpaint: from the encoded patches of A and a shallow decoder with mask
  tokens, the patches of B are reconstructed, and vice versa; each branch's
  reconstruction loss counts only the patches it did not see.
* Match: a global descriptor per branch is the average of the decoder's
  output patch tokens; an InfoNCE loss across the batch makes the descriptors
  ``x_a`` and ``x_b`` of the same image agree:
  ``L = −log exp(s(x_a, x_b)/τ) / Σ_k exp(s(x_a, x_b^k)/τ)``.
* Total loss: ``L_inpaint(A→B) + L_inpaint(B→A) + λ · L_InfoNCE``.

The encoder, decoder, masking and reconstruction loss are those of MAE
(``refimpl.mae``), which the paper builds on; the two complementary halves
come from one noise draw (``random_masking`` with the noise and its negation).

Official code: none released with the paper; no parameter count beyond the
ViT encoder (see ``refimpl.vit`` / ``refimpl.mae``).

Deviations from the paper:

* The reconstruction target is the normalised pixels of MAE, not the
  DALL-E/BEiT visual tokens the paper predicts with a cross-entropy loss.
* ``s`` is the cosine similarity and the InfoNCE loss is applied in both
  directions (A→B and B→A) and averaged; τ = 0.1 and λ = 1 are this
  implementation's choices, not values taken from the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .mae import MAEConfig, MaskedAutoencoderViT, mae_loss, patchify, random_masking
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class SplitMaskConfig:
    mae: MAEConfig = MAEConfig(decoder_depth=2)  # Sec. 3: a shallow decoder of 2 blocks
    split_ratio: float = 0.5  # Sec. 3: two disjoint halves of the patches
    temperature: float = 0.1  # InfoNCE τ (chosen here; see Deviations)
    contrastive_weight: float = 1.0  # λ (chosen here; see Deviations)


TINY = SplitMaskConfig(mae=MAEConfig(image_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=4,
                                     decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2))


# --------------------------------------------------------------------- functions
def split_patches(tokens: torch.Tensor, noise: torch.Tensor
                  ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Two disjoint halves of (N, L, D) tokens from one noise draw (N, L): A keeps the L/2 patches
    with the smallest noise, B the others. Each half is ``random_masking``'s (visible, mask, ids_restore)."""
    return random_masking(tokens, 0.5, noise), random_masking(tokens, 0.5, -noise)


def info_nce(x_a: torch.Tensor, x_b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of descriptors (N, D): the positive of x_a[i] is x_b[i]."""
    logits = F.normalize(x_a, dim=-1) @ F.normalize(x_b, dim=-1).T / temperature
    labels = torch.arange(x_a.shape[0], device=x_a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


# --------------------------------------------------------------------- the model
class SplitMask(nn.Module):
    """Shared MAE encoder/decoder, two complementary halves, inpainting and matching losses."""

    def __init__(self, config: SplitMaskConfig = SplitMaskConfig()) -> None:
        super().__init__()
        self.config = config
        self.mae = MaskedAutoencoderViT(config.mae)

    def branch(self, imgs: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One branch: keep the half with the smallest ``noise``; returns (pred (N, L, P),
        mask (N, L) = 1 on the inpainted half, descriptor (N, D_dec))."""
        latent, mask, ids_restore = self.mae.forward_encoder(imgs, self.config.split_ratio, noise)
        feats = self.mae.decoder_features(latent, ids_restore)
        pred = self.mae.decoder_pred(feats)[:, 1:]
        return pred, mask, feats[:, 1:].mean(dim=1)

    def forward(self, imgs: torch.Tensor, noise: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (total loss, inpainting loss A+B, InfoNCE loss)."""
        c = self.config
        if noise is None:
            noise = torch.rand(imgs.shape[0], c.mae.grid_size**2, device=imgs.device)
        target = patchify(imgs, c.mae.patch_size)
        pred_a, mask_a, x_a = self.branch(imgs, noise)
        pred_b, mask_b, x_b = self.branch(imgs, -noise)
        inpaint = (mae_loss(pred_a, target, mask_a, c.mae.norm_pix_loss, c.mae.norm_pix_eps)
                   + mae_loss(pred_b, target, mask_b, c.mae.norm_pix_loss, c.mae.norm_pix_eps))
        match = info_nce(x_a, x_b, c.temperature)
        return inpaint + c.contrastive_weight * match, inpaint, match


# --------------------------------------------------------------------- examples
@register_example(covers=[SplitMask, split_patches, info_nce])
def splitmask_tiny() -> Example:
    g = seeded(0)
    model = SplitMask(TINY)
    imgs = torch.randn(3, 3, 16, 16, generator=g)
    noise = torch.rand(3, 16, generator=g)
    return Example(model=model, inputs=(imgs,), output_shapes=((), (), ()),
                   run=lambda m, x: m(x, noise.to(x.device)))
