"""Active Appearance Models.

T. F. Cootes, G. J. Edwards, C. J. Taylor. ECCV 1998 (journal version IEEE
TPAMI 23(6), 2001). No arXiv id. Catalog id: ``active-appearance-model``.

Implemented:

* Generalised Procrustes alignment of landmark shapes (Sec. 2 / the ASM
  papers): centre each shape, scale it to unit norm, rotate it onto the
  current mean (orthogonal Procrustes by SVD, reflections excluded), and
  iterate with the re-normalised mean.
* Linear statistical models by PCA (Sec. 2): ``x = x̄ + P_s b_s`` for shapes
  and ``g = ḡ + P_g b_g`` for shape-free textures, keeping the modes that
  explain a fraction of the variance (98% in the paper).
* The combined appearance model (Sec. 2): ``b = [W_s b_s; b_g] = Q c`` by a
  further PCA, with ``W_s = r I`` and ``r² = Σλ_g / Σλ_s`` (the ratio of
  texture to shape variance), so one vector c controls shape and texture.
* The search (Sec. 4): a linear update ``δc = R δg`` learned by multivariate
  regression from known displacements of the parameters and the texture
  residuals they cause, and the iteration ``c ← c − k R δg`` trying
  ``k = 1, 0.5, 0.25, …`` until the residual error decreases.

Parameter count: none (a statistical model; R has n_params × n_pixels entries).

Deviations from the paper:

* The fitting is shown on a residual function passed in by the caller; the
  tests use a smooth synthetic appearance function of the parameters rather
  than warping real images into the mean shape (which needs a piecewise
  affine or thin-plate warp, ``refimpl/thin_plate_spline.py``), and no pose
  or texture normalisation parameters.
* The regression uses least squares on all training displacements at once
  (the paper describes the same multivariate regression).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class AAMConfig:
    variance_kept: float = 0.98  # Sec. 2: modes explaining 98% of the variance
    procrustes_iterations: int = 10  # iterations of generalised Procrustes alignment
    step_scales: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125)  # Sec. 4: try k = 1, 0.5, 0.25, ...
    search_iterations: int = 30


# --------------------------------------------------------------------- shapes
def _normalise(shapes: torch.Tensor) -> torch.Tensor:
    centred = shapes - shapes.mean(dim=-2, keepdim=True)
    return centred / centred.flatten(-2).norm(dim=-1)[..., None, None]


def _rotate_onto(shapes: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Rotate each (centred) shape (N, K, 2) to best match ``reference`` (K, 2), no reflection."""
    m = shapes.transpose(-1, -2) @ reference  # (N, 2, 2)
    u, _, vh = torch.linalg.svd(m)
    d = torch.sign(torch.linalg.det(u @ vh))
    fix = torch.diag_embed(torch.stack([torch.ones_like(d), d], -1))
    return shapes @ (u @ fix @ vh)


