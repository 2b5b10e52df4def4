"""Rewriting a Deep Generative Model.

David Bau, Steven Liu, Tongzhou Wang, Jun-Yan Zhu, Antonio Torralba.
ECCV 2020. arXiv:2007.15646. Catalog id: ``rewriting-gan``.

Implemented:

* Sec. 3, a layer as a linear associative memory: the weight W maps keys k
  (the layer's input features) to values v = W k. Given the uncentered
  key second-moment matrix ``C = K Kᵀ / N`` over many keys, the smallest
  change (in the C metric, i.e. least disturbance to the existing
  key–value pairs) that writes a new rule ``W′ k* = v*`` is rank one:
  ``W′ = W + Λ dᵀ``, ``d = C⁻¹ k*``, ``Λ = (v* − W k*) / (dᵀ k*)``.
* Its rank-r generalisation for r new key–value pairs ``K*, V*``:
  ``D = C⁻¹ K*``, ``Λ = (V* − W K*)(Dᵀ K*)⁻¹``, ``W′ = W + Λ Dᵀ``.
* Sec. 3.3, the optimisation form used on real GANs: fix the update
  direction d and learn only Λ (``RankOneEdit``), so that any loss on the
  generator's output can drive the edit while keys orthogonal to d in the
  C⁻¹ metric (``dᵀ k = 0``) keep their values.

Official code: davidbau/rewriting (commit 8f57af3), ``rewrite/ganrewrite.py``.
It collects ``C`` as the uncentered second moment of the layer's input
features taken per pixel (``collect_2nd_moment``), finds the direction as
``C⁻¹ k`` (``covariance_adjusted_query_key``; the default ``zca`` key method
reaches the same row space through ZCA whitening and orthonormalises the
directions), and writes the rule by optimising an L1 loss with Adam
(``insert``: 2001 steps, lr 0.05) while projecting the weight change onto the
directions every 10 steps — the optimisation form that ``RankOneEdit``
follows with Λ as the only free parameter.

Parameter count: no model is defined; the edit adds one vector Λ per
rewritten layer (as many numbers as the layer has output channels).

Deviations from the paper and the official code:

* Layers are ``nn.Linear`` (or 1×1 convolutions). The official code edits a
  3×3 convolution of a pretrained StyleGAN2/ProGAN with keys that are the
  per-pixel channel vectors, so every kernel tap's update lies along the
  same input-channel direction d (``projected_conv``); a linear layer is the
  one-tap case.
* The closed-form updates (Sec. 3) are exact; the official ``insert`` reaches
  the same constraint iteratively and is not reproduced step by step.
* The interactive copy–paste–context interface is not included.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


def key_covariance(keys: torch.Tensor) -> torch.Tensor:
    """C = K Kᵀ / N for keys given as rows (N, d) → (d, d): uncentered, as in the paper."""
    return keys.T @ keys / keys.shape[0]


def update_direction(cov: torch.Tensor, k_star: torch.Tensor) -> torch.Tensor:
    """d = C⁻¹ k* for one key (d,) or keys as rows (r, d) → same shape."""
    return torch.linalg.solve(cov, k_star[..., None])[..., 0]  # each key a column: batched over rows


def rank_one_update(weight: torch.Tensor, cov: torch.Tensor, k_star: torch.Tensor, v_star: torch.Tensor) -> torch.Tensor:
    """W′ = W + Λ dᵀ with d = C⁻¹k*, Λ = (v* − W k*) / (dᵀk*): then W′ k* = v* exactly.

    weight (out, in), cov (in, in), k_star (in,), v_star (out,) → (out, in).
    """
    d = update_direction(cov, k_star)
    lam = (v_star - weight @ k_star) / (d @ k_star)
    return weight + torch.outer(lam, d)


def rank_r_update(weight: torch.Tensor, cov: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Write r rules at once: keys (r, in), values (r, out) → W′ with W′ kᵢ = vᵢ for all i."""
    d = update_direction(cov, keys)  # (r, in)
    residual = values - keys @ weight.T  # (r, out): v* − W k*
    lam = torch.linalg.solve(keys @ d.T, residual)  # (Dᵀ K*)⁻¹ applied on the key side: (r, out)
    return weight + lam.T @ d


class RankOneEdit(nn.Module):
    """A frozen linear layer plus a learnable update along a fixed direction: y = (W + Λ dᵀ) x + b."""

    def __init__(self, layer: nn.Linear, direction: torch.Tensor) -> None:
        super().__init__()
        self.layer = layer
        for p in self.layer.parameters():  # only Λ is optimised
            p.requires_grad_(False)
        self.register_buffer("direction", direction.detach().clone())
        self.lam = nn.Parameter(torch.zeros(layer.out_features))

    def edited_weight(self) -> torch.Tensor:
        return self.layer.weight + torch.outer(self.lam, self.direction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.edited_weight(), self.layer.bias)


def edit_layer(layer: nn.Linear, cov: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> None:
    """In place: make ``layer(kᵢ) = vᵢ`` (bias included) for keys (r, in), values (r, out)."""
    target = values - (layer.bias if layer.bias is not None else 0.0)
    with torch.no_grad():
        layer.weight.copy_(rank_r_update(layer.weight, cov, keys, target))


# --------------------------------------------------------------------- examples
@register_example(covers=[key_covariance, update_direction, rank_one_update, rank_r_update, RankOneEdit, edit_layer])
def rewriting_rank_one_edit() -> Example:
    g = seeded(0)
    layer = nn.Linear(6, 4)
    keys = torch.randn(64, 6, generator=g)
    cov = key_covariance(keys)
    k_star, v_star = torch.randn(6, generator=g), torch.randn(4, generator=g)
    closed_form = nn.Linear(6, 4)
    edit_layer(closed_form, cov, k_star[None], v_star[None])
    model = RankOneEdit(layer, update_direction(cov, k_star))
    x = torch.randn(3, 6, generator=g)

    def run(m: RankOneEdit, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        w1 = rank_one_update(m.edited_weight(), cov, k_star, v_star)  # differentiable through Λ
        return m(x), F.mse_loss(m(k_star[None]), v_star[None]), w1 @ k_star

    return Example(model=model, inputs=(x,), output_shapes=((3, 4), (), (4,)), run=run)
