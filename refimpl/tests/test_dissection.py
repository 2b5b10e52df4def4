"""Network dissection of individual units (arXiv:2009.05041): the IoU procedure."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.dissection import (
    DissectionConfig,
    UnitAblation,
    activation_thresholds,
    dissect,
    label_units,
    unit_concept_iou,
    upsample_activations,
)


def test_unit_whose_thresholded_map_equals_a_concept_mask_has_iou_one(device: torch.device) -> None:
    masks = torch.rand(3, 2, 8, 8, device=device) > 0.6
    acts = masks[:, :1].float() * 5 + torch.rand(3, 1, 8, 8, device=device)  # high exactly on concept 0
    iou = unit_concept_iou(acts, torch.tensor([3.0], device=device), masks)
    assert iou[0, 0].item() == 1.0
    assert iou[0, 1].item() < 1.0


def test_known_partial_overlap() -> None:
    # Unit fires on columns 0–3 (32 px), concept covers columns 2–5 (32 px): 16 / 48.
    acts = torch.zeros(1, 1, 8, 8)
    acts[..., :4] = 1.0
    mask = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    mask[..., 2:6] = True
    iou = unit_concept_iou(acts, torch.tensor([0.5]), mask)
    torch.testing.assert_close(iou, torch.tensor([[1 / 3]]))


def test_iou_pools_over_the_data_set_not_per_image() -> None:
    # Image 0: perfect overlap of 4 px; image 1: unit fires on 4 px, no concept. Σ∩ / Σ∪ = 4 / 8.
    acts = torch.zeros(2, 1, 4, 4)
    acts[:, :, :2, :2] = 1.0
    mask = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    mask[0, :, :2, :2] = True
    torch.testing.assert_close(unit_concept_iou(acts, torch.tensor([0.5]), mask), torch.tensor([[0.5]]))


def test_threshold_is_the_top_one_percent_quantile() -> None:
    acts = torch.arange(1000.0).reshape(10, 1, 10, 10)
    acts = torch.cat([acts, -acts], dim=1)  # two units, different distributions
    t = activation_thresholds(acts, DissectionConfig().top_quantile)
    assert (acts[:, 0] > t[0]).sum().item() == 10  # 1 % of 1000 activations
    assert (acts[:, 1] > t[1]).sum().item() == 10


def test_upsampling_to_mask_resolution() -> None:
    acts = torch.rand(2, 3, 4, 4)
    up = upsample_activations(acts, (16, 16))
    assert up.shape == (2, 3, 16, 16)
    torch.testing.assert_close(upsample_activations(torch.ones(1, 1, 2, 2), (8, 8)), torch.ones(1, 1, 8, 8))


def test_dissect_labels_a_planted_detector_unit() -> None:
    torch.manual_seed(0)
    masks = torch.zeros(20, 3, 16, 16, dtype=torch.bool)
    for n in range(20):  # a small square of concept 2 at a random place in each image
        i, j = torch.randint(0, 14, (2,)).tolist()
        masks[n, 2, i:i + 2, j:j + 2] = True
    masks[:, 0] = torch.rand(20, 16, 16) > 0.5
    acts = torch.rand(20, 2, 16, 16) * 0.1
    acts[:, 1] += masks[:, 2].float()  # unit 1 detects concept 2
    labels, scores = label_units(dissect(acts, masks, DissectionConfig(top_quantile=1 - 80 / (20 * 256))))
    assert labels[1].item() == 2 and scores[1].item() == 1.0
    assert scores[0].item() < 0.5


def test_unit_ablation_zeros_only_the_chosen_units() -> None:
    conv = nn.Conv2d(2, 4, 1)
    x = torch.randn(1, 2, 3, 3)
    out = UnitAblation(conv, units=[0, 2])(x)
    full = conv(x)
    assert (out[:, [0, 2]] == 0).all()
    torch.testing.assert_close(out[:, [1, 3]], full[:, [1, 3]])
    torch.testing.assert_close(UnitAblation(conv)(x), full)
