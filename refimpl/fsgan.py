"""FSGAN: Subject Agnostic Face Swapping and Reenactment.

Yuval Nirkin, Yosi Keller, Tal Hassner. ICCV 2019. arXiv:1908.05932.
Catalog id: ``fsgan``.

Implemented:

* Sec. 3.2, the reenactment generator input: the target pose is given as
  one heatmap per 2-D facial landmark, a Gaussian centred on the landmark
  (``exp(−‖p − l‖² / 2σ²)``, peak 1 at the landmark).
* Sec. 3.2, the reenactment generator ``G_r``: a small U-Net taking the
  source face and the landmark heatmaps, predicting the reenacted face and
  its segmentation (background / face / hair), as the paper's ``G_r`` does.
* Sec. 3.4–3.5, blending: mask blending ``m · face + (1 − m) · target`` and
  Poisson blending, which the paper uses to build the blending generator's
  target: solve ``Δf = Δs`` (the source's Laplacian as guidance) inside the
  face mask with ``f = target`` outside, here by Jacobi iterations.
* Sec. 3.3, the barycentric weights used for face-view interpolation over a
  Delaunay triangle of source views (in Euler-angle space).

Official code (YuvalNirkin/fsgan, commit 05237f4): the released reenactment
generator (v2.1, ``experiments/reenactment/nfv_msrunet_reenactment_attr_no_seg_v2.1.py``)
is ``MultiScaleResUNet(in_nc=101, out_nc=3, flat_layers=(2, 2, 2, 2), ngf=128)``
from ``models/res_unet.py``: 3 image channels plus 98 landmark heatmaps (WFLW
landmarks), 76,003,840 parameters (counted from those layer definitions). That
network is not reproduced here: a tiny U-Net stands in for it and no count is
claimed for this module. The official landmark heatmaps
(``utils/landmarks_utils.py``, ``LandmarksHeatMapDecoder``) are given as
:func:`landmarks_to_disk_heatmaps` and tested against values computed from it;
blending targets are made with OpenCV's ``seamlessClone`` (normal cloning, the
Poisson equation with the source's gradients) as :func:`poisson_blend` does.

Deviations from the paper:

* Landmark heatmaps are Gaussians on the pixel grid by default
  (``landmarks_to_heatmaps``, pixel coordinates); the official code draws
  thresholded discs in normalised coordinates (``landmarks_to_disk_heatmaps``).
  The paper uses 70 landmarks, the released v2.1 code 98.
* ``G_r`` is one U-Net level deep, not the paper's multi-scale, iterative
  (pose-interpolating) generator; inpainting ``G_c`` and blending ``G_b``
  generators are left out (their targets/blending functions are given).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class FSGANConfig:
    num_landmarks: int = 70  # Sec. 3.2: 70 landmark heatmaps (68 points + 2 pupils)
    image_size: int = 256  # Sec. 4: 256 × 256 face crops
    sigma: float = 2.0  # heatmap Gaussian std, in pixels
    width: int = 64  # first U-Net level channels
    num_classes: int = 3  # segmentation: background, face, hair (Sec. 3.2)
    poisson_iters: int = 500  # Jacobi iterations of the Poisson solve


TINY = FSGANConfig(num_landmarks=5, image_size=16, sigma=1.5, width=8, poisson_iters=200)


# --------------------------------------------------------------------- landmark heatmaps
def landmarks_to_disk_heatmaps(landmarks: torch.Tensor, size: int, threshold: float = 0.8) -> torch.Tensor:
    """The official code's heatmaps: (B, K, 2) landmarks as (x, y) in [0, 1] → (B, K, size, size) discs.

    With d the distance from a pixel centre ((i + ½)/size) to the landmark, in the same
    normalised units: ``h = max(0, (((√2 − d)/√2)⁸ − t) / (1 − t))``, t = 0.8
    (``LandmarksHeatMapDecoder``): 1 at the landmark, 0 beyond d ≈ 0.039.
    """
    centres = (torch.arange(size, dtype=landmarks.dtype, device=landmarks.device) + 0.5) / size
    dx = centres[None, None, None, :] - landmarks[..., 0, None, None]  # (B, K, 1, size): columns are x
    dy = centres[None, None, :, None] - landmarks[..., 1, None, None]  # (B, K, size, 1): rows are y
    max_dist = 2**0.5
    falloff = ((max_dist - (dx**2 + dy**2).sqrt()) / max_dist) ** 8
    return ((falloff - threshold) / (1 - threshold)).clamp(min=0)


def landmarks_to_heatmaps(landmarks: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """(B, K, 2) landmarks as (x, y) pixel coordinates → (B, K, size, size) Gaussians with peak 1."""
    coords = torch.arange(size, dtype=landmarks.dtype, device=landmarks.device)
    dx = coords[None, None, None, :] - landmarks[..., 0, None, None]  # (B, K, 1, size)
    dy = coords[None, None, :, None] - landmarks[..., 1, None, None]  # (B, K, size, 1)
    return torch.exp(-(dx**2 + dy**2) / (2 * sigma**2))


# --------------------------------------------------------------------- reenactment generator
def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


class ReenactmentGenerator(nn.Module):
    """G_r: face (B, 3, S, S) + heatmaps (B, K, S, S) → (face (B, 3, S, S), segmentation logits (B, 3, S, S))."""

    def __init__(self, config: FSGANConfig = FSGANConfig()) -> None:
        super().__init__()
        c = config.width
        self.down1 = _block(3 + config.num_landmarks, c)
        self.down2 = nn.Sequential(nn.MaxPool2d(2), _block(c, 2 * c))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), _block(2 * c, c))
        self.fuse = _block(2 * c, c)  # skip connection from down1
        self.to_face = nn.Conv2d(c, 3, 1)
        self.to_segmentation = nn.Conv2d(c, config.num_classes, 1)

    def forward(self, face: torch.Tensor, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d1 = self.down1(torch.cat([face, heatmaps], dim=1))
        x = self.fuse(torch.cat([self.up(self.down2(d1)), d1], dim=1))
        return torch.tanh(self.to_face(x)), self.to_segmentation(x)


# --------------------------------------------------------------------- blending
def mask_blend(face: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """m · face + (1 − m) · target."""
    return mask * face + (1 - mask) * target


_NEIGHBOURS = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def _neighbour_sum(x: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    kernel = _NEIGHBOURS.to(x).view(1, 1, 3, 3).expand(c, 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=c)


def poisson_blend(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, iters: int = 500) -> torch.Tensor:
    """Seamless cloning: inside ``mask`` (B, 1, H, W) ∈ {0, 1} solve ``4f_p − Σ_q f_q = 4s_p − Σ_q s_q``
    (the source's gradients, 4-neighbourhood) with ``f = target`` outside, by Jacobi iterations."""
    guidance = 4 * source - _neighbour_sum(source)
    f = mask * source + (1 - mask) * target
    for _ in range(iters):
        f = mask * (_neighbour_sum(f) + guidance) / 4 + (1 - mask) * target
    return f


# --------------------------------------------------------------------- view interpolation
def barycentric_weights(point: torch.Tensor, triangle: torch.Tensor) -> torch.Tensor:
    """Weights (3,) of ``point`` (2,) with respect to ``triangle`` (3, 2): Σ w = 1, Σ wᵢ vᵢ = point."""
    a = torch.cat([triangle.T, torch.ones(1, 3, dtype=triangle.dtype, device=triangle.device)])  # (3, 3)
    b = torch.cat([point, torch.ones(1, dtype=point.dtype, device=point.device)])
    return torch.linalg.solve(a, b)


# --------------------------------------------------------------------- examples
@register_example(covers=[ReenactmentGenerator, landmarks_to_heatmaps, mask_blend])
def fsgan_reenactment() -> Example:
    g = seeded(0)
    model = ReenactmentGenerator(TINY)
    face = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    landmarks = torch.rand(2, TINY.num_landmarks, 2, generator=g) * 15
    target = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1

    def run(m: ReenactmentGenerator, face: torch.Tensor, lms: torch.Tensor, target: torch.Tensor) -> tuple:
        out, seg = m(face, landmarks_to_heatmaps(lms, 16, TINY.sigma))
        face_mask = seg.softmax(1)[:, 1:2]
        return out, seg, mask_blend(out, target, face_mask)

    return Example(model=model, inputs=(face, landmarks, target),
                   output_shapes=((2, 3, 16, 16), (2, 3, 16, 16), (2, 3, 16, 16)), run=run)


@register_example(covers=[poisson_blend, barycentric_weights])
def fsgan_poisson_blend() -> Example:
    g = seeded(0)
    source = torch.rand(1, 3, 8, 8, generator=g, requires_grad=True)
    target = torch.rand(1, 3, 8, 8, generator=g)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    tri = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    return Example(model=nn.Module(), inputs=(source, target, mask), output_shapes=((1, 3, 8, 8), (3,)),
                   run=lambda _m, s, t, k: (poisson_blend(s, t, k, 50),
                                            barycentric_weights(s.mean((0, 2, 3))[:2], tri)))


@register_example(covers=[landmarks_to_disk_heatmaps])
def fsgan_disk_heatmaps() -> Example:
    g = seeded(0)
    landmarks = torch.rand(2, TINY.num_landmarks, 2, generator=g, requires_grad=True)
    return Example(model=nn.Module(), inputs=(landmarks,), output_shapes=((2, TINY.num_landmarks, 32, 32),),
                   run=lambda _m, lms: landmarks_to_disk_heatmaps(lms, 32))
