"""Understanding the Role of Individual Units in a Deep Neural Network.

David Bau, Jun-Yan Zhu, Hendrik Strobelt, Agata Lapedriza, Bolei Zhou,
Antonio Torralba. PNAS 2020. arXiv:2009.05041.
Catalog id: ``network-dissection-units``.

Implemented (network dissection, Materials and Methods):

* The unit's activation map ``a_u(x)`` is upsampled to the resolution of
  the segmentation (Υ: bilinear at pixel centres, zero outside the feature
  map, as the authors' ``netdissect/upsample.py`` grid does) and
  thresholded at ``t_u``, the top 1 % quantile of the unit's activations
  over the whole data set.
* The agreement between unit u and concept c is the data-set-wide
  intersection over union
  ``IoU_{u,c} = Σ_x |(Υ a_u(x) > t_u) ∧ s_c(x)| / Σ_x |(Υ a_u(x) > t_u) ∨ s_c(x)|``
  and each unit is labelled with its best-matching concept; units whose
  best IoU exceeds 0.04 count as concept detectors (``detector_units``).
* Interventions: ablating (zeroing) a set of units in a layer, as the paper
  does to remove objects from GAN outputs or to measure a unit's effect on
  a classifier's accuracy (``UnitAblation``).

Official code: davidbau/dissect @ 9421eaa (``experiment/dissect_experiment.py``,
``netdissect/upsample.py``, ``netdissect/tally.py``). ``OFFICIAL`` is its
default setting: ``--quantile 0.01`` (threshold at the 0.99 level) and
``--miniou 0.04`` (``iou > 0.04``), with the segmentation taken at a quarter
of the image resolution (``segment_batch(..., downsample=4)``: 64² for the
256² ProGAN generators, 56² for 224² classifiers), which is the size Υ
upsamples to. Parameter count: none (an analysis method; it applies to any
network).

Deviations from the paper:

* Concept masks are given as tensors; the paper obtains them from the
  Broden data set or a pretrained segmentation network, neither of which
  can be fetched here.
* The quantile is computed exactly in memory (the authors' code uses a
  streaming quantile estimator over large data sets).
* An empty union (a concept absent from the data and a unit that never
  fires) gives IoU 0 here; the authors' code divides 0 by 0 (NaN).
* AlexNet's receptive-field offsets (``sequence_scale_offset``) are not
  modelled; the authors' code uses them only for AlexNet, and the plain
  centred grid implemented here for every other network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class DissectionConfig:
    top_quantile: float = 0.99  # Methods: t_u is the top 1 % quantile of a_u
    min_iou: float = 0.04  # authors' code (--miniou) / Network Dissection: units with IoU > 0.04 are detectors


OFFICIAL = DissectionConfig()  # davidbau/dissect experiment/dissect_experiment.py defaults


def upsample_activations(acts: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Υ: (N, U, h, w) activation maps → (N, U, H, W), bilinear between pixel centres and zero-padded
    beyond the outer centres (the authors' grid_sample grid), so border pixels fade towards 0."""
    n, u = acts.shape[:2]
    theta = torch.eye(2, 3, dtype=acts.dtype, device=acts.device).expand(n, 2, 3)
    grid = F.affine_grid(theta, [n, u, *size], align_corners=False)  # target pixel centres
    return F.grid_sample(acts, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def activation_thresholds(acts: torch.Tensor, quantile: float = 0.99) -> torch.Tensor:
    """t_u for each unit: the quantile of its activations over images and positions, (N, U, H, W) → (U,)."""
    per_unit = acts.transpose(0, 1).reshape(acts.shape[1], -1)
    return torch.quantile(per_unit.float(), quantile, dim=1)


def unit_concept_iou(acts: torch.Tensor, thresholds: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Data-set IoU of thresholded units with concept masks.

    acts (N, U, H, W) at mask resolution, thresholds (U,), masks (N, C, H, W) boolean → (U, C).
    """
    unit_masks = (acts > thresholds.view(1, -1, 1, 1)).float()  # (N, U, H, W)
    concept = masks.float()
    inter = torch.einsum("nuhw,nchw->uc", unit_masks, concept)
    union = unit_masks.sum(dim=(0, 2, 3))[:, None] + concept.sum(dim=(0, 2, 3))[None, :] - inter
    return inter / union.clamp(min=1)  # empty union → IoU 0


def label_units(iou: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best concept per unit and its IoU: (U, C) → (U,) indices, (U,) scores."""
    scores, labels = iou.max(dim=1)
    return labels, scores


def detector_units(scores: torch.Tensor, min_iou: float = 0.04) -> torch.Tensor:
    """Which units count as concept detectors: best IoU strictly above ``min_iou`` → (U,) bool."""
    return scores > min_iou


def dissect(acts: torch.Tensor, masks: torch.Tensor, config: DissectionConfig = DissectionConfig()) -> torch.Tensor:
    """Full procedure for one layer: upsample, threshold at the top quantile, IoU with every concept → (U, C)."""
    up = upsample_activations(acts, masks.shape[-2:])
    return unit_concept_iou(up, activation_thresholds(up, config.top_quantile), masks)


class UnitAblation(nn.Module):
    """Wrap a layer and zero the chosen units (channels) of its output."""

    def __init__(self, layer: nn.Module, units: Sequence[int] = ()) -> None:
        super().__init__()
        self.layer = layer
        self.units = list(units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer(x)
        if not self.units:
            return out
        keep = torch.ones(out.shape[1], device=out.device, dtype=out.dtype)
        keep[self.units] = 0.0
        return out * keep.view(1, -1, *([1] * (out.dim() - 2)))


# --------------------------------------------------------------------- examples
@register_example(covers=[dissect, upsample_activations, activation_thresholds, unit_concept_iou, label_units,
                          detector_units, UnitAblation])
def dissection_layer() -> Example:
    g = seeded(0)
    model = UnitAblation(nn.Conv2d(3, 6, 3, stride=2, padding=1), units=[1, 4])
    images = torch.rand(4, 3, 16, 16, generator=g)
    masks = torch.rand(4, 5, 16, 16, generator=g) > 0.7

    def run(m: UnitAblation, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        acts = m(images)
        iou = dissect(acts.detach(), masks)
        labels, scores = label_units(iou)
        scores = scores * detector_units(scores, OFFICIAL.min_iou)  # non-detectors score 0
        # A differentiable summary so the smoke test reaches the layer: mean activation inside concept 0.
        up = upsample_activations(acts, (16, 16))
        inside = (up * masks[:, :1].float()).mean()
        return iou, scores, inside

    return Example(model=model, inputs=(images,), output_shapes=((6, 5), (6,), ()), run=run)
