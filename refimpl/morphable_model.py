"""A linear 3D Morphable Model: shape, expression and texture bases, camera, lighting, fitting losses.

Shared block of the 3DMM papers in the catalog: Deng et al. 2019
(arXiv:1903.08527, catalog id ``deep-3d-face-reconstruction``), Zhu et al.
CVPR 2016 (arXiv:1511.07212, ``3ddfa``), Chen et al. ICCV 2019
(arXiv:1903.10873, ``facial-details-synthesis``), Zeng et al. ICCV 2019
(``df2net``) and the face3d toolbox (``face3d``). The model itself is Blanz &
Vetter, "A Morphable Model for the Synthesis of 3D Faces", SIGGRAPH 1999.

Implemented:

* The linear model ``S(α, β) = S̄ + B_id α + B_exp β`` and
  ``T(δ) = T̄ + B_tex δ`` over N vertices (Deng Eq. 1; 3DDFA Eq. 1 without
  texture; face3d ``morphable_model.generate_vertices``).
* Rotation from Euler angles ``R = R_z(γ) R_y(β) R_x(α)`` acting on column
  vectors (the official Deng code, ``models/bfm.py:compute_rotation``).
* Weak-perspective projection ``V₂ = f · Pr · R · S + t₂d`` with ``Pr`` the
  orthographic 2×3 matrix (3DDFA Eq. 1), and the pinhole projection of Deng
  (camera at ``z = d`` looking down ``−z``: ``u = f x / (d − z) + c``).
* Vertex normals as normalised sums of the adjacent unit face normals, and
  Lambertian shading under 9 spherical-harmonics coefficients per colour
  channel (Deng Sec. 3.1, after Ramamoorthi & Hanrahan 2001): colour =
  albedo · Σ_k γ_k Y_k(n), with the official code's constants
  ``a = (π, 2π/√3, 2π/√8)``, ``c = (1/√(4π), √3/√(4π), 3√5/√(12π))`` and its
  ambient initialisation ``γ₀ += 0.8``.
* The fitting losses shared by the papers: the weighted landmark loss
  ``Σ_n ω_n ‖q_n − q'_n‖² / (B·N)`` and the photometric loss
  ``Σ_i A_i ‖I_i − I'_i‖₂ / Σ_i A_i`` (per-pixel L2 norm, not squared, over a
  skin mask A; Deng Eq. 2–3).

Official preset: the Basel Face Model 2009 as cropped by Deng et al.
(``BFM_model_front.mat``: 35,709 vertices, 80 identity, 64 expression
(FaceWarehouse) and 80 texture components, 68 landmarks) is ``BFM_FRONT``
below; the face3d/3DDFA BFM (53,215 vertices, 199 shape, 29 expression, 199
texture) is ``BFM_3DDFA``. Parameter count: none (a fixed model; the networks
that regress its coefficients live in the paper modules).

Official code: sicxu/Deep3DFaceRecon_pytorch (commit
9167c7136aebef0c54d3ac74f4b0396222a491c1), ``models/bfm.py`` (``SH``,
``compute_rotation``, ``compute_norm``, ``compute_color``, the camera) and
``models/losses.py`` (``photo_loss``, ``landmark_loss``). Its rotations of two
general angle triples and its shaded colours for every SH band at a general
normal, computed from that file in float64, are recorded in the tests.

Deviations from the papers and the official code:

* **The Basel Face Model cannot be shipped** (its licence requires each user
  to register). Tests and examples use ``synthetic_model``: a small
  hemispherical mesh with random orthonormal bases. A user loads the real
  model from the registered ``.mat`` file with ``scipy.io.loadmat`` and
  passes its arrays to ``MorphableModel(...)``. Deng's ``BFM_model_front.mat``
  holds ``meanshape`` (1, 3N), ``idBase`` (3N, 80), ``exBase`` (3N, 64),
  ``meantex`` (1, 3N, 0–255), ``texBase`` (3N, 80), ``tri`` (F, 3, 1-based),
  ``keypoints`` (68, 1-based); face3d's ``BFM.mat`` (struct ``model``) holds
  ``shapeMU``, ``shapePC`` (3N, 199), ``shapeEV``, ``expMU``, ``expPC`` (3N, 29),
  ``expEV``, ``texMU``, ``texPC``, ``texEV``, ``tri`` and ``kpt_ind``, with
  texture ``texMU + texPC (δ ⊙ texEV)`` (the basis scaled by its standard
  deviations). Vertices are interleaved ``(x₀, y₀, z₀, x₁, …)`` in both.
* Landmarks are vertex indices; the contour landmarks that slide with pose
  (3DDFA, face3d) are not modelled.
* The image-space y flip of the official code (``v = H − 1 − v``) is left to
  the caller; projections here keep the camera's axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class MorphableModelConfig:
    n_vertices: int = 35709  # BFM_model_front.mat (Deng et al. 2019, Sec. 3.1: BFM cropped to the face)
    n_id: int = 80  # Deng Sec. 3.1: α ∈ R^80 (BFM 2009 identity)
    n_exp: int = 64  # Deng Sec. 3.1: β ∈ R^64 (FaceWarehouse expression, Guo et al. 2018)
    n_tex: int = 80  # Deng Sec. 3.1: δ ∈ R^80
    n_landmarks: int = 68  # the 68-point iBUG layout (Deng Sec. 3.2.2, 3DDFA Sec. 6)
    sh_bands: int = 9  # Deng Sec. 3.1: three SH bands, 9 coefficients per colour channel
    ambient_init: float = 0.8  # official Deng code, models/bfm.py: init_lit = [0.8, 0, ..., 0]


BFM_FRONT = MorphableModelConfig()
# face3d / 3DDFA: BFM 2009 full head (53,215 vertices), 199 shape, 29 expression, 199 texture components.
BFM_3DDFA = MorphableModelConfig(n_vertices=53215, n_id=199, n_exp=29, n_tex=199)
TINY = MorphableModelConfig(n_vertices=25, n_id=4, n_exp=3, n_tex=4, n_landmarks=5)


# --------------------------------------------------------------------- the linear model
class MorphableModel(nn.Module):
    """``S̄ + B_id α + B_exp β`` and ``T̄ + B_tex δ``; all arrays are buffers (nothing learns)."""

    def __init__(self, mean_shape: torch.Tensor, id_basis: torch.Tensor, exp_basis: torch.Tensor,
                 mean_texture: torch.Tensor, tex_basis: torch.Tensor, triangles: torch.Tensor,
                 landmarks: torch.Tensor) -> None:
        super().__init__()
        n = mean_shape.reshape(-1, 3).shape[0]
        for name, basis in (("id_basis", id_basis), ("exp_basis", exp_basis), ("tex_basis", tex_basis)):
            if basis.shape[0] != 3 * n:
                raise ValueError(f"{name} has {basis.shape[0]} rows; expected 3·{n} (interleaved x, y, z)")
        self.register_buffer("mean_shape", mean_shape.reshape(n, 3))
        self.register_buffer("id_basis", id_basis)
        self.register_buffer("exp_basis", exp_basis)
        self.register_buffer("mean_texture", mean_texture.reshape(n, 3))
        self.register_buffer("tex_basis", tex_basis)
        self.register_buffer("triangles", triangles.long())
        self.register_buffer("landmarks", landmarks.long())

    def shape(self, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """Vertices (B, N, 3) from identity α (B, n_id) and expression β (B, n_exp)."""
        offset = alpha @ self.id_basis.T + beta @ self.exp_basis.T  # (B, 3N), interleaved
        return self.mean_shape + offset.reshape(alpha.shape[0], -1, 3)

    def texture(self, delta: torch.Tensor) -> torch.Tensor:
        """Per-vertex albedo (B, N, 3) from δ (B, n_tex)."""
        return self.mean_texture + (delta @ self.tex_basis.T).reshape(delta.shape[0], -1, 3)


def _hemisphere(side: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.linspace(-0.8, 0.8, side)
    y, x = torch.meshgrid(t, t, indexing="ij")
    z = torch.sqrt(1.5 - x ** 2 - y ** 2)  # a smooth bulge facing +z, like a face
    vertices = torch.stack([x, y, z], -1).reshape(-1, 3)
    idx = torch.arange(side * side).reshape(side, side)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    # Counter-clockwise seen from +z, so face normals point towards the camera.
    tris = torch.cat([torch.stack([a, b, d], -1).reshape(-1, 3), torch.stack([a, d, c], -1).reshape(-1, 3)])
    return vertices, tris


def synthetic_model(config: MorphableModelConfig = TINY, generator: torch.Generator | None = None) -> MorphableModel:
    """A small stand-in for the BFM: a hemispherical grid mesh and random orthonormal bases."""
    side = math.isqrt(config.n_vertices)
    if side * side != config.n_vertices:
        raise ValueError("synthetic_model needs a square number of vertices")
    vertices, tris = _hemisphere(side)
    n = config.n_vertices

    def basis(k: int, scale: float) -> torch.Tensor:
        q, _ = torch.linalg.qr(torch.randn(3 * n, k, generator=generator))
        return scale * q

    landmarks = torch.linspace(0, n - 1, config.n_landmarks).round().long()
    mean_texture = 0.5 + 0.1 * torch.rand(n, 3, generator=generator)
    return MorphableModel(vertices, basis(config.n_id, 0.3), basis(config.n_exp, 0.2), mean_texture,
                          basis(config.n_tex, 0.2), tris, landmarks)


# --------------------------------------------------------------------- camera
def euler_rotation(angles: torch.Tensor) -> torch.Tensor:
    """``R_z R_y R_x`` (B, 3, 3) from angles (B, 3) = (pitch about x, yaw about y, roll about z), radians."""
    x, y, z = angles.unbind(-1)
    one, zero = torch.ones_like(x), torch.zeros_like(x)

    def mat(*rows: torch.Tensor) -> torch.Tensor:
        return torch.stack(rows, -1).reshape(*x.shape, 3, 3)

    rx = mat(one, zero, zero, zero, x.cos(), -x.sin(), zero, x.sin(), x.cos())
    ry = mat(y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos())
    rz = mat(z.cos(), -z.sin(), zero, z.sin(), z.cos(), zero, zero, zero, one)
    return rz @ ry @ rx


def rigid_transform(vertices: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """``R v + t`` for vertices (B, N, 3), R (B, 3, 3), t (B, 3)."""
    return vertices @ rotation.transpose(-1, -2) + translation.unsqueeze(-2)


def weak_perspective(vertices: torch.Tensor, scale: torch.Tensor, rotation: torch.Tensor,
                     t2d: torch.Tensor) -> torch.Tensor:
    """3DDFA Eq. 1: ``f · Pr · R · v + t₂d`` (B, N, 2); scale (B,), t2d (B, 2)."""
    rotated = vertices @ rotation.transpose(-1, -2)
    return scale[:, None, None] * rotated[..., :2] + t2d.unsqueeze(-2)


def perspective_projection(vertices: torch.Tensor, focal: float, center: float,
                           camera_distance: float) -> torch.Tensor:
    """Deng's pinhole camera at ``z = d`` looking down −z: ``(f x/(d − z) + c, f y/(d − z) + c)``."""
    depth = camera_distance - vertices[..., 2:]
    return focal * vertices[..., :2] / depth + center


