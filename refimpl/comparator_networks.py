"""Comparator Networks.

Weidi Xie, Li Shen, Andrew Zisserman. ECCV 2018. arXiv:1807.11440.
Catalog id: ``comparator-networks``.

Set-to-set verification by *detect, attend and compare* (Sec. 3), at toy size:

* **Detect.** A shared trunk maps every image of a set to a feature map
  ``F ∈ R^{C×H×W}``; a 1×1 convolution gives K landmark logits, each normalised
  by a softmax over the H·W positions of its own image, so that
  ``Σ_{h,w} P_k(h, w) = 1``.
* **Diversity regulariser** (Sec. 3.1), which pushes the K maps to different
  places: ``L_div = 1 − (1/K) Σ_{h,w} max_k P_k(h, w)``, averaged over images.
  It is 0 when the maps have disjoint supports and ``1 − 1/K`` when all K maps
  are the same.
* **Attend.** Local descriptors ``d_k = Σ_{h,w} P_k(h, w) F(h, w)`` (C per landmark).
* **Landmark scores and set aggregation** (Sec. 3.2, "internal competition"):
  each image gets a score ``s_{n,k}`` per landmark (a linear layer on ``d_{n,k}``);
  within a set the scores are normalised over the images with a softmax and the
  set descriptor is ``D_k = Σ_n softmax_n(s_{n,k}) d_{n,k}``. A max-pooling over
  the images is available as ``aggregation="max"``. Both are invariant to the
  order of the images and give one descriptor per landmark for any set size.
* **Compare.** Per landmark the two set descriptors are concatenated and passed
  through a shared local expert ``e_k = ReLU(W [D_k^A; D_k^B] + b)``; the experts
  are averaged over the K landmarks and a linear layer gives the similarity
  logit (trained with binary cross-entropy, same identity or not).

Official preset: none here; the paper's trunk is a ResNet-50 variant with
K = 12 landmarks (Sec. 4.1), and no official code is referenced by the catalog.

Deviations from the paper:

* The trunk is two 3×3 convolutions instead of the paper's ResNet (toy size);
  channel widths are my choice.
* The local expert is one linear layer + ReLU; the paper's comparator stacks
  convolutional layers on the concatenated local descriptors.
* The hard-sample mining regime (Sec. 3.3) is a training schedule and is not
  implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class ComparatorConfig:
    landmarks: int = 12  # K, Sec. 4.1 (12 landmarks)
    in_channels: int = 3
    channels: int = 16  # C of the toy trunk (my choice; the paper uses a ResNet-50 trunk)
    expert_dim: int = 16  # width of the local expert (my choice)
    aggregation: Literal["softmax", "max"] = "softmax"  # Sec. 3.2 recalibration by landmark scores
    diversity_weight: float = 1.0  # weight of L_div in the total loss (my choice)


TINY = ComparatorConfig(landmarks=4, channels=8, expert_dim=8)


# --------------------------------------------------------------------- blocks
def spatial_softmax(logits: torch.Tensor) -> torch.Tensor:
    """(N, K, H, W) logits → maps that sum to 1 over the H·W positions of each (image, landmark)."""
    n, k, h, w = logits.shape
    return logits.flatten(2).softmax(dim=-1).view(n, k, h, w)


def diversity_loss(maps: torch.Tensor) -> torch.Tensor:
    """Sec. 3.1: ``1 − (1/K) Σ_{h,w} max_k P_k(h, w)``, averaged over the N images; maps (N, K, H, W)."""
    k = maps.shape[1]
    return (1 - maps.max(dim=1).values.flatten(1).sum(dim=-1) / k).mean()


def attend(features: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Local descriptors ``d_k = Σ_{h,w} P_k F``: features (N, C, H, W), maps (N, K, H, W) → (N, K, C)."""
    return torch.einsum("nkhw,nchw->nkc", maps, features)


