"""Self-Distilled Self-Supervised Representation Learning (SDSSL).

Jiho Jang, Seonhoon Kim, Kiyoon Yoo, Chaerin Kong, Jangho Kim, Nojun Kwak. WACV 2023.
arXiv:2111.12958. Catalog id: ``sdssl``.

Implemented (Sec. 3), in the SimCLR form (SD-SimCLR):

* A ViT encoder (``refimpl.vit`` blocks) whose class token after every block l
  goes through the encoder's final LayerNorm and its own projection head g_l,
  giving ``z^l`` for l = 1…L.
* The self-supervised loss between the last layers of the two views, SimCLR's
  NT-Xent over the 2N embeddings of a batch: the positive of each embedding is
  the other view of the same image, the other 2N − 2 are negatives.
* Self-distillation: every intermediate layer is pulled towards the last layer
  with the same contrastive loss, its keys the (stop-gradient) final
  embeddings: ``L_sd = (1/(L−1)) Σ_{l<L} NT-Xent(z^l, sg(z^L))`` — since
  ``I(f_1^L, f_2^L) ≤ I(f_1^l, f_2^L)`` in the paper's argument, the shallow
  layers learn from the final one.
* ``L = L_ssl + λ · L_sd``, λ ramped from 0 by a half cosine over training.

Official code: hagiss/SDSSL @ bbd34fa (``pl_train_simclr.py``,
``vision_transformer.py``, ``byol_pytorch/byol_pytorch.py``, ``SD_simclr.json``).
``OFFICIAL`` is its SD-SimCLR ViT-B/16: the DINO-style ViT-B/16 backbone
(85,798,656 parameters) and twelve 3-layer projection heads (Linear without
bias, BatchNorm, ReLU; the last BatchNorm without affine parameters) to 256
dimensions, hidden 4096 for the last layer and 2048 for the others
(20,987,904 and 11 × 6,299,648): 176,082,688 in all, counted by instantiating
the official modules; tested. τ = 0.2 is hard-coded in the official loss;
λ = 0.8 is ``ratio`` in ``SD_simclr.json``.

Deviations from the paper and the official code: only the SimCLR base loss
is implemented (the paper also pairs SDSSL with MoCo v3, BYOL and DINO); no
cross-device gathering of negatives; ``distill_weight`` is the final λ and
``distill_ramp`` gives the official schedule, which the caller applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .vit import PatchEmbedding, TransformerBlock


@dataclass(frozen=True)
class SDSSLConfig:
    temperature: float = 0.2  # official info_nce_loss: logits / 0.2
    distill_weight: float = 0.8  # λ: official SD_simclr.json "ratio" (reached at the end of training)
    image_size: int = 224  # ViT-B/16 at 224² (official "arch": "vit_base", "patch_size": 16)
    patch_size: int = 16
    dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_dim: int = 3072  # mlp_ratio 4
    proj_dim: int = 256  # official "out_dim"
    head_hidden: int = 4096  # official "mlp_hidden", the last layer's head
    inner_head_hidden: int = 2048  # official: mlp_hidden / 2 for the intermediate heads


OFFICIAL = SDSSLConfig()
TINY = SDSSLConfig(image_size=16, patch_size=4, dim=32, depth=3, num_heads=4, mlp_dim=64, proj_dim=16,
                   head_hidden=32, inner_head_hidden=16)


def nt_xent(z_1: torch.Tensor, z_2: torch.Tensor, temperature: float,
            keys_1: torch.Tensor | None = None, keys_2: torch.Tensor | None = None) -> torch.Tensor:
    """SimCLR's NT-Xent over the 2N queries ``[z_1; z_2]`` (each (N, D)), cosine similarity / τ.

    Keys default to the queries. Each query's own key (same view, same image) is left out; its positive
    is the key of the other view of the same image, the other 2N − 2 keys are negatives."""
    n = z_1.shape[0]
    queries = F.normalize(torch.cat([z_1, z_2]), dim=-1)
    keys = queries if keys_1 is None else F.normalize(torch.cat([keys_1, keys_2]), dim=-1)
    logits = queries @ keys.T / temperature
    own = torch.eye(2 * n, dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(own, float("-inf"))
    positives = (torch.arange(2 * n, device=logits.device) + n) % (2 * n)
    return F.cross_entropy(logits, positives)


def sdssl_loss(layers_1: list[torch.Tensor], layers_2: list[torch.Tensor], temperature: float,
               weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer projections of two views (each a list of L tensors (N, D), last = final layer).

    Returns (L_ssl, λ · L_sd)."""
    f1, f2 = layers_1[-1], layers_2[-1]
    ssl = nt_xent(f1, f2, temperature)
    inner = len(layers_1) - 1
    sd = f1.new_zeros(())
    for z1, z2 in zip(layers_1[:-1], layers_2[:-1], strict=True):
        sd = sd + nt_xent(z1, z2, temperature, f1.detach(), f2.detach()) / inner
    return ssl, weight * sd


def distill_ramp(step: int, total_steps: int, final: float = OFFICIAL.distill_weight) -> float:
    """λ at ``step``: a half cosine from 0 to ``final`` over training (official ``ratio_schedule``)."""
    return final * (1 - math.cos(math.pi * step / total_steps)) / 2


class ProjectionHead(nn.Sequential):
    """g_l: three bias-free linear layers, BatchNorm + ReLU between them, a final affine-free BatchNorm."""

    def __init__(self, dim: int, hidden: int, out: int) -> None:
        super().__init__(
            nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, out, bias=False), nn.BatchNorm1d(out, affine=False),
        )


class SDSSLViT(nn.Module):
    """ViT with a projection head on the class token of every block: image → list of L (N, proj_dim)."""

    def __init__(self, config: SDSSLConfig = OFFICIAL) -> None:
        super().__init__()
        self.config = config
        n = (config.image_size // config.patch_size) ** 2
        self.patch_embed = PatchEmbedding(config.patch_size, 3, config.dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.pos_embed = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, n + 1, config.dim), std=0.02))  # official
        self.blocks = nn.ModuleList(TransformerBlock(config.dim, config.num_heads, config.mlp_dim)
                                    for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim, eps=1e-6)  # shared by every layer's class token
        self.heads = nn.ModuleList(
            ProjectionHead(config.dim, config.head_hidden if i == config.depth - 1 else config.inner_head_hidden,
                           config.proj_dim)
            for i in range(config.depth)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)
        z = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        out = []
        for block, head in zip(self.blocks, self.heads, strict=True):
            z = block(z)
            out.append(head(self.norm(z)[:, 0]))
        return out

    def loss(self, view_1: torch.Tensor, view_2: torch.Tensor, weight: float | None = None) -> torch.Tensor:
        """L_ssl + λ · L_sd; λ defaults to ``config.distill_weight``."""
        lam = self.config.distill_weight if weight is None else weight
        ssl, sd = sdssl_loss(self(view_1), self(view_2), self.config.temperature, lam)
        return ssl + sd


@register_example(covers=[SDSSLViT, ProjectionHead, sdssl_loss, nt_xent, distill_ramp])
def sdssl_tiny() -> Example:
    g = seeded(0)
    model = SDSSLViT(TINY)
    v1 = torch.randn(4, 3, 16, 16, generator=g)
    v2 = v1 + 0.1 * torch.randn(4, 3, 16, 16, generator=g)
    return Example(model=model, inputs=(v1, v2), output_shapes=((),),
                   run=lambda m, a, b: m.loss(a, b, distill_ramp(50, 100, TINY.distill_weight)))
