"""GAN-Supervised Dense Visual Alignment (GANgealing).

William Peebles, Jun-Yan Zhu, Richard Zhang, Antonio Torralba, Alexei A.
Efros, Eli Shechtman. CVPR 2022. arXiv:2112.05143. Catalog id: ``gangealing``.

Implemented:

* Sec. 3, the spatial transformer ``T``: a small network regressing a
  similarity transform (rotation, log-scale, translation) that is applied
  with ``affine_grid`` / ``grid_sample``. Its last layer starts at zero, so
  ``T`` starts as the identity warp.
* Sec. 3, the congealing target: a learned latent ``c`` replaces the coarse
  (pose/layout) style layers of a random ``w`` while ``w``'s fine layers are
  kept, ``mix(c, w)``; ``G(mix(c, w))`` is the aligned version of ``G(w)``.
* Eq. 1, the GAN-supervised alignment loss
  ``L(T, c) = E_w ℓ(T(G(w)), G(mix(c, w)))`` with ``ℓ`` a perceptual
  distance; ``T`` and ``c`` are learned jointly, ``G`` stays frozen.

Parameter count: no standard configuration is reproduced (the paper's STN
is a ResNet regressing similarity then flow); none is claimed.

Deviations from the paper:

* Only the similarity STN is given; the paper follows it with a dense flow
  STN (with TV and identity regularisers), not implemented here.
* ``c`` is a free latent initialised at the mean ``w̄`` instead of being
  parameterised by the top PCA coefficients of W space.
* ``ℓ`` is any feature extractor's MSE (LPIPS in the paper; pretrained
  weights cannot be downloaded here) or plain pixel MSE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class GANgealingConfig:
    mix_layer: int = 6  # c drives the style layers below this index (coarse pose/layout), w the rest
    num_ws: int = 14  # 256² StyleGAN2 style layers
    w_dim: int = 512
    stn_width: int = 64  # channels of the STN's regressor


TINY = GANgealingConfig(mix_layer=2, num_ws=4, w_dim=8, stn_width=8)


# --------------------------------------------------------------------- warping
def similarity_matrix(angle: torch.Tensor, log_scale: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """(B,) parameters → (B, 2, 3) affine matrices in ``affine_grid``'s normalised coordinates."""
    s = log_scale.exp()
    cos, sin = angle.cos() * s, angle.sin() * s
    return torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], dim=-2)


def affine_warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Output pixel at normalised p samples the input at θ·[p, 1] (bilinear, zeros outside)."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class SimilaritySTN(nn.Module):
    """Image (B, 3, H, W) → (warped image, θ (B, 2, 3)); identity at initialisation."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(width, 4)  # rotation, log-scale, tx, ty
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angle, log_scale, tx, ty = self.head(self.features(images)).unbind(-1)
        theta = similarity_matrix(angle, log_scale, tx, ty)
        return affine_warp(images, theta), theta


# --------------------------------------------------------------------- congealing
class CongealingVector(nn.Module):
    """The learned target latent c (num_ws, w_dim), initialised at the mean latent."""

    def __init__(self, w_avg: torch.Tensor, num_ws: int) -> None:
        super().__init__()
        self.c = nn.Parameter(w_avg.detach().clone().expand(num_ws, -1).contiguous())

    def mix(self, w: torch.Tensor, mix_layer: int) -> torch.Tensor:
        """mix(c, w): layers < mix_layer from c, the rest from w; (B, L, D) → (B, L, D)."""
        coarse = self.c[:mix_layer].expand(w.shape[0], -1, -1)
        return torch.cat([coarse, w[:, mix_layer:]], dim=1)


def gangealing_loss(stn: SimilaritySTN, synthesis: Callable[[torch.Tensor], torch.Tensor],
                    congealing: CongealingVector, w: torch.Tensor, mix_layer: int,
                    features: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Eq. 1: ℓ(T(G(w)), G(mix(c, w))); ℓ = MSE of ``features`` (pixels when None)."""
    aligned, _ = stn(synthesis(w))
    target = synthesis(congealing.mix(w, mix_layer))
    phi = features if features is not None else (lambda x: x)
    return F.mse_loss(phi(aligned), phi(target))


# --------------------------------------------------------------------- examples
class _TinySynthesis(nn.Module):
    """Layer-wise latents (B, L, D) → (B, 3, 8, 8); a frozen stand-in for StyleGAN2's synthesis net."""

    def __init__(self, num_ws: int, w_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(num_ws * w_dim, 3 * 8 * 8)

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(ws.flatten(1))).view(-1, 3, 8, 8)


@register_example(covers=[SimilaritySTN, CongealingVector, gangealing_loss, affine_warp, similarity_matrix])
def gangealing_alignment() -> Example:
    g = seeded(0)
    synthesis = _TinySynthesis(TINY.num_ws, TINY.w_dim).requires_grad_(False)
    model = nn.ModuleDict({"stn": SimilaritySTN(TINY.stn_width), "c": CongealingVector(torch.zeros(TINY.w_dim),
                                                                                       TINY.num_ws),
                           "G": synthesis})
    w = torch.randn(2, TINY.num_ws, TINY.w_dim, generator=g)

    def run(m: nn.ModuleDict, w: torch.Tensor) -> tuple[torch.Tensor, ...]:
        aligned, theta = m["stn"](m["G"](w))
        return aligned, theta, gangealing_loss(m["stn"], m["G"], m["c"], w, TINY.mix_layer)

    return Example(model=model, inputs=(w,), output_shapes=((2, 3, 8, 8), (2, 2, 3), ()), run=run)
