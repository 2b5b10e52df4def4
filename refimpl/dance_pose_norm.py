"""Everybody Dance Now: global pose normalisation.

Caroline Chan, Shiry Ginosar, Tinghui Zhou, Alexei A. Efros. ICCV 2019.
arXiv:1808.07371. Catalog id: ``everybody-dance-now``.

Implemented (Sec. 3.2 "Global pose normalization" and its appendix): a source
subject's poses are mapped into the target video's frame so that body size and
position match the target. For each video, image-space ankle heights give the
farthest position (smallest y, ``far``) and the closest (largest y, ``close``),
together with the subject's height at each. For a source frame with ankle
position ``f``, with ``α = (f − s_far) / (s_close − s_far)``:

* translation: the ankle moves to ``t_far + α (t_close − t_far)``, i.e.
  ``b = t_far + α (t_close − t_far) − f``;
* scale: ``s = t_far_h / s_far_h + α (t_close_h / s_close_h − t_far_h / s_far_h)``,
  a linear interpolation between the height ratios at the two extremes.

The pose is scaled by ``s`` about its ankle point and shifted vertically by ``b``.

Parameter count: none (no learned parameters).

Deviations from the paper:

* The extreme positions are the min/max of the ankle track, and the heights
  are the tallest poses whose ankles lie within ``tolerance`` pixels of them;
  the paper clusters ankle positions to pick the far/close sets robustly.
* The pose-to-video network is the pix2pixHD generator
  (``refimpl.pix2pixhd``); it is not repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded

# OpenPose BODY_25 / COCO-18 joint ids differ; the ankles are configurable.
COCO18_ANKLES = (10, 13)  # right ankle, left ankle in OpenPose COCO-18


@dataclass(frozen=True)
class AnkleStats:
    """One video's ankle extremes (image y, down is positive) and the subject's height at each."""

    far: float  # smallest ankle y: farthest from the camera
    close: float  # largest ankle y: closest to the camera
    far_height: float
    close_height: float


def ankle_positions(poses: torch.Tensor, ankles: tuple[int, ...] = COCO18_ANKLES) -> torch.Tensor:
    """Poses (T, J, 2) as (x, y) → per-frame ankle y (T,), the lower (larger y) of the ankles."""
    return poses[:, list(ankles), 1].max(dim=1).values


def pose_heights(poses: torch.Tensor) -> torch.Tensor:
    """Vertical extent of each pose (T,)."""
    return poses[..., 1].max(dim=-1).values - poses[..., 1].min(dim=-1).values


def video_statistics(poses: torch.Tensor, ankles: tuple[int, ...] = COCO18_ANKLES,
                     tolerance: float = 5.0) -> AnkleStats:
    """Far/close ankle positions of a video's poses (T, J, 2) and the heights there."""
    y = ankle_positions(poses, ankles)
    h = pose_heights(poses)
    far, close = y.min(), y.max()
    return AnkleStats(
        far=float(far), close=float(close),
        far_height=float(h[y <= far + tolerance].max()),
        close_height=float(h[y >= close - tolerance].max()),
    )


def normalization_params(ankle_y: torch.Tensor, source: AnkleStats, target: AnkleStats
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, vertical translation b) for source ankle positions ``ankle_y`` (any shape)."""
    alpha = (ankle_y - source.far) / (source.close - source.far)
    translation = target.far + alpha * (target.close - target.far) - ankle_y
    far_ratio = target.far_height / source.far_height
    close_ratio = target.close_height / source.close_height
    scale = far_ratio + alpha * (close_ratio - far_ratio)
    return scale, translation


def normalize_poses(poses: torch.Tensor, source: AnkleStats, target: AnkleStats,
                    ankles: tuple[int, ...] = COCO18_ANKLES) -> torch.Tensor:
    """Source poses (T, J, 2) → poses in the target's frame: scale about the ankle point, then shift y by b."""
    ankle_y = ankle_positions(poses, ankles)
    scale, translation = normalization_params(ankle_y, source, target)
    anchor = torch.stack([poses[:, list(ankles), 0].mean(dim=1), ankle_y], dim=-1).unsqueeze(1)  # (T, 1, 2)
    scaled = anchor + scale[:, None, None] * (poses - anchor)
    return scaled + torch.stack([torch.zeros_like(translation), translation], -1).unsqueeze(1)


# --------------------------------------------------------------------- examples
@register_example(covers=[normalize_poses, normalization_params, video_statistics, ankle_positions, pose_heights,
                          AnkleStats])
def dance_pose_normalization() -> Example:
    g = seeded(0)
    source = torch.rand(6, 18, 2, generator=g) * 100
    target = torch.rand(6, 18, 2, generator=g) * 200
    s_stats, t_stats = video_statistics(source), video_statistics(target)
    poses = source.clone().requires_grad_(True)
    return Example(model=nn.Module(), inputs=(poses,), output_shapes=((6, 18, 2),),
                   run=lambda _m, p: normalize_poses(p, s_stats, t_stats))
