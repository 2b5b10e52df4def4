"""Detail on top of a coarse 3DMM face: residual depth refinement and displacement maps.

Two papers that add detail to a 3DMM reconstruction (the shared model is
``refimpl/morphable_model.py``):

* DF2Net: A Dense-Fine-Finer Network for Detailed 3D Face Reconstruction.
  Xiaoxing Zeng, Xiaojiang Peng, Yu Qiao. ICCV 2019. No arXiv id. Catalog id
  ``df2net``. A coarse depth map from a fitted 3DMM is refined in stages: a
  dense network (D-Net) predicts depth from the image and the coarse depth,
  then a fine (F-Net) and a finer (Fr-Net) network each add a residual at
  the same resolution, taking the image and the previous depth.
* Photo-Realistic Facial Details Synthesis from Single Image. Anpei Chen,
  Zhang Chen, Guli Zhang, Ziheng Zhang, Kenny Mitchell, Jingyi Yu. ICCV 2019.
  arXiv:1903.10873. Catalog id ``facial-details-synthesis``. A proxy 3DMM
  mesh gets its wrinkles from a displacement map in UV space, predicted from
  the UV texture by an image-to-image network; each vertex moves along its
  normal by the displacement sampled at its UV coordinate.

Implemented:

* ``ResidualDepthRefiner``: (image, depth) -> depth + residual, a small
  conv net whose last layer starts at zero (so a fresh refiner passes the
  depth through); ``DepthCascade`` chains them (D, F, Fr stages).
* ``sample_uv``: bilinear lookup of a UV map (N, C, H, W) at per-vertex UV
  coordinates in [0, 1]² (u to the right, v downwards).
* ``apply_displacement``: ``v' = v + d · n`` per vertex.

Parameter count: that of the small refiners (the papers' networks are
U-Nets / pix2pix generators with millions of parameters).

Deviations from the papers:

* The networks are small stand-ins with the papers' inputs and outputs, not
  their architectures (DF2Net's stages are hourglass/U-Net networks trained
  with depth, gradient and normal losses; Chen et al. use a pix2pix-style
  cGAN on 2048² UV maps). What is implemented is the structure the papers
  share: coarse geometry from the 3DMM plus learned residual detail.
* DF2Net's first stage also regresses dense depth from scratch; here every
  stage is residual on its input depth.
* No training data or losses of the papers are included.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DetailConfig:
    width: int = 32  # refiner conv width (small stand-in; see Deviations)
    stages: int = 3  # DF2Net: D-Net, F-Net, Fr-Net


TINY = DetailConfig(width=4)


class ResidualDepthRefiner(nn.Module):
    """(image (N, 3, H, W), depth (N, 1, H, W)) -> depth + f(image, depth)."""

    def __init__(self, config: DetailConfig = DetailConfig()) -> None:
        super().__init__()
        w = config.width
        self.body = nn.Sequential(nn.Conv2d(4, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(w, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def residual(self, image: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(torch.cat([image, depth], dim=1)))

    def forward(self, image: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        return depth + self.residual(image, depth)


class DepthCascade(nn.Module):
    """DF2Net's dense -> fine -> finer stages, each refining the previous stage's depth; returns all stages."""

    def __init__(self, config: DetailConfig = DetailConfig()) -> None:
        super().__init__()
        self.stages = nn.ModuleList(ResidualDepthRefiner(config) for _ in range(config.stages))

    def forward(self, image: torch.Tensor, coarse_depth: torch.Tensor) -> list[torch.Tensor]:
        depths, depth = [], coarse_depth
        for stage in self.stages:
            depth = stage(image, depth)
            depths.append(depth)
        return depths


def sample_uv(uv_map: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Values (N, V, C) of ``uv_map`` (N, C, H, W) at ``uv`` (N, V, 2) in [0, 1]² (pixel centres at (i + ½)/W)."""
    grid = (uv * 2 - 1).unsqueeze(1)  # (N, 1, V, 2) in grid_sample coordinates
    return F.grid_sample(uv_map, grid, mode="bilinear", padding_mode="border", align_corners=False)[:, :, 0].transpose(1, 2)


def apply_displacement(vertices: torch.Tensor, normals: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """``v + d · n``: vertices and unit normals (N, V, 3), displacement (N, V) or (N, V, 1)."""
    if displacement.dim() == 2:
        displacement = displacement.unsqueeze(-1)
    return vertices + displacement * normals


# --------------------------------------------------------------------- examples
@register_example(covers=[DepthCascade, ResidualDepthRefiner])
def df2net_cascade() -> Example:
    g = seeded(0)
    model = DepthCascade(TINY)
    for stage in model.stages:  # away from the zero start, so gradients reach every layer in the smoke test
        nn.init.normal_(stage.out.weight, std=0.1)
    return Example(model=model, inputs=(torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 1, 8, 8, generator=g)),
                   output_shapes=((1, 1, 8, 8),) * 3)


@register_example(covers=[apply_displacement, sample_uv])
def displacement_map_details() -> Example:
    g = seeded(0)
    model = nn.Module()
    model.uv_displacement = nn.Parameter(0.01 * torch.randn(1, 1, 8, 8, generator=g))
    vertices = torch.rand(1, 5, 3, generator=g)
    normals = F.normalize(torch.randn(1, 5, 3, generator=g), dim=-1)
    uv = torch.rand(1, 5, 2, generator=g)

    def run(m: nn.Module, vertices: torch.Tensor, normals: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
        return apply_displacement(vertices, normals, sample_uv(m.uv_displacement, uv))

    return Example(model=model, inputs=(vertices, normals, uv), output_shapes=((1, 5, 3),), run=run)
