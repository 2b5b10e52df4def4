"""Face Alignment Across Large Poses: A 3D Solution (3DDFA).

Xiangyu Zhu, Zhen Lei, Xiaoming Liu, Hailin Shi, Stan Z. Li. CVPR 2016.
arXiv:1511.07212. Catalog id: ``3ddfa``.

Implemented:

* The parameter vector ``p = [f, pitch, yaw, roll, t₂d, α_id, α_exp]`` and
  the model ``V(p) = f · Pr · R · (S̄ + A_id α_id + A_exp α_exp) + t₂d``
  (Sec. 3, Eq. 1; the linear model and projection are the shared
  ``refimpl/morphable_model.py``).
* The regression target of each cascade iteration, ``Δp = p^g − p^k``
  (Sec. 3: the CNN at iteration k predicts the update from the current
  parameters p^k), ``regression_target``.
* The costs of Sec. 4: the Parameter Distance Cost
  ``E_pdc = ‖Δp − (p^g − p^k)‖²``, the Vertex Distance Cost
  ``E_vdc = ‖V(p^k + Δp) − V(p^g)‖²`` and the Weighted Parameter Distance
  Cost ``E_wpdc = (Δp − (p^g − p^k))ᵀ diag(w) (Δp − (p^g − p^k))`` with the
  importance ``w_i = ‖V(p^d(i)) − V(p^g)‖ / Σ_j w_j``, where ``p^d(i)`` is the
  ground truth with only its i-th entry replaced by the prediction
  ``(p^k + Δp)_i``. The weights are treated as constants (no gradient flows
  through them).

Official preset: the authors' later PyTorch code (cleardusk/3DDFA @ 3545f355bfc71e5748fa915b13932958363135d7,
``wpdc_loss.py``) regresses 62 numbers (a 3×4 affine camera, 40 shape and 10
expression coefficients), ``OFFICIAL``; the paper's vector has 6 pose, 199
shape and 29 expression entries (234), the default.

Deviations from the paper and the official code:

* The official ``WPDCLoss`` approximates the weights analytically (parameter
  differences times basis norms, a "magic number" scale, max-normalised, the
  z translation zeroed); this module computes the paper's definition
  directly, one perturbed reconstruction per parameter (cost O(n · N)).
* V(p) is the 2-D projection of Eq. 1; the cascade CNN, PNCC/PAF features and
  the face profiling data augmentation are not implemented.
* The real BFM cannot be shipped: see ``refimpl/morphable_model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .morphable_model import TINY as TINY_MODEL
from .morphable_model import MorphableModel, euler_rotation, synthetic_model, weak_perspective
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class TDDFAConfig:
    n_pose: int = 6  # Sec. 3: f, pitch, yaw, roll and the 2-D translation
    n_shape: int = 199  # Sec. 3: BFM identity (α_id ∈ R^199)
    n_exp: int = 29  # Sec. 3: FaceWarehouse expression (α_exp ∈ R^29)

    @property
    def n_params(self) -> int:
        return self.n_pose + self.n_shape + self.n_exp


# cleardusk/3DDFA @ 3545f35 wpdc_loss.py: param[:, :12] a 3×4 camera, [12:52] shape, [52:] expression.
OFFICIAL = TDDFAConfig(n_pose=12, n_shape=40, n_exp=10)
TINY = TDDFAConfig(n_shape=TINY_MODEL.n_id, n_exp=TINY_MODEL.n_exp)


def reconstruct(params: torch.Tensor, model: MorphableModel, config: TDDFAConfig = TINY) -> torch.Tensor:
    """Eq. 1: projected vertices (B, N, 2) from p (B, 6 + n_shape + n_exp)."""
    if config.n_pose != 6:
        raise ValueError("reconstruct implements the paper's 6 pose parameters")
    if params.shape[-1] != config.n_params:
        raise ValueError(f"p has {params.shape[-1]} entries; the config expects {config.n_params}")
    f, angles, t2d = params[:, 0], params[:, 1:4], params[:, 4:6]
    shape, exp = params[:, 6:6 + config.n_shape], params[:, 6 + config.n_shape:]
    return weak_perspective(model.shape(shape, exp), f, euler_rotation(angles), t2d)


def regression_target(p_gt: torch.Tensor, p_k: torch.Tensor) -> torch.Tensor:
    """Δp the network at cascade iteration k should predict: ``p^g − p^k``."""
    return p_gt - p_k


def pdc_loss(delta_p: torch.Tensor, p_gt: torch.Tensor, p_k: torch.Tensor) -> torch.Tensor:
    """Sec. 4.1: ``‖Δp − (p^g − p^k)‖²``, averaged over the batch."""
    return (delta_p - regression_target(p_gt, p_k)).pow(2).sum(-1).mean()


def vdc_loss(delta_p: torch.Tensor, p_gt: torch.Tensor, p_k: torch.Tensor, model: MorphableModel,
             config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 4.2: ``‖V(p^k + Δp) − V(p^g)‖²``, averaged over the batch."""
    diff = reconstruct(p_k + delta_p, model, config) - reconstruct(p_gt, model, config)
    return diff.pow(2).sum((-1, -2)).mean()


