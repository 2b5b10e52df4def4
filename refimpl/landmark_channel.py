"""Face landmarks as a fourth input channel, dropped with probability 0.3 in training.

An experiment finding of the face-swap notes. Catalog id:
``landmarks-input-channel``: adding landmarks as the fourth input channel
(``dropout_chance = 0.3``) made the model learn (overfit) the landmarks, with
no discernible improvement; at video time no landmarks were given and the
model still drew them.

Implemented:

* ``landmark_heatmap``: landmarks (N, K, 2) in pixels to one (N, 1, H, W)
  channel with a Gaussian blob per point (max over points).
* ``add_landmark_channel``: concatenate the heatmap to the RGB face; in
  training, each sample's landmark channel is zeroed with probability
  ``drop_prob`` (0.3 in the notes); ``landmarks=None`` gives the zero
  channel used at inference time.

Parameter count: none (the first conv of the generator takes 4 channels).

Deviations: the notes do not say how landmarks were drawn; Gaussian blobs of
σ = 1 pixel are a common choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class LandmarkChannelConfig:
    drop_prob: float = 0.3  # the notes: "w/ dropout_chance=0.3"
    sigma: float = 1.0  # see Deviations


def landmark_heatmap(landmarks: torch.Tensor, height: int, width: int,
                     sigma: float = LandmarkChannelConfig.sigma) -> torch.Tensor:
    """(N, K, 2) as (x, y) pixels -> (N, 1, H, W), ``max_k exp(−‖p − l_k‖² / 2σ²)``."""
    ys = torch.arange(height, dtype=landmarks.dtype, device=landmarks.device)
    xs = torch.arange(width, dtype=landmarks.dtype, device=landmarks.device)
    dx = xs.view(1, 1, 1, -1) - landmarks[..., 0].view(*landmarks.shape[:2], 1, 1)
    dy = ys.view(1, 1, -1, 1) - landmarks[..., 1].view(*landmarks.shape[:2], 1, 1)
    blobs = torch.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2))
    return blobs.amax(dim=1, keepdim=True)


def add_landmark_channel(image: torch.Tensor, landmarks: torch.Tensor | None, *, training: bool,
                         drop_prob: float = LandmarkChannelConfig.drop_prob, sigma: float = LandmarkChannelConfig.sigma,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 4, H, W); the 4th channel is dropped per sample with ``drop_prob`` in training."""
    n, _, h, w = image.shape
    if landmarks is None:
        return torch.cat([image, image.new_zeros(n, 1, h, w)], dim=1)
    heat = landmark_heatmap(landmarks, h, w, sigma).to(image.dtype)
    if training and drop_prob > 0:
        keep = torch.rand(n, generator=generator) >= drop_prob
        heat = heat * keep.to(heat).view(n, 1, 1, 1)
    return torch.cat([image, heat], dim=1)


@register_example(covers=[add_landmark_channel, landmark_heatmap])
def landmark_fourth_channel() -> Example:
    g = seeded(0)
    model = nn.Conv2d(4, 3, 3, padding=1)
    image = torch.rand(4, 3, 8, 8, generator=g)
    landmarks = torch.rand(4, 5, 2, generator=g) * 7

    def run(m: nn.Module, image: torch.Tensor, landmarks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = add_landmark_channel(image, landmarks, training=True, generator=torch.Generator().manual_seed(1))
        return m(x), m(add_landmark_channel(image, None, training=False))

    return Example(model=model, inputs=(image, landmarks), output_shapes=((4, 3, 8, 8), (4, 3, 8, 8)), run=run)
