"""Accurate 3D Face Reconstruction with Weakly-Supervised Learning: From Single Image to Image Set.

Yu Deng, Jiaolong Yang, Sicheng Xu, Dong Chen, Yunde Jia, Xin Tong. CVPR
Workshops 2019. arXiv:1903.08527. Catalog id: ``deep-3d-face-reconstruction``.

Implemented (the single-image part, Sec. 3):

* The coefficient vector regressed by the reconstruction network R-Net:
  identity α (80), expression β (64), texture δ (80), pose angles (3),
  SH lighting γ (27 = 3 colour channels × 9 bands) and translation (3), 257
  numbers in the official code's order (``split_coefficients``). The face
  model, camera, SH shading and the landmark and photometric losses are the
  shared ``refimpl/morphable_model.py``.
* The robust hybrid loss (Sec. 3.2): the skin-masked photometric loss, the
  landmark loss with weight 20 on the nose and inner-mouth points
  (``landmark_weights``), the perception-level identity loss
  ``1 − cos(f(I), f(I'))`` on face-recognition features, the coefficient
  regulariser ``ω_α‖α‖² + ω_β‖β‖² + ω_δ‖δ‖²`` and the texture (reflectance)
  variance loss over the skin region; plus the official code's gamma loss,
  which pulls the three colour channels' SH coefficients to their mean (a
  nearly monochromatic light).
* ``ReconstructionNet``: a backbone followed by one zero-initialised 1×1
  head per coefficient group, as the official ``ReconNetWrapper`` does (so
  training starts from the mean face under the ambient light).

Official preset: sicxu/Deep3DFaceRecon_pytorch @ 9167c71 (the PyTorch
re-release by the authors), ``options/train_options.py`` loss weights and
``models/networks.py`` (ResNet-50 backbone, 257 outputs; 23,508,032 backbone and
526,593 head parameters; the backbone is torchvision's and is not rebuilt
here). ``OFFICIAL`` is that configuration; the defaults equal it.

Deviations from the paper and the official code:

* The loss weights are the official code's (``w_color = 1.92``,
  ``w_lm = 1.6e-3``, ``w_feat = 0.2``, ``w_reg = 3e-4`` with ``w_id = 1``,
  ``w_exp = 0.8``, ``w_tex = 1.7e-2``, ``w_gamma = 10``, ``w_reflc = 5``). The
  paper's Sec. 3.2 gives its own list, which was not available to check
  value by value here; the defaults are the code's, which were. The gamma
  loss is the code's addition to the paper's losses.
* The backbone is a small conv net in the examples (ResNet-50 in the paper);
  the face-recognition network of the identity loss (FaceNet / ArcFace) is
  passed in as features.
* Multi-image shape aggregation (Sec. 4, C-Net) is not implemented.
* The real BFM cannot be shipped: see ``refimpl/morphable_model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .morphable_model import landmark_loss, photometric_loss
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class Deep3DFaceConfig:
    n_id: int = 80  # Sec. 3.1: α ∈ R^80
    n_exp: int = 64  # Sec. 3.1: β ∈ R^64
    n_tex: int = 80  # Sec. 3.1: δ ∈ R^80
    n_angles: int = 3  # Sec. 3.1: rotation (pitch, yaw, roll)
    n_gamma: int = 27  # official models/bfm.py: 9 SH bands per colour channel
    n_trans: int = 3  # Sec. 3.1: translation
    w_color: float = 1.92  # official options/train_options.py: photometric
    w_lm: float = 1.6e-3  # official: landmark
    w_feat: float = 0.2  # official: identity (perception-level)
    w_reg: float = 3.0e-4  # official: coefficient regulariser
    w_id: float = 1.0  # official: ω_α
    w_exp: float = 0.8  # official: ω_β
    w_tex: float = 1.7e-2  # official: ω_δ
    w_gamma: float = 10.0  # official: monochromatic-light regulariser (not in the paper)
    w_reflc: float = 5.0  # official: texture variance over the skin
    landmark_weight: float = 20.0  # Sec. 3.2.2: weight 20 for the nose and inner-mouth landmarks
    backbone_channels: int = 2048  # ResNet-50's last feature width (official networks.py)

    @property
    def n_coefficients(self) -> int:
        return self.n_id + self.n_exp + self.n_tex + self.n_angles + self.n_gamma + self.n_trans


OFFICIAL = Deep3DFaceConfig()
TINY = Deep3DFaceConfig(n_id=4, n_exp=3, n_tex=4, backbone_channels=8)

GROUPS = ("id", "exp", "tex", "angle", "gamma", "trans")


def _group_sizes(config: Deep3DFaceConfig) -> tuple[int, ...]:
    return (config.n_id, config.n_exp, config.n_tex, config.n_angles, config.n_gamma, config.n_trans)


def split_coefficients(coeffs: torch.Tensor, config: Deep3DFaceConfig = OFFICIAL) -> dict[str, torch.Tensor]:
    """(B, 257) -> id, exp, tex, angle, gamma, trans, in the official order."""
    return dict(zip(GROUPS, torch.split(coeffs, _group_sizes(config), dim=1), strict=True))


# --------------------------------------------------------------------- the network
class ReconstructionNet(nn.Module):
    """R-Net: backbone features (B, C, 1, 1) -> one zero-initialised 1×1 head per coefficient group."""

    def __init__(self, backbone: nn.Module, config: Deep3DFaceConfig = OFFICIAL) -> None:
        super().__init__()
        self.backbone = backbone
        sizes = list(_group_sizes(config))
        sizes[-1:] = [2, 1]  # the official code has separate heads for (tx, ty) and tz
        self.heads = nn.ModuleList(nn.Conv2d(config.backbone_channels, k, 1) for k in sizes)
        for head in self.heads:
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.backbone(image)
        return torch.cat([head(features) for head in self.heads], dim=1).flatten(1)


# --------------------------------------------------------------------- losses
def landmark_weights(n: int = 68, weight: float = Deep3DFaceConfig.landmark_weight) -> torch.Tensor:
    """68 weights: ``weight`` on the nose bridge points 28–30 and the 8 inner-mouth points 60–67, 1 elsewhere."""
    w = torch.ones(n)
    w[28:31] = weight
    w[-8:] = weight
    return w


def identity_loss(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    """Perception-level loss: mean over the batch of ``1 − cos`` of face-recognition features."""
    cos = (F.normalize(features_a, dim=-1) * F.normalize(features_b, dim=-1)).sum(-1)
    return (1 - cos).mean()


def coefficient_regularization(coeffs: dict[str, torch.Tensor], config: Deep3DFaceConfig = OFFICIAL) -> torch.Tensor:
    """``(ω_α‖α‖² + ω_β‖β‖² + ω_δ‖δ‖²) / B``."""
    total = (config.w_id * coeffs["id"].pow(2).sum() + config.w_exp * coeffs["exp"].pow(2).sum()
             + config.w_tex * coeffs["tex"].pow(2).sum())
    return total / coeffs["id"].shape[0]


def gamma_loss(gamma: torch.Tensor) -> torch.Tensor:
    """Official code: mean squared deviation of each band's three channel coefficients from their mean."""
    g = gamma.reshape(gamma.shape[0], 3, -1)
    return (g - g.mean(dim=1, keepdim=True)).pow(2).mean()