def procrustes_align(shapes: torch.Tensor, iterations: int = AAMConfig.procrustes_iterations
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Aligned shapes (N, K, 2) and their unit-norm mean (K, 2)."""
    aligned = _normalise(shapes)
    mean = aligned[0]
    for _ in range(iterations):
        aligned = _rotate_onto(aligned, mean)
        mean = _normalise(aligned.mean(0))
    return aligned, mean


# --------------------------------------------------------------------- PCA models
@dataclass
class PCAModel:
    mean: torch.Tensor  # (D,)
    components: torch.Tensor  # (D, k), orthonormal columns
    variances: torch.Tensor  # (k,)

    def to_params(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) @ self.components

    def from_params(self, b: torch.Tensor) -> torch.Tensor:
        return self.mean + b @ self.components.T


def fit_pca(data: torch.Tensor, variance_kept: float = AAMConfig.variance_kept) -> PCAModel:
    """PCA of rows (N, D), keeping the fewest modes that explain ``variance_kept`` of the variance."""
    mean = data.mean(0)
    _, s, vh = torch.linalg.svd(data - mean, full_matrices=False)
    var = s ** 2 / (data.shape[0] - 1)
    k = int(torch.searchsorted(torch.cumsum(var, 0) / var.sum(), torch.tensor(variance_kept, dtype=var.dtype))) + 1
    k = min(k, var.numel())
    return PCAModel(mean, vh[:k].T, var[:k])


@dataclass
class AppearanceModel:
    shape: PCAModel
    texture: PCAModel
    combined: PCAModel  # over [r b_s; b_g]
    shape_weight: float  # r

    def instance(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shape vector and texture from combined parameters c (..., k)."""
        b = self.combined.from_params(c)
        n_s = self.shape.components.shape[1]
        return self.shape.from_params(b[..., :n_s] / self.shape_weight), self.texture.from_params(b[..., n_s:])


def build_appearance_model(shapes: torch.Tensor, textures: torch.Tensor,
                           config: AAMConfig = AAMConfig()) -> AppearanceModel:
    """Shapes (N, K, 2) in any pose, shape-free textures (N, P) -> the combined model of Sec. 2."""
    aligned, _ = procrustes_align(shapes, config.procrustes_iterations)
    shape = fit_pca(aligned.flatten(1), config.variance_kept)
    texture = fit_pca(textures, config.variance_kept)
    r = float((texture.variances.sum() / shape.variances.sum()).sqrt())
    b = torch.cat([r * shape.to_params(aligned.flatten(1)), texture.to_params(textures)], dim=1)
    return AppearanceModel(shape, texture, fit_pca(b, config.variance_kept), r)


# --------------------------------------------------------------------- search
def learn_update_matrix(residual: Callable[[torch.Tensor], torch.Tensor], params: torch.Tensor,
                        displacements: torch.Tensor) -> torch.Tensor:
    """R with ``δc ≈ R δg``: ``residual`` is that of a training image whose true parameters are ``params``
    (so it vanishes there); δg = residual(params + δc) is measured at known displacements δc (M, k)."""
    dg = torch.stack([residual(params + d) for d in displacements])  # (M, P)
    # Least squares: dg Rᵀ = displacements.
    return torch.linalg.lstsq(dg, displacements).solution.T


def aam_search(residual: Callable[[torch.Tensor], torch.Tensor], c0: torch.Tensor, update: torch.Tensor,
               config: AAMConfig = AAMConfig()) -> tuple[torch.Tensor, list[float]]:
    """Iterate ``c ← c − k R δg`` (k from ``step_scales``, first that lowers ‖δg‖²); returns c and the errors."""
    c = c0.clone()
    err = float(residual(c).pow(2).sum())
    history = [err]
    for _ in range(config.search_iterations):
        dc = update @ residual(c)
        for k in config.step_scales:
            trial = c - k * dc
            trial_err = float(residual(trial).pow(2).sum())
            if trial_err < err:
                c, err = trial, trial_err
                break
        else:
            break  # no step improves: converged
        history.append(err)
    return c, history


# --------------------------------------------------------------------- examples
@register_example(covers=[build_appearance_model, procrustes_align, fit_pca, PCAModel, AppearanceModel,
                          learn_update_matrix, aam_search])
def aam_fit() -> Example:
    g = seeded(0)
    base = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.5, 1.5]])
    shapes = base + 0.05 * torch.randn(12, 5, 2, generator=g)
    textures = torch.rand(1, 6, generator=g) + 0.1 * torch.randn(12, 6, generator=g)
    model = build_appearance_model(shapes, textures)
    k = model.combined.components.shape[1]
    target = model.instance(0.5 * model.combined.variances.sqrt())[1]
    mean_texture = model.instance(torch.zeros(k))[1]

    def residual(c: torch.Tensor) -> torch.Tensor:
        return model.instance(c)[1] - target

    def train_residual(c: torch.Tensor) -> torch.Tensor:  # a training image at the mean, c = 0
        return model.instance(c)[1] - mean_texture

    update = learn_update_matrix(train_residual, torch.zeros(k), 0.1 * torch.randn(20, k, generator=g))
    holder = torch.nn.Module()
    holder.c = torch.nn.Parameter(torch.zeros(k))

    def run(m: torch.nn.Module, _: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fitted, _errors = aam_search(lambda c: residual(c.cpu()), m.c.detach().cpu(), update)
        shape, texture = model.instance(m.c.cpu() + (fitted - m.c.detach().cpu()))
        return shape, texture

    return Example(model=holder, inputs=(torch.zeros(1),), output_shapes=((10,), (6,)), run=run)
