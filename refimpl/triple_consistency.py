"""Triple consistency loss for pairing distributions in GAN-based face synthesis.

Enrique Sanchez, Michel Valstar. arXiv:1811.03492 (2018). Catalog id:
``triple-consistency-loss``.

Implemented:

* Sec. 3, the triple consistency loss for a pose-conditioned generator
  ``G(x, y)`` (image ``x``, target landmarks ``y``): going to ``y₂`` through
  an intermediate pose ``y₁`` must give the same image as going to ``y₂``
  directly,
  ``L_trip = ‖G(G(x, y₁), y₂) − G(x, y₂)‖₁``.
  It ties the distribution of generated images back to the distribution
  of inputs, so generated faces can themselves be re-posed.
* The self-consistency (cycle) loss it complements,
  ``L_self = ‖G(G(x, y_t), y_s) − x‖₁`` with ``y_s`` the input's own pose.
* A small generator of the GANnotation kind: the input face and the target
  landmark heatmaps are concatenated; the network predicts an image and an
  attention mask, ``out = m · ŷ + (1 − m) · x``.

Parameter count: no standard configuration is reproduced; none is claimed.

Deviations from the paper:

* The generator is a few convolutions rather than GANnotation's
  encoder-bottleneck-decoder; adversarial, perceptual and identity losses
  are left out.
* Landmark heatmaps come from ``refimpl.fsgan.landmarks_to_heatmaps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .fsgan import landmarks_to_heatmaps
from .registry import Example, register_example, seeded

Generator = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TripleConsistencyConfig:
    num_landmarks: int = 66  # GANnotation uses 66 facial landmarks
    image_size: int = 128  # 128 × 128 faces
    width: int = 64
    sigma: float = 1.5  # heatmap std in pixels
    triple_weight: float = 1.0  # λ_trip relative to the self-consistency loss


TINY = TripleConsistencyConfig(num_landmarks=4, image_size=8, width=8)


# --------------------------------------------------------------------- generator
class PoseConditionedGenerator(nn.Module):
    """G(x, y): face (B, 3, S, S) and target heatmaps (B, K, S, S) → face (B, 3, S, S)."""

    def __init__(self, config: TripleConsistencyConfig = TripleConsistencyConfig()) -> None:
        super().__init__()
        c = config.width
        self.body = nn.Sequential(
            nn.Conv2d(3 + config.num_landmarks, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
        )
        self.to_image = nn.Conv2d(c, 3, 3, padding=1)
        self.to_mask = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
        h = self.body(torch.cat([x, heatmaps], dim=1))
        m = torch.sigmoid(self.to_mask(h))
        return m * torch.tanh(self.to_image(h)) + (1 - m) * x


# --------------------------------------------------------------------- losses
def triple_consistency_loss(generator: Generator, x: torch.Tensor, y1: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
    """‖G(G(x, y₁), y₂) − G(x, y₂)‖₁: the long path through y₁ against the short cut to y₂."""
    return F.l1_loss(generator(generator(x, y1), y2), generator(x, y2))


def self_consistency_loss(generator: Generator, x: torch.Tensor, y_source: torch.Tensor,
                          y_target: torch.Tensor) -> torch.Tensor:
    """‖G(G(x, y_t), y_s) − x‖₁: re-posing to the original landmarks gives the input back."""
    return F.l1_loss(generator(generator(x, y_target), y_source), x)


# --------------------------------------------------------------------- examples
@register_example(covers=[PoseConditionedGenerator, triple_consistency_loss, self_consistency_loss])
def triple_consistency_training_step() -> Example:
    g = seeded(0)
    model = PoseConditionedGenerator(TINY)
    x = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    lms = torch.rand(3, 2, TINY.num_landmarks, 2, generator=g) * 7  # source, y1, y2 landmarks

    def run(m: PoseConditionedGenerator, x: torch.Tensor, lms: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ys, y1, y2 = (landmarks_to_heatmaps(lms[i], 8, TINY.sigma) for i in range(3))
        return m(x, y1), triple_consistency_loss(m, x, y1, y2) + self_consistency_loss(m, x, ys, y1)

    return Example(model=model, inputs=(x, lms), output_shapes=((2, 3, 8, 8), ()), run=run)
