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
* The GANnotation generator the loss was introduced with: the input face and
  the target landmark heatmaps are concatenated; the network predicts a
  colour image ``C`` and a mask ``M``, ``out = M · x + (1 − M) · C``.
* ``consistency_loss``: ``L_self + λ_trip · L_trip``.

Official code: the authors' GANnotation (ESanchezLozano/GANnotation, commit
c2a7c171406d4b866f61f804a7cb8ef4120c91e8): the released generator is
``model.py``'s ``Generator(conv_dim=64, c_dim=66, repeat_num=6)`` on 128×128
faces, its losses are in ``training/GANnotation.py`` (``self`` and ``triple``
are L1, weighted alike, ``l_self = l_triple = 1`` in ``Train_options.py``);
the StarGAN re-training (ESanchezLozano/StarGAN-with-Triple-Consistency-Loss,
commit 063e5d86343496714b98e233c8033d1d8b24f409, ``solver.py``) also weighs
the two alike (``λ_rec · (L_self + L_trip)``).

Official preset: ``OFFICIAL`` is that released generator: a 7×7 stem, two
stride-2 4×4 convolutions, six residual blocks, two stride-2 transposed
convolutions (all bias-free but the residual blocks, affine instance norm,
LeakyReLU 0.2; the residual blocks use non-affine instance norm), and 7×7
colour (tanh) and mask (sigmoid) heads. Instantiating the official
``model.py`` gives 8,621,888 parameters; tested, with the (1, 3, 128, 128)
output.

Deviations from the paper and the official code:

* Adversarial, pixel, perceptual and total-variation losses are left out.
* Landmark heatmaps are ``refimpl.fsgan.landmarks_to_heatmaps``: untruncated
  Gaussians with std ``sigma``; the official ``utils.draw_gaussian`` stamps a
  7×7 patch (``sigma = 1``, the patch's own std 0.25 × 7 = 1.75 pixels) and
  clips overlaps at 1. The default ``sigma`` is that 1.75.
* The official training script's generator (``training/model_GAN.py``) is a
  variant with ReLU and running statistics; the preset follows the released
  model (``model.py``).
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
    num_landmarks: int = 66  # GANnotation model.py: c_dim = 66 landmark heatmaps
    image_size: int = 128  # GANnotation.py: 128 × 128 crops
    conv_dim: int = 64  # model.py: conv_dim = 64
    repeat_num: int = 6  # model.py: six residual blocks
    sigma: float = 1.75  # utils.draw_gaussian: 7-pixel patch with std 0.25 × 7 pixels
    triple_weight: float = 1.0  # λ_trip / λ_self: Train_options.py l_triple = l_self = 1


OFFICIAL = TripleConsistencyConfig()  # the released GANnotation generator (model.py)
TINY = TripleConsistencyConfig(num_landmarks=4, image_size=8, conv_dim=4, repeat_num=1)


# --------------------------------------------------------------------- generator
def _conv_in_lrelu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.InstanceNorm2d(channels, affine=True), nn.LeakyReLU(0.2)]


class ResidualBlock(nn.Module):
    """x + IN(conv(LReLU(IN(conv(x))))): biased 3×3 convolutions, non-affine instance norm (model.py)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PoseConditionedGenerator(nn.Module):
    """G(x, y): face (B, 3, S, S) and target heatmaps (B, K, S, S) → face (B, 3, S, S).

    The network predicts a colour image C and a mask M; the output keeps the
    input where the mask is on, ``M · x + (1 − M) · C`` (GANnotation model.py).
    """

    def __init__(self, config: TripleConsistencyConfig = TripleConsistencyConfig()) -> None:
        super().__init__()
        c = config.conv_dim
        layers = _conv_in_lrelu(nn.Conv2d(3 + config.num_landmarks, c, 7, padding=3, bias=False), c)
        for _ in range(2):  # two stride-2 down-samplings
            layers += _conv_in_lrelu(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False), 2 * c)
            c *= 2
        self.down = nn.Sequential(*layers)
        self.bottleneck = nn.Sequential(*(ResidualBlock(c) for _ in range(config.repeat_num)))
        layers = []
        for _ in range(2):  # mirrors the encoder
            layers += _conv_in_lrelu(nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1, bias=False), c // 2)
            c //= 2
        self.up = nn.Sequential(*layers)
        self.to_image = nn.Conv2d(c, 3, 7, padding=3, bias=False)
        self.to_mask = nn.Conv2d(c, 1, 7, padding=3, bias=False)

    def forward(self, x: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
        h = self.up(self.bottleneck(self.down(torch.cat([x, heatmaps], dim=1))))
        colour, m = torch.tanh(self.to_image(h)), torch.sigmoid(self.to_mask(h))
        return m * x + (1 - m) * colour


# --------------------------------------------------------------------- losses
def triple_consistency_loss(generator: Generator, x: torch.Tensor, y1: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
    """‖G(G(x, y₁), y₂) − G(x, y₂)‖₁: the long path through y₁ against the short cut to y₂."""
    return F.l1_loss(generator(generator(x, y1), y2), generator(x, y2))


def self_consistency_loss(generator: Generator, x: torch.Tensor, y_source: torch.Tensor,
                          y_target: torch.Tensor) -> torch.Tensor:
    """‖G(G(x, y_t), y_s) − x‖₁: re-posing to the original landmarks gives the input back."""
    return F.l1_loss(generator(generator(x, y_target), y_source), x)


def consistency_loss(generator: Generator, x: torch.Tensor, y_source: torch.Tensor, y1: torch.Tensor,
                     y2: torch.Tensor, config: TripleConsistencyConfig = TripleConsistencyConfig()) -> torch.Tensor:
    """L_self (through y₁ and back) + λ_trip · L_trip (to y₂ through y₁ against directly)."""
    return (self_consistency_loss(generator, x, y_source, y1)
            + config.triple_weight * triple_consistency_loss(generator, x, y1, y2))


# --------------------------------------------------------------------- examples
@register_example(covers=[PoseConditionedGenerator, ResidualBlock, triple_consistency_loss, self_consistency_loss,
                          consistency_loss])
def triple_consistency_training_step() -> Example:
    g = seeded(0)
    model = PoseConditionedGenerator(TINY)
    x = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    lms = torch.rand(3, 2, TINY.num_landmarks, 2, generator=g) * 7  # source, y1, y2 landmarks

    def run(m: PoseConditionedGenerator, x: torch.Tensor, lms: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ys, y1, y2 = (landmarks_to_heatmaps(lms[i], 8, TINY.sigma) for i in range(3))
        return m(x, y1), consistency_loss(m, x, ys, y1, y2, TINY)

    return Example(model=model, inputs=(x, lms), output_shapes=((2, 3, 8, 8), ()), run=run)
