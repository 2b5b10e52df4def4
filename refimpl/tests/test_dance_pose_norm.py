"""Everybody Dance Now (arXiv:1808.07371): global pose normalisation."""

from __future__ import annotations

import torch

from refimpl.dance_pose_norm import (
    AnkleStats,
    ankle_positions,
    normalization_params,
    normalize_poses,
    pose_heights,
    video_statistics,
)

SOURCE = AnkleStats(far=100.0, close=200.0, far_height=80.0, close_height=160.0)
TARGET = AnkleStats(far=50.0, close=250.0, far_height=60.0, close_height=240.0)


def _pose(x: float, ankle_y: float, height: float) -> torch.Tensor:
    """Three joints: head, right ankle, left ankle (ids 0, 1, 2)."""
    return torch.tensor([[x, ankle_y - height], [x - 5, ankle_y], [x + 5, ankle_y]], dtype=torch.float32)


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


def test_normalized_pose_has_target_ankle_and_scaled_height(device: torch.device) -> None:
    poses = torch.stack([_pose(10, 150, 80), _pose(30, 200, 160)]).to(device)
    out = normalize_poses(poses, SOURCE, TARGET, ankles=(1, 2))
    # Frame 0: ankle 150 → 150, height 80 · 1.125 = 90; frame 1: ankle 200 → 250, height 160 · 1.5 = 240.
    expected = torch.stack([_pose(10, 150, 90), _pose(30, 250, 240)]).to(device)
    expected[0, 1:, 0] = torch.tensor([10 - 5 * 1.125, 10 + 5 * 1.125])  # feet spread scales about the ankle point
    expected[1, 1:, 0] = torch.tensor([30 - 5 * 1.5, 30 + 5 * 1.5])
    torch.testing.assert_close(out, expected)


def test_video_statistics_read_far_close_positions_and_heights() -> None:
    poses = torch.stack([_pose(0, 100, 70), _pose(0, 102, 80), _pose(0, 150, 120), _pose(0, 200, 160)])
    assert ankle_positions(poses, (1, 2)).tolist() == [100, 102, 150, 200]
    assert pose_heights(poses).tolist() == [70, 80, 120, 160]
    stats = video_statistics(poses, ankles=(1, 2), tolerance=5)
    assert stats == AnkleStats(far=100, close=200, far_height=80, close_height=160)


def test_identical_videos_leave_poses_unchanged() -> None:
    poses = torch.stack([_pose(0, 100, 70), _pose(4, 160, 130), _pose(-3, 200, 160)])
    stats = video_statistics(poses, ankles=(1, 2), tolerance=0)
    torch.testing.assert_close(normalize_poses(poses, stats, stats, ankles=(1, 2)), poses)
