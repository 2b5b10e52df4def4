"""Thin-plate spline interpolation and image warping.

F. L. Bookstein, "Principal Warps: Thin-Plate Splines and the Decomposition of
Deformations", IEEE TPAMI 11(6), 1989 (the catalog links the method's
reference page). Catalog id: ``thin-plate-spline``. No arXiv id.

Implemented:

* The radial basis ``U(r) = r² log r²`` (``U(0) = 0``), the fundamental
  solution of the biharmonic equation ``Δ²U ∝ δ`` in 2-D.
* The interpolant through ``n`` control points ``p_i ↦ v_i``:
  ``f(x) = a_0 + a_x x + a_y y + Σ_i w_i U(|x − p_i|)``, whose coefficients
  solve the linear system ``[[K + λI, P], [Pᵀ, 0]] [w; a] = [v; 0]`` with
  ``K_ij = U(|p_i − p_j|)`` and ``P = [1, x_i, y_i]``. The side conditions
  ``Pᵀ w = 0`` make the bending part vanish at infinity; ``λ = 0`` is exact
  interpolation, ``λ > 0`` the smoothing spline.
* The bending energy ``I_f = ∬ f_xx² + 2 f_xy² + f_yy² dx dy``, which for this
  kernel is ``16π · wᵀ K w`` summed over the output coordinates (the same as
  Bookstein's ``8π wᵀ K w`` for ``U = r² log r``: this kernel is twice his,
  so its weights are half). It is zero exactly when the map is affine.
* A dense warp: the spline from target control points back to source control
  points gives a sampling grid for ``grid_sample`` (backward warping), and a
  module ``TPSWarp`` whose learnable control-point offsets warp an image, as
  used for synthetic deformations and spatial transformers.

Official code: none (a 1989 paper, before code was released with papers).
The tests pin the method's own numbers instead: an independent float64
solve of the bordered system, the bending energy against a quadrature of the
squared second derivatives, and the smoothing spline's residual ``λ w``.

Parameter count: none for the interpolation; ``TPSWarp`` learns ``2 n``
offsets.

Deviations from the reference:

* Points live in the normalised image coordinates of ``grid_sample``
  (``[-1, 1]``, ``align_corners=False``), not pixels.
* The linear system is solved in the input dtype; callers wanting float64
  accuracy pass float64 points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class TPSConfig:
    grid_size: int = 3  # control points per side of the regular grid TPSWarp starts from (a common choice)
    regularization: float = 0.0  # λ: 0 is exact interpolation (Bookstein 1989, Sec. II)


# --------------------------------------------------------------------- the spline
def tps_kernel(r2: torch.Tensor) -> torch.Tensor:
    """U as a function of the squared distance: ``r² log r²``, with ``U(0) = 0``."""
    safe = torch.where(r2 > 0, r2, torch.ones_like(r2))
    return torch.where(r2 > 0, r2 * torch.log(safe), torch.zeros_like(r2))


def _pairwise_r2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a.unsqueeze(-2) - b.unsqueeze(-3)) ** 2).sum(-1)


@dataclass
class TPSParams:
    """Bending weights ``w`` (..., n, d) and affine part ``a`` (..., 3, d)."""

    control: torch.Tensor
    w: torch.Tensor
    a: torch.Tensor


def fit_tps(control: torch.Tensor, target: torch.Tensor, regularization: float = TPSConfig.regularization) -> TPSParams:
    """Solve for the spline mapping ``control`` (..., n, 2) to ``target`` (..., n, d)."""
    n = control.shape[-2]
    k = tps_kernel(_pairwise_r2(control, control))
    if regularization:
        k = k + regularization * torch.eye(n, dtype=k.dtype, device=k.device)
    p = torch.cat([torch.ones_like(control[..., :1]), control], dim=-1)  # (..., n, 3)
    zeros = torch.zeros(*p.shape[:-2], 3, 3, dtype=k.dtype, device=k.device)
    system = torch.cat([torch.cat([k, p], -1), torch.cat([p.transpose(-1, -2), zeros], -1)], -2)
    rhs = torch.cat([target, torch.zeros(*target.shape[:-2], 3, target.shape[-1], dtype=target.dtype,
                                         device=target.device)], -2)
    sol = torch.linalg.solve(system, rhs)
    return TPSParams(control=control, w=sol[..., :n, :], a=sol[..., n:, :])


def tps_transform(points: torch.Tensor, params: TPSParams) -> torch.Tensor:
    """Evaluate the spline at ``points`` (..., m, 2) -> (..., m, d)."""
    u = tps_kernel(_pairwise_r2(points, params.control))  # (..., m, n)
    affine = params.a[..., :1, :] + points @ params.a[..., 1:, :]
    return affine + u @ params.w


def bending_energy(params: TPSParams) -> torch.Tensor:
    """``∬ f_xx² + 2 f_xy² + f_yy²`` summed over output coordinates: ``16π Σ_d w_dᵀ K w_d``."""
    k = tps_kernel(_pairwise_r2(params.control, params.control))
    return 16 * math.pi * torch.einsum("...id,...ij,...jd->...", params.w, k, params.w)


# --------------------------------------------------------------------- dense warps
def regular_grid(size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``size × size`` control points spread over ``[-1, 1]²``, x fastest, as (size², 2)."""
    t = torch.linspace(-1, 1, size, dtype=dtype)
    y, x = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=-1)


