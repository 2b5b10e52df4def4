"""GAN-Supervised Dense Visual Alignment (GANgealing).

William Peebles, Jun-Yan Zhu, Richard Zhang, Antonio Torralba, Alexei A.
Efros, Eli Shechtman. CVPR 2022. arXiv:2112.05143. Catalog id: ``gangealing``.

Implemented:

* Sec. 3, the spatial transformer ``T``: a network regressing a similarity
  transform (rotation, log-scale, translation) that is applied with
  ``affine_grid`` / ``grid_sample``. As in the authors' code the regressor is
  a StyleGAN2-discriminator-like ResNet (1×1 fromRGB, residual blocks down to
  4×4, a 3×3 conv, a fully connected layer; ``refimpl.stylegan2``'s blocks),
  the raw rotation is bounded to ``π·tanh(r)`` and the scale is ``exp(s)``.
  The last layer starts at zero, so ``T`` starts as the identity warp.
* Sec. 3, the congealing target: a learned latent ``c`` replaces the coarse
  (pose/layout) style layers of a random ``w`` while ``w``'s fine layers are
  kept, ``mix(c, w)``; ``G(mix(c, w))`` is the aligned version of ``G(w)``.
  At the start of training the coarse layers are ``lerp(c, w, ψ)`` with ψ
  annealed from 1 to 0 by a cosine over the first 150k steps (authors' code,
  ``utils/annealing.py``), so the target starts as ``G(w)`` itself.
* Eq. 1, the GAN-supervised alignment loss
  ``L(T, c) = E_w ℓ(T(G(w)), G(mix(c, w)))`` with ``ℓ`` a perceptual
  distance; ``T`` and ``c`` are learned jointly, ``G`` stays frozen.

Official code: wpeebles/gangealing @ ffa6387 (``utils/base_argparse.py``,
``models/spatial_transformers/spatial_transformer.py``,
``models/spatial_transformers/warping_heads.py``). ``OFFICIAL`` holds the
argument defaults (the LSUN bicycle and TV-monitor runs): the congealing
vector drives the first ``--inject 5`` of the 14 style inputs of a 256² G,
the STN works at ``--flow_size 128`` with ``--stn_channel_multiplier 0.5``
and ``--padding_mode reflection`` (the CelebA, cat and dog scripts pass
``border``; CelebA and cars pass ``--inject 6``). Its similarity STN has
22,424,644 parameters, the count of the official ``SpatialTransformer(128,
128, 0.5, transform='similarity')``; tested.

Deviations from the paper and the official code:

* Only the similarity STN is given; the paper follows it with a dense flow
  STN (with TV and identity regularisers), not implemented here; neither is
  the clustering variant (several heads, flips).
* ``c`` is a free latent initialised at the mean ``w̄`` instead of being
  parameterised by the top PCA coefficients of W space (``--ndirs``).
* ``ℓ`` is any feature extractor's MSE (LPIPS in the paper; pretrained
  weights cannot be downloaded here) or plain pixel MSE.
* The regressor's down-sampling is 2×2 average pooling (``refimpl.stylegan2``)
  instead of a blurred stride-2 convolution, and the warp samples bilinearly
  instead of the authors' anti-aliased mip-map sampler; the parameter count
  is unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .progan import EqualizedConv2d, EqualizedLinear
from .registry import Example, register_example, seeded
from .stylegan2 import ResidualDiscriminatorBlock


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    # StyleGAN2's fused leaky ReLU: slope 0.2, then the gain √2.
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


@dataclass(frozen=True)
class GANgealingConfig:
    mix_layer: int = 5  # --inject 5: c drives the style inputs below this index (coarse pose/layout), w the rest
    num_ws: int = 14  # style inputs of the 256² StyleGAN2 generator (--gen_size 256)
    w_dim: int = 512  # --dim_latent 512
    flow_size: int = 128  # --flow_size 128: the STN regresses (and warps) at 128²
    channel_multiplier: float = 0.5  # --stn_channel_multiplier 0.5
    channel_max: int = 512  # the STN's channel table: 512 at 32² and below
    padding_mode: str = "reflection"  # --padding_mode reflection (sampling beyond the image border)
    anneal_psi: int = 150_000  # --anneal_psi: steps over which ψ goes from 1 to 0

    def stn_channels(self, res: int) -> int:
        """Channels at resolution ``res`` = 2^k: ``channel_max`` up to 32², then m·2^(14−k) (256·m at 64²)."""
        k = int(math.log2(res))
        if 2**k != res:
            raise ValueError(f"STN resolutions are powers of two, got {res}")
        return self.channel_max if k <= 5 else int(self.channel_multiplier * 2 ** (14 - k))


OFFICIAL = GANgealingConfig()  # wpeebles/gangealing utils/base_argparse.py defaults
TINY = GANgealingConfig(mix_layer=2, num_ws=4, w_dim=8, flow_size=8, channel_max=4, padding_mode="zeros",
                        anneal_psi=4)


# --------------------------------------------------------------------- warping
def similarity_matrix(angle: torch.Tensor, log_scale: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """(B,) parameters → (B, 2, 3) affine matrices in ``affine_grid``'s normalised coordinates."""
    s = log_scale.exp()
    cos, sin = angle.cos() * s, angle.sin() * s
    return torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], dim=-2)


