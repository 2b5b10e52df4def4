"""Mesh utilities of the face3d toolbox: image coordinates, z-buffer rasterisation, barycentric interpolation.

face3d: Python tools for 3D morphable models, Yao Feng (YadiraF/face3d on
GitHub), 2018. No paper, no arXiv id. Catalog id: ``face3d``. The 3DMM
itself (``face3d/morphable_model``) is ``refimpl/morphable_model.py``.

Implemented (``face3d/mesh_numpy/transform.py`` and ``render.py`` at commit
2fc2690):

* ``to_image``: world coordinates centred on the origin to image coordinates
  centred on ``(w/2, h/2)`` with the y axis flipped, ``v = h − (y + h/2) − 1``.
* ``rasterize_triangles``: for each pixel (integer coordinates ``(u, v)``),
  the barycentric coordinates in each triangle by Ericson's dot-product method
  (the one face3d uses), inside when ``β ≥ 0, γ ≥ 0, β + γ < 1``; depth is the
  barycentric blend of vertex z and the z-buffer keeps the largest z (face3d:
  "the bigger the z, the fronter the point"). Outputs the depth buffer, the
  triangle index per pixel (−1 for background) and the barycentric weights.
* ``interpolate_attributes``: per-vertex attributes (colours, normals, UV
  coordinates) blended with those weights, zero on the background;
  ``render_colors`` chains the two, as face3d's ``render_colors``.

Parameter count: none.

Deviations from face3d:

* Vectorised over pixels × triangles in torch instead of per-triangle loops
  (numpy) or the Cython core; the memory is O(H·W·F), meant for small meshes
  and tests. Each pixel is tested against every triangle, not only those
  whose bounding box covers it; the result is the same.
* Ties in depth keep the first triangle in index order (face3d keeps the
  first too: it replaces only on a strictly larger z).
* Hard rasterisation: gradients reach the attributes, not the vertex positions
  (a soft rasteriser is outside face3d's scope).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class RasterConfig:
    background_depth: float = -999999.0  # face3d render.py: depth_buffer initialised to −999999 (farthest)


@dataclass
class Rasterized:
    depth: torch.Tensor  # (H, W), background_depth where no triangle covers the pixel
    triangle: torch.Tensor  # (H, W) long, −1 for background
    barycentric: torch.Tensor  # (H, W, 3), zero for background


def to_image(vertices: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """face3d ``to_image``: shift to the image centre and flip y; z is kept (N, 3)."""
    x = vertices[..., 0] + width / 2
    y = height - (vertices[..., 1] + height / 2) - 1
    return torch.stack([x, y, vertices[..., 2]], dim=-1)


def barycentric_weights(points: torch.Tensor, tri: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (..., 3) of ``points`` (P, 2) in triangles ``tri`` (T, 3, 2) -> (P, T, 3), and inside (P, T)."""
    p0, p1, p2 = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1 = p2 - p0, p1 - p0  # face3d's naming: v0 towards vertex 2, v1 towards vertex 1
    v2 = points[:, None, :] - p0[None]
    dot00, dot01, dot11 = (v0 * v0).sum(-1), (v0 * v1).sum(-1), (v1 * v1).sum(-1)
    dot02, dot12 = (v2 * v0).sum(-1), (v2 * v1).sum(-1)
    denom = dot00 * dot11 - dot01 * dot01
    inv = torch.where(denom == 0, torch.zeros_like(denom), 1 / torch.where(denom == 0, torch.ones_like(denom), denom))
    u = (dot11 * dot02 - dot01 * dot12) * inv  # weight of vertex 2
    v = (dot00 * dot12 - dot01 * dot02) * inv  # weight of vertex 1
    inside = (u >= 0) & (v >= 0) & (u + v < 1)
    return torch.stack([1 - u - v, v, u], dim=-1), inside


def rasterize_triangles(vertices: torch.Tensor, triangles: torch.Tensor, height: int, width: int,
                        config: RasterConfig = RasterConfig()) -> Rasterized:
    """Z-buffer rasterisation of image-space vertices (N, 3) and triangles (F, 3)."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=vertices.dtype, device=vertices.device),
                            torch.arange(width, dtype=vertices.dtype, device=vertices.device), indexing="ij")
    pixels = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)  # (P, 2) as (u, v)
    corners = vertices[triangles]  # (F, 3, 3)
    weights, inside = barycentric_weights(pixels, corners[..., :2])
    depth = (weights * corners[None, :, :, 2]).sum(-1)  # (P, F)
    depth = torch.where(inside, depth, torch.full_like(depth, config.background_depth))
    best, index = depth.max(dim=1)  # max returns the first of equal maxima
    covered = inside.any(dim=1)
    tri = torch.where(covered, index, torch.full_like(index, -1))
    bary = weights[torch.arange(pixels.shape[0]), index] * covered[:, None]
    best = torch.where(covered, best, torch.full_like(best, config.background_depth))
    return Rasterized(best.reshape(height, width), tri.reshape(height, width), bary.reshape(height, width, 3))


def interpolate_attributes(attributes: torch.Tensor, triangles: torch.Tensor, raster: Rasterized) -> torch.Tensor:
    """Per-pixel blend (H, W, C) of per-vertex attributes (N, C); zero on the background."""
    tri = raster.triangle.clamp_min(0)
    corner_attr = attributes[triangles[tri]]  # (H, W, 3, C)
    # Background pixels carry zero weights, so they come out zero.
    return (raster.barycentric[..., None] * corner_attr).sum(-2)


def render_colors(vertices: torch.Tensor, triangles: torch.Tensor, colors: torch.Tensor, height: int,
                  width: int) -> torch.Tensor:
    """face3d ``render_colors``: rasterise image-space vertices and interpolate colours -> (H, W, C)."""
    return interpolate_attributes(colors, triangles, rasterize_triangles(vertices, triangles, height, width))


# --------------------------------------------------------------------- examples
@register_example(covers=[render_colors, rasterize_triangles, interpolate_attributes, barycentric_weights,
                          to_image, Rasterized])
def mesh_render_colors() -> Example:
    g = seeded(0)
    model = nn.Module()
    model.colors = nn.Parameter(torch.rand(4, 3, generator=g))
    # A square of two triangles in world coordinates, the right half raised towards the camera.
    world = torch.tensor([[-3.0, -3.0, 0.0], [3.0, -3.0, 1.0], [3.0, 3.0, 1.0], [-3.0, 3.0, 0.0]])
    triangles = torch.tensor([[0, 1, 2], [0, 2, 3]])

    def run(m: nn.Module, world: torch.Tensor) -> torch.Tensor:
        return render_colors(to_image(world, 8, 8), triangles.to(world.device), m.colors, 8, 8)

    return Example(model=model, inputs=(world,), output_shapes=((8, 8, 3),), run=run)
