"""Balance identity training data by source video.

An experiment finding of the face-swap notes. Catalog id:
``imbalanced-identity-data`` ("over 65% of images of Hinako Sano came from
the same video series", which gave suboptimal swaps).

Implemented:

* ``video_balanced_weights``: a sampling weight per image, ``1 / n_v`` for an
  image from video ``v`` holding ``n_v`` images, so that every video is drawn
  equally often and, within a video, every image equally often.
* ``video_balanced_sampler``: a ``torch.utils.data.WeightedRandomSampler``
  with those weights (with replacement, as a balancing sampler must be).
* ``video_shares``: the fraction of draws (or images) per video, to measure
  the imbalance before and after.

Official code: none released; the finding comes from the notes' own
face-swap experiments, whose one number (65% of one identity's images from one
video series) the tests reproduce as the imbalance before balancing.

Parameter count: none.

Deviations: the notes observe the imbalance and do not prescribe a remedy;
per-video balancing is the standard one (inverse-frequency sampling).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import WeightedRandomSampler

from .registry import Example, register_example


def video_balanced_weights(video_ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """``1 / n_v`` per image, normalised to sum to 1 (float64)."""
    ids = torch.as_tensor(video_ids)
    _, inverse, counts = torch.unique(ids, return_inverse=True, return_counts=True)
    w = 1.0 / counts[inverse].double()
    return w / w.sum()


def video_balanced_sampler(video_ids: Sequence[int] | torch.Tensor, num_samples: int | None = None,
                           generator: torch.Generator | None = None) -> WeightedRandomSampler:
    weights = video_balanced_weights(video_ids)
    return WeightedRandomSampler(weights, num_samples or len(weights), replacement=True, generator=generator)


def video_shares(video_ids: Sequence[int] | torch.Tensor, indices: Sequence[int] | None = None) -> dict[int, float]:
    """Fraction of ``indices`` (default: all images) that come from each video."""
    ids = torch.as_tensor(video_ids)
    picked = ids if indices is None else ids[torch.as_tensor(list(indices))]
    values, counts = torch.unique(picked, return_counts=True)
    return {int(v): float(c) / len(picked) for v, c in zip(values, counts, strict=True)}


@register_example(covers=[video_balanced_weights, video_balanced_sampler, video_shares])
def balanced_identity_batches() -> Example:
    ids = [0] * 13 + [1] * 4 + [2] * 3  # 65% of the images from video 0
    model = torch.nn.Module()
    model.logit = torch.nn.Parameter(torch.zeros(()))

    def run(m: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
        index = torch.tensor(list(video_balanced_sampler(ids, 8, torch.Generator().manual_seed(0))))
        return images[index.to(images.device)] * m.logit.exp()

    return Example(model=model, inputs=(torch.rand(20, 3, 4, 4),), output_shapes=((8, 3, 4, 4),), run=run)
