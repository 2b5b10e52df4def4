"""Self-Distilled Self-Supervised Representation Learning (SDSSL).

Jiho Jang, Seonhoon Kim, Kiyoon Yoo, Chaerin Kong, Jangho Kim, Nojun Kwak. 2021.
arXiv:2111.12958. Catalog id: ``sdssl``.

Implemented (Sec. 3):

* A ViT encoder (``refimpl.vit`` blocks) whose class token after every block l
  goes through its own projection head g_l, giving ``z^l`` for l = 1…L.
* The self-supervised loss between the last layers of two views,
  ``L_ssl(z_1^L, z_2^L)``, here SimCLR's InfoNCE.
* Self-distillation: every intermediate layer of view 1 is pulled towards the
  last layer of view 2 with the same contrastive loss,
  ``L_sd = (1/(L−1)) Σ_{l<L} L_ssl(z_1^l, sg(z_2^L))`` — since
  ``I(f_1^L, f_2^L) ≤ I(f_1^l, f_2^L)`` in the paper's argument, the shallow
  layers learn from the final one.
* ``L = L_ssl + λ · L_sd``, applied symmetrically in the two views.

Official code: none linked in the catalog; counts follow from ``refimpl.vit``.

Deviations from the paper: the final layer acts as a stop-gradient target of
the intermediate layers; the base loss is SimCLR's InfoNCE only (the paper
also pairs SDSSL with MoCo v3, BYOL and others); τ = 0.2 and λ = 1 are this
implementation's values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .vit import PatchEmbedding, TransformerBlock


@dataclass(frozen=True)
class SDSSLConfig:
    temperature: float = 0.2  # InfoNCE τ (see Deviations)
    distill_weight: float = 1.0  # λ (see Deviations)
    image_size: int = 16
    patch_size: int = 4
    dim: int = 32
    depth: int = 3
    num_heads: int = 4
    proj_dim: int = 16


TINY = SDSSLConfig()


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of a (N, D) against b (N, D): the positive of a[i] is b[i], cosine similarity / τ."""
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / temperature
    return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))


def sdssl_loss(layers_1: list[torch.Tensor], layers_2: list[torch.Tensor], temperature: float,
               weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer projections of two views (each a list of L tensors (N, D), last = final layer).

    Returns (L_ssl, L_sd), each symmetrised over the two views."""
    f1, f2 = layers_1[-1], layers_2[-1]
    ssl = 0.5 * (nt_xent(f1, f2, temperature) + nt_xent(f2, f1, temperature))
    inner = len(layers_1) - 1
    sd = f1.new_zeros(())
    for z1, z2 in zip(layers_1[:-1], layers_2[:-1], strict=True):
        sd = sd + 0.5 * (nt_xent(z1, f2.detach(), temperature) + nt_xent(z2, f1.detach(), temperature)) / inner
    return ssl, weight * sd


class SDSSLViT(nn.Module):
    """ViT with a projection head on the class token of every block: image → list of L (N, proj_dim)."""

    def __init__(self, config: SDSSLConfig = TINY) -> None:
        super().__init__()
        self.config = config
        n = (config.image_size // config.patch_size) ** 2
        self.patch_embed = PatchEmbedding(config.patch_size, 3, config.dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, config.dim) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(config.dim, config.num_heads, 2 * config.dim)
                                    for _ in range(config.depth))
        self.heads = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(config.dim), nn.Linear(config.dim, config.dim), nn.GELU(),
                          nn.Linear(config.dim, config.proj_dim))
            for _ in range(config.depth)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)
        z = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        out = []
        for block, head in zip(self.blocks, self.heads, strict=True):
            z = block(z)
            out.append(head(z[:, 0]))
        return out

    def loss(self, view_1: torch.Tensor, view_2: torch.Tensor) -> torch.Tensor:
        ssl, sd = sdssl_loss(self(view_1), self(view_2), self.config.temperature, self.config.distill_weight)
        return ssl + sd


@register_example(covers=[SDSSLViT, sdssl_loss, nt_xent])
def sdssl_tiny() -> Example:
    g = seeded(0)
    model = SDSSLViT(TINY)
    v1 = torch.randn(4, 3, 16, 16, generator=g)
    v2 = v1 + 0.1 * torch.randn(4, 3, 16, 16, generator=g)
    return Example(model=model, inputs=(v1, v2), output_shapes=((),), run=lambda m, a, b: m.loss(a, b))
