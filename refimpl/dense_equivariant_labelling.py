"""Unsupervised learning of object frames by dense equivariant image labelling.

James Thewlis, Hakan Bilen, Andrea Vedaldi. NeurIPS 2017. arXiv:1706.02932.
Catalog id: ``arxiv-1706-02932``. The face-swap notes cite its Sec. 3.1 for
the encoder-bottleneck observation (``dense-bottleneck-encoder``): a network
that labels every pixel with a point of a *low-dimensional* space (the
sphere S²) must learn an object-centric frame, where a high-dimensional
label would let it learn generic local descriptors instead.

Implemented (Sec. 3):

* The dense labelling ``Φ_u(x) ∈ S²``: a fully convolutional network whose
  3-channel output is normalised to unit length at every pixel u
  (``DenseLabeller``, ``sphere_embedding``).
* The probabilistic matching between an image and its warp
  ``x' = g x``: ``p(v | u) = exp⟨Φ_u(x), Φ_v(x')⟩ / Σ_z exp⟨Φ_u(x), Φ_z(x')⟩``
  (``matching_probability``; a scale multiplies the inner products).
* The equivariance loss
  ``L = (1/|Ω|) Σ_u Σ_v ‖v − g(u)‖^γ p(v | u)``: the expected distance between
  where u's label is found in x' and where the warp actually sends u
  (``equivariance_loss``).
* Synthetic warps g as thin-plate splines of randomly moved control points
  (``refimpl/thin_plate_spline.py``), ``random_tps_pair``.

Official code: the authors' MatConvNet code was not available to check;
parameter count: that of the labelling network (a small conv net here).

Deviations from the paper:

* The exponent γ and the inner-product scale are config values (γ = 1,
  scale 1 by default); they were not checked against the paper's text.
* Optical-flow correspondences (the paper's second source of g) are not
  implemented; any dense map g(u) can be passed in.
* Positions are in ``grid_sample`` coordinates ([−1, 1]), not pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .thin_plate_spline import pixel_grid, regular_grid, tps_sampling_grid


@dataclass(frozen=True)
class DenseLabellingConfig:
    embedding_dim: int = 3  # Sec. 3.1: labels on the sphere S² ⊂ R³ (the low-dimensional bottleneck)
    width: int = 16  # the labeller's conv width (small here; see Deviations)
    gamma: float = 1.0  # exponent of the distance in the loss (see Deviations)
    scale: float = 1.0  # multiplies ⟨Φ_u, Φ_v⟩ inside the softmax (see Deviations)
    warp_grid: int = 3  # TPS control points per side for the synthetic warps
    warp_strength: float = 0.1  # std of the control-point displacement (grid units)


def sphere_embedding(features: torch.Tensor) -> torch.Tensor:
    """Normalise (N, D, H, W) to unit length over D at every pixel."""
    return F.normalize(features, dim=1)


class DenseLabeller(nn.Module):
    """Φ: image (N, 3, H, W) -> labels on the unit sphere (N, D, H, W), fully convolutional."""

    def __init__(self, config: DenseLabellingConfig = DenseLabellingConfig()) -> None:
        super().__init__()
        w = config.width
        self.net = nn.Sequential(nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(w, config.embedding_dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sphere_embedding(self.net(x))


def matching_probability(phi: torch.Tensor, phi_warped: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """p(v | u): (N, H·W of x, H·W of x'), softmax over v of ``scale · ⟨Φ_u(x), Φ_v(x')⟩``."""
    a, b = phi.flatten(2), phi_warped.flatten(2)  # (N, D, P)
    return torch.softmax(scale * a.transpose(1, 2) @ b, dim=-1)


def equivariance_loss(phi: torch.Tensor, phi_warped: torch.Tensor, warped_positions: torch.Tensor,
                      gamma: float = 1.0, scale: float = 1.0) -> torch.Tensor:
    """``(1/|Ω|) Σ_u Σ_v ‖v − g(u)‖^γ p(v | u)``, averaged over the batch.

    ``warped_positions`` (N, H·W, 2): g(u) for every pixel u of x, in the coordinates of
    ``pixel_grid`` (the positions v of x' are its pixel centres).
    """
    p = matching_probability(phi, phi_warped, scale)
    h, w = phi_warped.shape[-2:]
    v = pixel_grid(h, w, dtype=phi.dtype).to(phi.device)  # (P', 2)
    dist = torch.cdist(warped_positions, v.expand(phi.shape[0], -1, -1))  # (N, P, P')
    return (dist.pow(gamma) * p).sum(-1).mean()


def random_tps_pair(image: torch.Tensor, config: DenseLabellingConfig = DenseLabellingConfig(),
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x' = g x, g(u) per pixel of x): a random thin-plate-spline warp of ``image`` (N, C, H, W).

    Control points move from ``c`` to ``c + δ``; x' reads x through the backward spline, so content
    at ``c`` lands at ``c + δ``, and g(u) is the forward spline (``c -> c + δ``) at each pixel u.
    """
    n, _, h, w = image.shape
    control = regular_grid(config.warp_grid, dtype=image.dtype).to(image.device).expand(n, -1, -1)
    delta = config.warp_strength * torch.randn(control.shape, generator=generator, dtype=image.dtype)
    target = control + delta.to(image.device)
    warped = F.grid_sample(image, tps_sampling_grid(control, target, h, w), mode="bilinear",
                           padding_mode="border", align_corners=False)
    forward = tps_sampling_grid(target, control, h, w).reshape(n, h * w, 2)  # spline control -> target
    return warped, forward


@register_example(covers=[DenseLabeller, sphere_embedding, matching_probability, equivariance_loss,
                          random_tps_pair])
def dense_labelling_tps() -> Example:
    g = seeded(0)
    config = DenseLabellingConfig(width=4)
    model = DenseLabeller(config)
    image = torch.rand(1, 3, 6, 6, generator=g)
    warped, positions = random_tps_pair(image, config, g)

    def run(m: DenseLabeller, image: torch.Tensor, warped: torch.Tensor, positions: torch.Tensor):
        phi, phi_w = m(image), m(warped)
        return phi, equivariance_loss(phi, phi_w, positions, config.gamma, config.scale)

    return Example(model=model, inputs=(image, warped, positions), output_shapes=((1, 3, 6, 6), ()), run=run)
