"""Network dissection of individual units (arXiv:2009.05041): the IoU procedure."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.dissection import (
    OFFICIAL,
    DissectionConfig,
    UnitAblation,
    activation_thresholds,
    detector_units,
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
    # Interior pixels interpolate between feature-pixel centres: a linear ramp stays linear there.
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    row = upsample_activations(ramp, (4, 16))[0, 0, 1]
    torch.testing.assert_close(row[2:14], (torch.arange(2.0, 14.0) + 0.5) / 4 - 0.5)


def test_upsampling_fades_to_zero_beyond_the_outer_pixel_centres() -> None:
    # davidbau/dissect @ 9421eaa netdissect/upsample.py: upsampler((8, 8), data_shape=(2, 2)) applied to
    # ones gives 0.390625 at the corners, 0.625 / 0.546875 on the outer ring, 0.875 next to it, 1 inside
    # (grid_sample with zero padding); edge-replicating interpolation would give 1 everywhere.
    up = upsample_activations(torch.ones(1, 1, 2, 2), (8, 8))[0, 0]
    edge = torch.tensor([0.625, 0.875, 1.0, 1.0, 1.0, 1.0, 0.875, 0.625])
    torch.testing.assert_close(up, edge[:, None] * edge[None, :])
    assert up[0, 0].item() == 0.390625 and up[0, 1].item() == 0.546875


def test_official_defaults() -> None:
    # experiment/dissect_experiment.py: --quantile 0.01 (level 1 − 0.01), --miniou 0.04
    assert DissectionConfig() == OFFICIAL
    assert DissectionConfig().top_quantile == 0.99 and DissectionConfig().min_iou == 0.04


def test_default_threshold_level_is_the_99th_percentile() -> None:
    acts = torch.arange(1000.0).reshape(10, 1, 10, 10)
    t = activation_thresholds(acts)
    torch.testing.assert_close(t, torch.quantile(torch.arange(1000.0), 0.99).view(1))
    assert (acts > t).sum().item() == 10


def test_detectors_are_units_with_iou_strictly_above_the_minimum() -> None:
    scores = torch.tensor([0.5, 0.04, 0.0401, 0.0, 0.07])
    assert detector_units(scores).tolist() == [True, False, True, False, True]
    assert detector_units(scores, OFFICIAL.min_iou).tolist() == [True, False, True, False, True]
    assert detector_units(scores, 0.06).tolist() == [True, False, False, False, True]


def test_iou_of_single_pixels_and_of_an_empty_union() -> None:
    # one pixel firing exactly on a one-pixel concept: IoU 1; a unit that never fires on an absent
    # concept: IoU 0 (not NaN), and a concept the unit misses entirely: 0.
    acts = torch.zeros(1, 2, 3, 3)
    acts[0, 0, 1, 2] = 1.0
    masks = torch.zeros(1, 3, 3, 3, dtype=torch.bool)
    masks[0, 0, 1, 2] = True
    masks[0, 2, 0, 0] = True
    iou = unit_concept_iou(acts, torch.tensor([0.5, 0.5]), masks)
    torch.testing.assert_close(iou, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    assert torch.isfinite(iou).all()


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
