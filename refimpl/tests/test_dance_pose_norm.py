"""Everybody Dance Now (arXiv:1808.07371): global pose normalisation.

The rules are those of the official code, carolineec/EverybodyDanceNow @
b094a6ab70071784d7aacd99063659c640ef7e76: data_prep/graph_posenorm.py (horizon from the median,
get_minmax_scales, calculate_translation, the anchor of transform_interp) and data_prep/renderopenpose.py
(get_pose_stats: COCO-18 nose 0, ankles 10 and 13; get_min_point). The numbers below follow those
functions by hand.
"""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.dance_pose_norm import (
    OFFICIAL,
    AnkleStats,
    PoseNormConfig,
    ankle_extremes,
    ankle_positions,
    normalization_params,
    normalization_stats,
    normalize_poses,
    pose_heights,
    video_statistics,
)

SOURCE = AnkleStats(far=100.0, close=200.0, far_height=80.0, close_height=160.0)
TARGET = AnkleStats(far=50.0, close=250.0, far_height=60.0, close_height=240.0)
SMALL = PoseNormConfig(head=0, ankles=(1, 2))  # three-joint poses: nose, right ankle, left ankle


def _pose(x: float, ankle_y: float, height: float) -> torch.Tensor:
    """Nose straight above the ankles' midpoint at distance ``height``; ankles 5 px either side."""
    return torch.tensor([[x, ankle_y - height], [x - 5, ankle_y], [x + 5, ankle_y]], dtype=torch.float64)


def _video(ankles: list[float], heights: list[float]) -> torch.Tensor:
    return torch.stack([_pose(0.0, y, h) for y, h in zip(ankles, heights, strict=True)])


def test_official_constants() -> None:
    assert PoseNormConfig() == OFFICIAL
    assert (OFFICIAL.median_frac, OFFICIAL.height_window, OFFICIAL.reset_frac) == (0.5, 0.05, 0.1)
    assert OFFICIAL.head == 0 and OFFICIAL.ankles == (10, 13)  # COCO-18 nose, right and left ankle


def test_parameters_follow_the_paper_formulas_at_the_midpoint() -> None:
    # α = (150 − 100) / (200 − 100) = 0.5.
    scale, b = normalization_params(torch.tensor(150.0), SOURCE, TARGET)
    expected_ankle = 50 + 0.5 * (250 - 50)  # t_far + α (t_close − t_far) = 150
    torch.testing.assert_close(b, torch.tensor(expected_ankle - 150))
    torch.testing.assert_close(scale, torch.tensor(60 / 80 + 0.5 * (240 / 160 - 60 / 80)))  # 1.125


def test_extremes_map_to_extremes_with_their_height_ratios() -> None:
    scale, b = normalization_params(torch.tensor([100.0, 200.0]), SOURCE, TARGET)
    torch.testing.assert_close(torch.tensor([100.0, 200.0]) + b, torch.tensor([50.0, 250.0]))
    torch.testing.assert_close(scale, torch.tensor([60 / 80, 240 / 160]))


def test_ankle_position_is_the_lower_ankle_and_height_is_nose_to_ankle_midpoint() -> None:
    pose = torch.tensor([[[60.0, 20.0], [-5.0, 100.0], [5.0, 100.0]],   # nose 60 px to the side
                         [[0.0, 10.0], [-5.0, 110.0], [5.0, 130.0]]])   # ankles at different heights
    assert ankle_positions(pose, (1, 2)).tolist() == [100.0, 130.0]
    heights = pose_heights(pose, 0, (1, 2))
    torch.testing.assert_close(heights, torch.tensor([100.0, 110.0]))  # √(60² + 80²); midpoint (0, 120)


def test_far_position_is_the_horizon_above_the_median() -> None:
    # median (numpy's: mean of the middle two) = 145, close = 200, allowed distance 0.5 · 55 = 27.5:
    # 100 (45 above) and 112 (33) are too far, 140 (5) is kept; a lower median (140) would keep 112.
    far, close = ankle_extremes(torch.tensor([100.0, 112.0, 140.0, 150.0, 160.0, 200.0]))
    assert (far, close) == (140.0, 200.0)
    # a wider fraction admits 112 (33 < 0.7 · 55 = 38.5)
    assert ankle_extremes(torch.tensor([100.0, 112.0, 140.0, 150.0, 160.0, 200.0]), 0.7) == (112.0, 200.0)
    # the bound is strict: 25 above the median with a bound of 0.5 · 50 = 25 is out
    assert ankle_extremes(torch.tensor([125.0, 140.0, 150.0, 160.0, 200.0])) == (140.0, 200.0)
    assert ankle_extremes(torch.tensor([100.0, 149.5, 150.0, 150.5, 200.0])) == (149.5, 200.0)  # any distance > 0
    with pytest.raises(ValueError, match="median"):
        ankle_extremes(torch.tensor([100.0, 100.0, 100.0]))
    with pytest.raises(ValueError, match="median"):  # only the median itself: not above it
        ankle_extremes(torch.tensor([100.0, 150.0, 150.0, 150.0, 200.0]))