def affine_warp(images: torch.Tensor, theta: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Output pixel at normalised p samples the input at θ·[p, 1] (bilinear; ``padding_mode`` outside)."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


class SimilaritySTN(nn.Module):
    """Image (B, 3, flow_size, flow_size) → (warped image, θ (B, 2, 3)); identity at initialisation."""

    def __init__(self, config: GANgealingConfig = GANgealingConfig()) -> None:
        super().__init__()
        self.config = config
        ch = config.stn_channels
        self.from_rgb = EqualizedConv2d(3, ch(config.flow_size), 1, gain=1.0)
        resolutions = [2**i for i in range(int(math.log2(config.flow_size)), 2, -1)]  # flow_size … 8
        self.blocks = nn.Sequential(*(ResidualDiscriminatorBlock(ch(res), ch(res // 2)) for res in resolutions))
        self.conv = EqualizedConv2d(ch(4), ch(4), 3, gain=1.0)
        self.fc = EqualizedLinear(ch(4) * 16, ch(4), gain=1.0)
        self.head = nn.Linear(ch(4), 4)  # rotation, log-scale, tx, ty
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.blocks(_lrelu(self.from_rgb(images)))
        return _lrelu(self.fc(_lrelu(self.conv(x)).flatten(1)))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rot, log_scale, tx, ty = self.head(self.features(images)).unbind(-1)
        theta = similarity_matrix(math.pi * torch.tanh(rot), log_scale, tx, ty)  # rotation bounded to (−π, π)
        return affine_warp(images, theta, self.config.padding_mode), theta


# --------------------------------------------------------------------- congealing
def psi_schedule(step: int, anneal_steps: int) -> float:
    """ψ at a training step: ½(1 + cos(π·step / anneal_steps)) until ``anneal_steps``, then 0."""
    return 0.5 * (1.0 + math.cos(math.pi * min(step, anneal_steps) / anneal_steps))


class CongealingVector(nn.Module):
    """The learned target latent c (num_ws, w_dim), initialised at the mean latent."""

    def __init__(self, w_avg: torch.Tensor, num_ws: int) -> None:
        super().__init__()
        self.c = nn.Parameter(w_avg.detach().clone().expand(num_ws, -1).contiguous())

    def mix(self, w: torch.Tensor, mix_layer: int, psi: float = 0.0) -> torch.Tensor:
        """mix(c, w): layers < mix_layer from lerp(c, w, ψ), the rest from w; (B, L, D) → (B, L, D)."""
        coarse = torch.lerp(self.c[:mix_layer].expand(w.shape[0], -1, -1), w[:, :mix_layer], psi)
        return torch.cat([coarse, w[:, mix_layer:]], dim=1)


def gangealing_loss(stn: SimilaritySTN, synthesis: Callable[[torch.Tensor], torch.Tensor],
                    congealing: CongealingVector, w: torch.Tensor, mix_layer: int,
                    features: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    psi: float = 0.0) -> torch.Tensor:
    """Eq. 1: ℓ(T(G(w)), G(mix(c, w))); ℓ = MSE of ``features`` (pixels when None)."""
    aligned, _ = stn(synthesis(w))
    target = synthesis(congealing.mix(w, mix_layer, psi))
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


@register_example(covers=[SimilaritySTN, CongealingVector, gangealing_loss, affine_warp, similarity_matrix,
                          psi_schedule])
def gangealing_alignment() -> Example:
    g = seeded(0)
    synthesis = _TinySynthesis(TINY.num_ws, TINY.w_dim).requires_grad_(False)
    model = nn.ModuleDict({"stn": SimilaritySTN(TINY), "c": CongealingVector(torch.zeros(TINY.w_dim), TINY.num_ws),
                           "G": synthesis})
    w = torch.randn(2, TINY.num_ws, TINY.w_dim, generator=g)

    def run(m: nn.ModuleDict, w: torch.Tensor) -> tuple[torch.Tensor, ...]:
        aligned, theta = m["stn"](m["G"](w))
        psi = psi_schedule(1, TINY.anneal_psi)
        return aligned, theta, gangealing_loss(m["stn"], m["G"], m["c"], w, TINY.mix_layer, psi=psi)

    return Example(model=model, inputs=(w,), output_shapes=((2, 3, 8, 8), (2, 2, 3), ()), run=run)