def pixel_grid(height: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Pixel centres in ``grid_sample`` coordinates (align_corners=False), as (H·W, 2) with (x, y)."""
    ys = (torch.arange(height, dtype=dtype) * 2 + 1) / height - 1
    xs = (torch.arange(width, dtype=dtype) * 2 + 1) / width - 1
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=-1)


def tps_sampling_grid(source: torch.Tensor, target: torch.Tensor, height: int, width: int,
                      regularization: float = TPSConfig.regularization) -> torch.Tensor:
    """Sampling grid (N, H, W, 2) that moves ``source`` points (N, n, 2) onto ``target`` points.

    Backward warping: each output pixel x reads the input at ``f(x)``, where the
    spline ``f`` maps target points to source points.
    """
    params = fit_tps(target, source, regularization)
    pix = pixel_grid(height, width, dtype=source.dtype).to(source.device).expand(source.shape[0], -1, -1)
    return tps_transform(pix, params).reshape(source.shape[0], height, width, 2)


def tps_warp_image(image: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
                   regularization: float = TPSConfig.regularization) -> torch.Tensor:
    """Warp ``image`` (N, C, H, W) so that what was at ``source`` lands at ``target``."""
    grid = tps_sampling_grid(source, target, image.shape[-2], image.shape[-1], regularization)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


class TPSWarp(nn.Module):
    """A regular grid of control points with learnable offsets; forward warps the image."""

    def __init__(self, config: TPSConfig = TPSConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("control", regular_grid(config.grid_size))
        self.offsets = nn.Parameter(torch.zeros(config.grid_size ** 2, 2))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        n = image.shape[0]
        source = self.control.expand(n, -1, -1)
        return tps_warp_image(image, source, source + self.offsets, self.config.regularization)


# --------------------------------------------------------------------- examples
@register_example(covers=[TPSWarp, tps_warp_image, tps_sampling_grid, regular_grid, pixel_grid])
def tps_warp() -> Example:
    g = seeded(0)
    model = TPSWarp()
    with torch.no_grad():
        model.offsets.copy_(0.1 * torch.randn(9, 2, generator=g))
    return Example(model=model, inputs=(torch.rand(2, 3, 8, 8, generator=g),), output_shapes=((2, 3, 8, 8),))


@register_example(covers=[fit_tps, tps_transform, bending_energy, tps_kernel, TPSParams])
def tps_interpolation() -> Example:
    g = seeded(0)
    control = torch.rand(6, 2, generator=g) * 2 - 1
    model = nn.Module()
    model.target = nn.Parameter(control + 0.1 * torch.randn(6, 2, generator=g))

    def run(m: nn.Module, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        params = fit_tps(control.to(points.device), m.target)
        return tps_transform(points, params), bending_energy(params)

    return Example(model=model, inputs=(torch.rand(5, 2, generator=g),), output_shapes=((5, 2), ()), run=run)