def test_heights_are_the_tallest_near_each_extreme_with_the_close_reset() -> None:
    ys = [100.0, 112.0, 140.0, 141.0, 150.0, 160.0, 198.0, 200.0]
    # median 145.5, close 200, bound 27.25: far = 140 (5.5 above); window 0.05 · 60 = 3
    stats = video_statistics(_video(ys, [50, 60, 70, 72, 80, 90, 150, 140]), SMALL)
    assert (stats.far, stats.close) == (140.0, 200.0)
    assert stats.far_height == pytest.approx(72.0)  # frames at 140 and 141 are in the window; the taller
    assert stats.close_height == pytest.approx(150.0)  # frames at 198 and 200
    # the close height is replaced by the tallest pose when more than 10 % below it
    tall = video_statistics(_video(ys, [50, 60, 70, 72, 200, 90, 150, 140]), SMALL)
    assert tall.close_height == pytest.approx(200.0)  # 200 − 150 = 50 > 20
    kept = video_statistics(_video(ys, [50, 60, 70, 72, 160, 90, 150, 140]), SMALL)
    assert kept.close_height == pytest.approx(150.0)  # 160 − 150 = 10 ≤ 16
    edge = video_statistics(_video(ys, [50, 60, 70, 72, 160, 90, 144, 140]), SMALL)
    assert edge.close_height == 144.0  # exactly 10 % below the tallest: kept (the rule is "more than")


def test_height_windows_include_their_edges() -> None:
    # far 140, close 200: window 0.05 · 60 = 3 px, so the frames at 143 and 197 count
    ys = [100.0, 112.0, 140.0, 143.0, 150.0, 160.0, 197.0, 200.0]
    stats = video_statistics(_video(ys, [50, 60, 70, 75, 80, 90, 155, 150]), SMALL)
    assert (stats.far, stats.close, stats.far_height, stats.close_height) == (140.0, 200.0, 75.0, 155.0)


def test_a_missing_close_height_falls_back_to_the_tallest_pose() -> None:
    # the target's close extreme shrinks to 235, 5 px from any frame: no height there, so the 10 % rule
    # replaces it by the tallest pose (0.7) even for a subject under one pixel tall
    source = _video([100.0, 112.0, 140.0, 150.0, 160.0, 200.0], [50, 60, 70, 80, 90, 150])
    target = _video([100.0, 150.0, 160.0, 170.0, 175.0, 230.0, 260.0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    _, t = normalization_stats(source, target, SMALL)
    assert (t.far, t.close) == (175.0, 235.0)
    assert t.far_height == pytest.approx(0.5) and t.close_height == pytest.approx(0.7)


def test_target_range_shrinks_to_the_sources_about_its_middle() -> None:
    source = _video([100.0, 112.0, 140.0, 150.0, 160.0, 200.0], [50, 60, 70, 80, 90, 150])  # far 140, close 200
    # target: median 170, close 260, bound 45: far 150 → range 110 > 60, so (175, 235) about the middle 205
    target = _video([100.0, 150.0, 160.0, 170.0, 175.0, 235.0, 260.0], [50, 60, 70, 80, 90, 150, 160])
    s, t = normalization_stats(source, target, SMALL)
    assert (s.far, s.close, s.far_height, s.close_height) == (140.0, 200.0, 70.0, 150.0)
    assert (t.far, t.close) == (175.0, 235.0)
    assert t.far_height == pytest.approx(90.0) and t.close_height == pytest.approx(150.0)  # windows of 3 px
    # no target frame near the shrunk far extreme: its height stays 0, as the official loop starts from 0
    sparse = _video([100.0, 150.0, 160.0, 170.0, 185.0, 235.0, 260.0], [50, 60, 70, 80, 90, 150, 160])
    _, t3 = normalization_stats(source, sparse, SMALL)
    assert (t3.far, t3.close, t3.far_height, t3.close_height) == (175.0, 235.0, 0.0, 150.0)
    # a target with the smaller range keeps its own extremes
    s2, t2 = normalization_stats(target, source, SMALL)
    assert (t2.far, t2.close) == (140.0, 200.0) and (s2.far, s2.close) == (150.0, 260.0)


def test_poses_scale_about_one_anchor_for_the_clip_then_shift() -> None:
    # anchor = (image width / 2, lower ankle y of the first frame) = (320, 150)
    poses = torch.stack([_pose(10, 150, 80), _pose(30, 200, 160)])
    out = normalize_poses(poses, SOURCE, TARGET, image_width=640.0, ankles=(1, 2))
    anchor = torch.tensor([320.0, 150.0], dtype=torch.float64)
    s = torch.tensor([1.125, 1.5], dtype=torch.float64)  # α = 0.5 and 1 (see above)
    b = torch.tensor([0.0, 50.0], dtype=torch.float64)
    expected = anchor + s[:, None, None] * (poses - anchor)
    expected[..., 1] += b[:, None]
    torch.testing.assert_close(out, expected)
    # e.g. frame 1's right ankle: x = 320 + 1.5 (25 − 320), y = 150 + 1.5 (200 − 150) + 50
    assert math.isclose(out[1, 1, 0].item(), -122.5) and math.isclose(out[1, 1, 1].item(), 275.0)


def test_identical_videos_leave_poses_unchanged() -> None:
    poses = _video([100.0, 112.0, 140.0, 150.0, 160.0, 200.0], [50, 60, 70, 80, 90, 150])
    s, t = normalization_stats(poses, poses, SMALL)
    assert s == t
    torch.testing.assert_close(normalize_poses(poses, s, t, image_width=64.0, ankles=(1, 2)), poses)