def reflectance_loss(texture: torch.Tensor, skin_mask: torch.Tensor) -> torch.Tensor:
    """Texture variance over the skin vertices: texture (B, N, 3), skin_mask (N,) of 0/1."""
    m = skin_mask.reshape(1, -1, 1)
    mean = (m * texture).sum(1, keepdim=True) / m.sum()
    return ((texture - mean) * m).pow(2).sum() / (texture.shape[0] * m.sum())


def hybrid_loss(coeffs: torch.Tensor, rendered: torch.Tensor, image: torch.Tensor, face_mask: torch.Tensor,
                landmarks: torch.Tensor, target_landmarks: torch.Tensor, features: torch.Tensor,
                target_features: torch.Tensor, texture: torch.Tensor, skin_mask: torch.Tensor,
                config: Deep3DFaceConfig = OFFICIAL) -> torch.Tensor:
    """The weighted sum of Sec. 3.2 as the official ``FaceReconModel.compute_losses`` forms it."""
    parts = split_coefficients(coeffs, config)
    lm_w = landmark_weights(landmarks.shape[1], config.landmark_weight).to(landmarks)
    return (config.w_color * photometric_loss(rendered, image, face_mask)
            + config.w_lm * landmark_loss(landmarks, target_landmarks, lm_w)
            + config.w_feat * identity_loss(features, target_features)
            + config.w_reg * coefficient_regularization(parts, config)
            + config.w_gamma * gamma_loss(parts["gamma"])
            + config.w_reflc * reflectance_loss(texture, skin_mask))


# --------------------------------------------------------------------- examples
def tiny_backbone(config: Deep3DFaceConfig = TINY) -> nn.Module:
    """A stand-in for ResNet-50: conv, ReLU, global average pool to (B, C, 1, 1)."""
    return nn.Sequential(nn.Conv2d(3, config.backbone_channels, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1))


@register_example(covers=[ReconstructionNet, split_coefficients, tiny_backbone])
def deep3d_rnet() -> Example:
    g = seeded(0)
    net = ReconstructionNet(tiny_backbone(TINY), TINY)
    for head in net.heads:  # leave the zero initialisation so gradients reach the backbone in the smoke test
        nn.init.normal_(head.weight, std=0.1)
    return Example(model=net, inputs=(torch.rand(2, 3, 16, 16, generator=g),),
                   output_shapes=((2, TINY.n_coefficients),))


@register_example(covers=[hybrid_loss, landmark_weights, identity_loss, coefficient_regularization, gamma_loss,
                          reflectance_loss])
def deep3d_hybrid_loss() -> Example:
    g = seeded(0)
    model = nn.Module()
    model.coeffs = nn.Parameter(0.1 * torch.randn(2, TINY.n_coefficients, generator=g))
    model.landmarks = nn.Parameter(torch.rand(2, 68, 2, generator=g))
    model.features = nn.Parameter(torch.randn(2, 16, generator=g))
    model.texture = nn.Parameter(torch.rand(2, 10, 3, generator=g))
    image = torch.rand(2, 3, 8, 8, generator=g)
    skin = (torch.arange(10) % 2).float()

    def run(m: nn.Module, image: torch.Tensor) -> torch.Tensor:
        dev = image.device
        rendered = image * (1 + m.coeffs[:, :1, None, None])
        return hybrid_loss(m.coeffs, rendered, image, torch.ones(2, 1, 8, 8, device=dev), m.landmarks,
                           torch.full((2, 68, 2), 0.5, device=dev), m.features, torch.ones(2, 16, device=dev),
                           m.texture, skin.to(dev), TINY)

    return Example(model=model, inputs=(image,), output_shapes=((),), run=run)
