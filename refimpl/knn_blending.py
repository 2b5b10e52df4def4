"""Refine a face with its nearest training images: blend in code space or in pixel space.

An experiment finding of the face-swap notes. Catalog id:
``knn-code-manipulation``: add information from the training images that look
like the input, by blending the input's code with the codes of its k nearest
training neighbours; "similar results can be achieved by simply weighted
averaging input image with images retrieved by kNNs (instead of the code)".

Implemented:

* ``nearest_neighbours``: indices of the k nearest rows of a bank under the
  Euclidean distance (query and bank flattened).
* ``knn_blend``: ``(1 − w) · q + w · mean_k(bank[nn_k(q)])``, applicable to
  codes or to images.
* ``knn_code_blend``: encode, blend the code with the neighbours' codes,
  decode; neighbours are looked up in code space.

Parameter count: that of the encoder and decoder.

Deviations: the notes do not give k or the weight; the defaults (k = 3,
w = 0.5) are arbitrary and are config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class KNNBlendConfig:
    k: int = 3  # not stated in the notes
    weight: float = 0.5  # not stated in the notes


def nearest_neighbours(query: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """(N, ...) and (M, ...) -> (N, k) indices into ``bank``, nearest first."""
    d = torch.cdist(query.flatten(1), bank.flatten(1))
    return d.topk(k, dim=1, largest=False).indices


def knn_blend(query: torch.Tensor, bank: torch.Tensor, k: int = KNNBlendConfig.k,
              weight: float = KNNBlendConfig.weight) -> torch.Tensor:
    """``(1 − w) q + w · mean of q's k nearest bank entries``."""
    idx = nearest_neighbours(query, bank, k)
    return (1 - weight) * query + weight * bank[idx].mean(dim=1)


def knn_code_blend(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor, bank_codes: torch.Tensor,
                   k: int = KNNBlendConfig.k, weight: float = KNNBlendConfig.weight) -> torch.Tensor:
    """decoder(knn_blend(encoder(x), bank_codes)): the notes' code manipulation."""
    return decoder(knn_blend(encoder(x), bank_codes, k, weight))


@register_example(covers=[knn_code_blend, knn_blend, nearest_neighbours])
def knn_code_refinement() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"enc": nn.Sequential(nn.Flatten(), nn.Linear(12, 6)),
                           "dec": nn.Sequential(nn.Linear(6, 12), nn.Unflatten(1, (3, 2, 2)))})
    bank_images = torch.rand(10, 3, 2, 2, generator=g)

    def run(m: nn.ModuleDict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bank = bank_images.to(x.device)
        return knn_code_blend(m["enc"], m["dec"], x, m["enc"](bank)), knn_blend(x, bank)

    return Example(model=model, inputs=(torch.rand(2, 3, 2, 2, generator=g),),
                   output_shapes=((2, 3, 2, 2), (2, 3, 2, 2)), run=run)