def aggregate_set(descriptors: torch.Tensor, scores: torch.Tensor | None,
                  mode: Literal["softmax", "max"] = "softmax") -> torch.Tensor:
    """One set: descriptors (N, K, C) and landmark scores (N, K) → set descriptors (K, C).

    ``softmax``: weights ``softmax`` over the N images per landmark (Sec. 3.2);
    ``max``: element-wise max over the images."""
    if mode == "max":
        return descriptors.max(dim=0).values
    if scores is None:
        raise ValueError("softmax aggregation needs landmark scores")
    weights = scores.softmax(dim=0)  # over the images of the set
    return (weights[..., None] * descriptors).sum(dim=0)


class Detector(nn.Module):
    """Shared trunk and K landmark maps: images (N, 3, H, W) → features (N, C, H, W), maps (N, K, H, W)."""

    def __init__(self, config: ComparatorConfig = TINY) -> None:
        super().__init__()
        c = config.channels
        self.trunk = nn.Sequential(
            nn.Conv2d(config.in_channels, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
        )
        self.landmark_logits = nn.Conv2d(c, config.landmarks, 1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(images)
        return features, spatial_softmax(self.landmark_logits(features))


class Comparator(nn.Module):
    """Per landmark ``ReLU(W [D^A_k; D^B_k] + b)``, mean over landmarks, linear → similarity logit."""

    def __init__(self, channels: int, expert_dim: int) -> None:
        super().__init__()
        self.expert = nn.Linear(2 * channels, expert_dim)
        self.classifier = nn.Linear(expert_dim, 1)

    def forward(self, set_a: torch.Tensor, set_b: torch.Tensor) -> torch.Tensor:
        """set_a, set_b: (K, C) → scalar logit."""
        local = F.relu(self.expert(torch.cat([set_a, set_b], dim=-1)))  # (K, E)
        return self.classifier(local.mean(dim=0)).squeeze(-1)


class ComparatorNetwork(nn.Module):
    """Detect–attend–compare on two sets of images of any sizes: returns (logit, L_div)."""

    def __init__(self, config: ComparatorConfig = TINY) -> None:
        super().__init__()
        self.config = config
        self.detector = Detector(config)
        self.landmark_score = nn.Linear(config.channels, 1)
        self.comparator = Comparator(config.channels, config.expert_dim)

    def describe(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One set (N, 3, H, W) → set descriptors (K, C) and the set's L_div."""
        features, maps = self.detector(images)
        local = attend(features, maps)  # (N, K, C)
        scores = self.landmark_score(local).squeeze(-1)  # (N, K)
        return aggregate_set(local, scores, self.config.aggregation), diversity_loss(maps)

    def forward(self, set_a: torch.Tensor, set_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        da, div_a = self.describe(set_a)
        db, div_b = self.describe(set_b)
        return self.comparator(da, db), (div_a + div_b) / 2


def comparator_loss(logit: torch.Tensor, same: torch.Tensor, div: torch.Tensor,
                    config: ComparatorConfig = TINY) -> torch.Tensor:
    """Binary cross-entropy on "same identity" plus the weighted diversity regulariser."""
    return F.binary_cross_entropy_with_logits(logit, same) + config.diversity_weight * div


# --------------------------------------------------------------------- examples
@register_example(covers=[ComparatorNetwork, Detector, Comparator, spatial_softmax, diversity_loss,
                          attend, aggregate_set, comparator_loss])
def comparator_networks_verify() -> Example:
    g = seeded(0)
    net = ComparatorNetwork(TINY)
    set_a = torch.randn(3, 3, 8, 8, generator=g)
    set_b = torch.randn(2, 3, 8, 8, generator=g)

    def run(m: ComparatorNetwork, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logit, div = m(a, b)
        return logit, div, comparator_loss(logit, torch.ones((), device=a.device), div)

    return Example(model=net, inputs=(set_a, set_b), output_shapes=((), (), ()), run=run)