def wpdc_weights(p_pred: torch.Tensor, p_gt: torch.Tensor, model: MorphableModel,
                 config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 4.3: ``w_i ∝ ‖V(p^d(i)) − V(p^g)‖``, normalised to sum to one; no gradient (B, n)."""
    with torch.no_grad():
        b, n = p_gt.shape
        eye = torch.eye(n, dtype=torch.bool, device=p_gt.device)
        # p^d(i): the ground truth with entry i taken from the prediction, for every i at once.
        p_d = torch.where(eye, p_pred[:, None, :], p_gt[:, None, :]).reshape(b * n, n)
        v_d = reconstruct(p_d, model, config).reshape(b, n, -1)
        v_g = reconstruct(p_gt, model, config).reshape(b, 1, -1)
        w = (v_d - v_g).norm(dim=-1)
        return w / w.sum(-1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)


def wpdc_loss(delta_p: torch.Tensor, p_gt: torch.Tensor, p_k: torch.Tensor, model: MorphableModel,
              config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 4.3: ``(Δp − (p^g − p^k))ᵀ diag(w) (Δp − (p^g − p^k))``, averaged over the batch."""
    w = wpdc_weights(p_k + delta_p, p_gt, model, config)
    return (w * (delta_p - regression_target(p_gt, p_k)).pow(2)).sum(-1).mean()


# --------------------------------------------------------------------- examples
def _tiny_params(batch: int, generator: torch.Generator) -> torch.Tensor:
    pose = torch.tensor([1.0, 0.1, -0.2, 0.05, 0.0, 0.0]).expand(batch, -1)
    coeffs = torch.randn(batch, TINY.n_shape + TINY.n_exp, generator=generator)
    return torch.cat([pose, coeffs], dim=1)


@register_example(covers=[reconstruct, regression_target, pdc_loss, vdc_loss, wpdc_weights, wpdc_loss])
def tddfa_costs() -> Example:
    g = seeded(0)
    mm = synthetic_model(TINY_MODEL, g)
    p_gt = _tiny_params(2, g)
    p_k = p_gt + 0.1 * torch.randn(2, TINY.n_params, generator=g)
    model = nn.Module()
    model.delta = nn.Parameter(0.05 * torch.randn(2, TINY.n_params, generator=g))

    def run(m: nn.Module, p_gt: torch.Tensor, p_k: torch.Tensor) -> tuple[torch.Tensor, ...]:
        face = mm.to(p_gt.device)
        return (reconstruct(p_k + m.delta, face), pdc_loss(m.delta, p_gt, p_k), vdc_loss(m.delta, p_gt, p_k, face),
                wpdc_loss(m.delta, p_gt, p_k, face))

    return Example(model=model, inputs=(p_gt, p_k), output_shapes=((2, 25, 2), (), (), ()), run=run)
