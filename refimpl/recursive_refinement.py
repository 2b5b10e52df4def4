"""The recursive loop: feed a face-swap model's output back as its input, N times.

An experiment finding of the face-swap notes. Catalog id:
``recursive-refinement-loop``. Version 1 of the model drifted in shape and
colour as N grew (at N = 50 colours seen only in the target's training data
appeared); version 2 was nearly a fixed point (N = 500 looked like N = 0).

Implemented:

* ``recursive_refine(model, x, n)``: ``x₀ = model(x)``, ``x_{k+1} = model(x_k)``;
  ``n = 0`` is the plain model (the notes' "no recursion").
* ``refinement_drift``: the mean absolute change per step, the quantity that
  separates the notes' two versions (large for version 1, near zero for a
  model whose outputs are fixed points).

Official code: none released; the loop is an experiment reported in the
notes, not a paper, so there are no published numbers to pin beyond its
definition (N = 0 is the plain model; N steps apply the model 1 + N times).

Parameter count: that of the wrapped model.

Deviations: none; the generator is any image-to-image model (the face-swap
generator is ``refimpl/faceswap_gan.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import Example, register_example, seeded


def recursive_refine(model: nn.Module, x: torch.Tensor, n: int) -> torch.Tensor:
    """Apply ``model`` 1 + n times, each time to the previous output."""
    if n < 0:
        raise ValueError("n must be ≥ 0")
    out = model(x)
    for _ in range(n):
        out = model(out)
    return out


def refinement_drift(model: nn.Module, x: torch.Tensor, n: int) -> torch.Tensor:
    """Mean |x_{k+1} − x_k| for k = 0 … n−1: (n,)."""
    out, drift = model(x), []
    for _ in range(n):
        nxt = model(out)
        drift.append((nxt - out).abs().mean())
        out = nxt
    return torch.stack(drift) if drift else x.new_zeros(0)


@register_example(covers=[recursive_refine, refinement_drift])
def recursive_loop() -> Example:
    g = seeded(0)
    model = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh())

    def run(m: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return recursive_refine(m, x, 2), refinement_drift(m, x, 3)

    return Example(model=model, inputs=(torch.rand(1, 3, 8, 8, generator=g),), output_shapes=((1, 3, 8, 8), (3,)),
                   run=run)