# --------------------------------------------------------------------- lighting
def vertex_normals(vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """Unit normals (B, N, 3): the normalised sum of the normals of the faces around each vertex."""
    v0, v1, v2 = (vertices[:, triangles[:, i]] for i in range(3))
    # Face normals are normalised before summing (each face counts once, as in the official Deng code).
    face = F.normalize(torch.cross(v1 - v0, v2 - v0, dim=-1), dim=-1)
    normals = torch.zeros_like(vertices).index_add_(1, triangles.reshape(-1),
                                                    face.repeat_interleave(3, dim=1))
    return F.normalize(normals, dim=-1)


SH_A = (math.pi, 2 * math.pi / math.sqrt(3.0), 2 * math.pi / math.sqrt(8.0))
SH_C = (1 / math.sqrt(4 * math.pi), math.sqrt(3.0) / math.sqrt(4 * math.pi), 3 * math.sqrt(5.0) / math.sqrt(12 * math.pi))


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """The 9 irradiance-weighted SH functions of unit normals (..., 3) -> (..., 9), in Deng's order."""
    x, y, z = normals.unbind(-1)
    a, c = SH_A, SH_C
    return torch.stack([
        a[0] * c[0] * torch.ones_like(x),
        -a[1] * c[1] * y,
        a[1] * c[1] * z,
        -a[1] * c[1] * x,
        a[2] * c[2] * x * y,
        -a[2] * c[2] * y * z,
        0.5 * a[2] * c[2] / math.sqrt(3.0) * (3 * z ** 2 - 1),
        -a[2] * c[2] * x * z,
        0.5 * a[2] * c[2] * (x ** 2 - y ** 2),
    ], dim=-1)


def sh_shading(albedo: torch.Tensor, normals: torch.Tensor, gamma: torch.Tensor,
               ambient_init: float = MorphableModelConfig.ambient_init) -> torch.Tensor:
    """Lambertian colour (B, N, 3) = albedo · Y(n) γ_c, with γ (B, 27) as 3 channels × 9 bands."""
    g = gamma.reshape(gamma.shape[0], 3, 9).clone()
    g[:, :, 0] = g[:, :, 0] + ambient_init
    irradiance = sh_basis(normals) @ g.transpose(1, 2)  # (B, N, 3)
    return albedo * irradiance


# --------------------------------------------------------------------- losses
def landmark_loss(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """``Σ_n ω_n ‖q_n − q'_n‖² / (B · N)`` for landmarks (B, N, 2)."""
    sq = ((predicted - target) ** 2).sum(-1)
    if weights is not None:
        sq = sq * weights
    return sq.sum() / (predicted.shape[0] * predicted.shape[1])


def photometric_loss(rendered: torch.Tensor, image: torch.Tensor, mask: torch.Tensor,
                     eps: float = 1e-6) -> torch.Tensor:
    """``Σ_i A_i ‖I_i − I'_i‖₂ / Σ_i A_i`` over pixels; images (B, 3, H, W), mask (B, 1, H, W).

    ``eps`` inside the square root keeps the gradient finite where the images agree (official code).
    """
    per_pixel = torch.sqrt(eps + ((rendered - image) ** 2).sum(1, keepdim=True))
    return (per_pixel * mask).sum() / mask.sum().clamp_min(1.0)


# --------------------------------------------------------------------- examples
class _Coefficients(nn.Module):
    """Learnable 3DMM coefficients for a fitting example."""

    def __init__(self, config: MorphableModelConfig, batch: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(batch, config.n_id))
        self.beta = nn.Parameter(torch.zeros(batch, config.n_exp))
        self.delta = nn.Parameter(torch.zeros(batch, config.n_tex))
        self.gamma = nn.Parameter(torch.zeros(batch, 3 * config.sh_bands))
        self.angles = nn.Parameter(torch.zeros(batch, 3))
        self.t2d = nn.Parameter(torch.zeros(batch, 2))


@register_example(covers=[MorphableModel, synthetic_model, euler_rotation, weak_perspective, vertex_normals,
                          sh_basis, sh_shading, landmark_loss])
def morphable_model_landmark_fit() -> Example:
    g = seeded(0)
    mm = synthetic_model(TINY, g)
    coeffs = _Coefficients(TINY, 2)
    target = torch.rand(2, TINY.n_landmarks, 2, generator=g)

    def run(m: _Coefficients, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        model = mm.to(target.device)
        verts = model.shape(m.alpha, m.beta)
        rot = euler_rotation(m.angles)
        lm = weak_perspective(verts, torch.ones(2, device=target.device), rot, m.t2d)[:, model.landmarks]
        colour = sh_shading(model.texture(m.delta), vertex_normals(verts @ rot.transpose(1, 2), model.triangles),
                            m.gamma)
        return lm, colour, landmark_loss(lm, target)

    return Example(model=coeffs, inputs=(target,), output_shapes=((2, 5, 2), (2, 25, 3), ()), run=run)


@register_example(covers=[perspective_projection, rigid_transform, photometric_loss])
def morphable_model_photometric() -> Example:
    g = seeded(0)
    model = nn.Module()
    model.translation = nn.Parameter(torch.tensor([[0.0, 0.0, 0.5]]))
    vertices = torch.rand(1, 6, 3, generator=g)
    image = torch.rand(1, 3, 4, 4, generator=g)
    mask = (torch.rand(1, 1, 4, 4, generator=g) > 0.3).float()

    def run(m: nn.Module, vertices: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        moved = rigid_transform(vertices, torch.eye(3, device=vertices.device)[None], m.translation)
        proj = perspective_projection(moved, focal=1015.0, center=112.0, camera_distance=10.0)
        rendered = image * 0.5 + moved[..., 2].mean()  # a stand-in renderer: brightness follows depth
        return proj, photometric_loss(rendered, image, mask.to(image.device))

    return Example(model=model, inputs=(vertices, image), output_shapes=((1, 6, 2), ()), run=run)
