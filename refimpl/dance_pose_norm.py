"""Everybody Dance Now: global pose normalisation.

Caroline Chan, Shiry Ginosar, Tinghui Zhou, Alexei A. Efros. ICCV 2019.
arXiv:1808.07371. Catalog id: ``everybody-dance-now``.

Implemented (Sec. 3.2 "Global pose normalization" and its appendix), as the
official code does it (carolineec/EverybodyDanceNow @ b094a6a,
``data_prep/graph_posenorm.py`` and ``data_prep/renderopenpose.py``): a
source subject's poses are mapped into the target video's frame so that body
size and position match the target. Per frame, the ankle position is the
lower ankle's image y (down is positive) and the height the distance from the
nose to the midpoint of the ankles. Per video:

* ``close``: the largest ankle y; ``far`` (the "horizon"): with m the median
  ankle y, the farthest ankle above m whose distance ``m − y`` stays below
  ``0.5 (close − m)`` (``--*_median_frac 0.5``);
* when the source's range ``close − far`` is smaller than the target's, the
  target's range is shrunk to the source's about its middle;
* heights at the extremes: the tallest pose among frames whose ankle lies
  within ``0.05 (close − far)`` of that extreme; a close height more than
  10 % below the video's tallest pose is replaced by it.

For a source frame with ankle position ``f`` and
``α = (f − s_far) / (s_close − s_far)``:

* translation: ``b = t_far + α (t_close − t_far) − f``;
* scale: ``s = t_far_h / s_far_h + α (t_close_h / s_close_h − t_far_h / s_far_h)``.

Every joint ``p`` becomes ``c + s (p − c) + (0, b)`` about one anchor for the
whole clip, ``c = (image width / 2, lower ankle y of the first frame)``.

Official preset: ``OFFICIAL`` holds the script's constants (median fraction
0.5, height window 0.05, reset 10 %) and OpenPose COCO-18's joints (nose 0,
ankles 10 and 13). Parameter count: none (no learned parameters).

Deviations from the official code:

* Keypoint confidences are not modelled: the official script skips frames
  whose nose, right ankle or left ear is undetected and falls back to the
  ears' midpoint for a missing nose; here every joint is taken as detected.
* The tallest pose of a video is the maximum over all frames; the official
  script takes the first height recorded at the largest ankle position
  (``max(dict.values())[0]``), which can differ when several frames share it.
* The official script samples random frames (at most 20,000 source and 5,000
  target frames); here all given frames are used.
* The pose-to-video network is the pix2pixHD generator
  (``refimpl.pix2pixhd``); it is not repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded

COCO18_NOSE = 0
COCO18_ANKLES = (10, 13)  # right ankle, left ankle in OpenPose COCO-18 (renderopenpose.py get_pose_stats)


@dataclass(frozen=True)
class PoseNormConfig:
    median_frac: float = 0.5  # graph_posenorm.py --target_median_frac / --source_median_frac default
    height_window: float = 0.05  # graph_posenorm.py: get_minmax_scales(..., 0.05)
    reset_frac: float = 0.1  # get_minmax_scales: close height reset when 10 % below the tallest pose
    head: int = COCO18_NOSE
    ankles: tuple[int, ...] = COCO18_ANKLES


OFFICIAL = PoseNormConfig()


@dataclass(frozen=True)
class AnkleStats:
    """One video's ankle extremes (image y, down is positive) and the subject's height at each."""

    far: float  # the horizon: farthest ankle position kept
    close: float  # largest ankle y: closest to the camera
    far_height: float
    close_height: float


def ankle_positions(poses: torch.Tensor, ankles: tuple[int, ...] = COCO18_ANKLES) -> torch.Tensor:
    """Poses (T, J, 2) as (x, y) → per-frame ankle y (T,), the lower (larger y) of the ankles."""
    return poses[:, list(ankles), 1].max(dim=1).values


def pose_heights(poses: torch.Tensor, head: int = COCO18_NOSE, ankles: tuple[int, ...] = COCO18_ANKLES
                 ) -> torch.Tensor:
    """Distance from the head joint to the midpoint of the ankles, per frame (T,)."""
    feet = poses[:, list(ankles)].mean(dim=1)
    return (poses[:, head] - feet).norm(dim=-1)


def ankle_extremes(ankle_y: torch.Tensor, median_frac: float = 0.5) -> tuple[float, float]:
    """(far, close) of an ankle track (T,): close is its maximum; far the smallest y above the median m
    with ``m − y < median_frac · (close − m)``."""
    y = ankle_y.double()
    close = y.max()
    median = torch.quantile(y, 0.5)  # numpy's median: the mean of the middle two for an even count
    above = median - y
    ok = (above > 0) & (above < median_frac * (close - median))
    if not ok.any():
        raise ValueError("no ankle position lies above the median within the allowed range")
    return float(median - above[ok].max()), float(close)


def _heights_at(ankle_y: torch.Tensor, heights: torch.Tensor, far: float, close: float,
                config: PoseNormConfig) -> tuple[float, float]:
    """Tallest pose within ``height_window · (close − far)`` of each extreme; close one reset if too short."""
    window = (close - far) * config.height_window
    near_far = (ankle_y - far).abs() <= window
    near_close = (ankle_y - close).abs() <= window
    far_h = float(heights[near_far].max()) if near_far.any() else 0.0
    close_h = float(heights[near_close].max()) if near_close.any() else 0.0
    tallest = float(heights.max())
    if tallest - close_h > config.reset_frac * tallest:
        close_h = tallest
    return far_h, close_h


def video_statistics(poses: torch.Tensor, config: PoseNormConfig = OFFICIAL) -> AnkleStats:
    """Far/close ankle positions of one video's poses (T, J, 2) and the heights there."""
    y = ankle_positions(poses, config.ankles)
    far, close = ankle_extremes(y, config.median_frac)
    far_h, close_h = _heights_at(y, pose_heights(poses, config.head, config.ankles), far, close, config)
    return AnkleStats(far=far, close=close, far_height=far_h, close_height=close_h)


def normalization_stats(source_poses: torch.Tensor, target_poses: torch.Tensor,
                        config: PoseNormConfig = OFFICIAL) -> tuple[AnkleStats, AnkleStats]:
    """Both videos' statistics; the target's range shrinks to the source's about its middle when larger."""
    source = video_statistics(source_poses, config)
    t_y = ankle_positions(target_poses, config.ankles)
    t_far, t_close = ankle_extremes(t_y, config.median_frac)
    s_range = source.close - source.far
    if s_range < t_close - t_far:
        middle = 0.5 * (t_close + t_far)
        t_far, t_close = middle - 0.5 * s_range, middle + 0.5 * s_range
    far_h, close_h = _heights_at(t_y, pose_heights(target_poses, config.head, config.ankles), t_far, t_close, config)
    return source, AnkleStats(far=t_far, close=t_close, far_height=far_h, close_height=close_h)


def normalization_params(ankle_y: torch.Tensor, source: AnkleStats, target: AnkleStats
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, vertical translation b) for source ankle positions ``ankle_y`` (any shape)."""
    alpha = (ankle_y - source.far) / (source.close - source.far)
    translation = target.far + alpha * (target.close - target.far) - ankle_y
    far_ratio = target.far_height / source.far_height
    close_ratio = target.close_height / source.close_height
    scale = far_ratio + alpha * (close_ratio - far_ratio)
    return scale, translation


def normalize_poses(poses: torch.Tensor, source: AnkleStats, target: AnkleStats, image_width: float,
                    ankles: tuple[int, ...] = COCO18_ANKLES) -> torch.Tensor:
    """Source poses (T, J, 2) → the target's frame: ``c + s (p − c) + (0, b)`` per frame, with one anchor
    ``c = (image_width / 2, lower ankle y of the first frame)`` for the clip."""
    ankle_y = ankle_positions(poses, ankles)
    scale, translation = normalization_params(ankle_y, source, target)
    anchor = torch.stack([ankle_y.new_tensor(image_width / 2), ankle_y[0]])  # (2,)
    scaled = anchor + scale[:, None, None] * (poses - anchor)
    return scaled + torch.stack([torch.zeros_like(translation), translation], -1).unsqueeze(1)


# --------------------------------------------------------------------- examples
@register_example(covers=[normalize_poses, normalization_params, normalization_stats, video_statistics,
                          ankle_extremes, ankle_positions, pose_heights, AnkleStats])
def dance_pose_normalization() -> Example:
    g = seeded(0)
    source = torch.rand(6, 18, 2, generator=g) * 100
    target = torch.rand(6, 18, 2, generator=g) * 200
    s_stats, t_stats = normalization_stats(source, target)
    poses = source.clone().requires_grad_(True)
    return Example(model=nn.Module(), inputs=(poses,), output_shapes=((6, 18, 2),),
                   run=lambda _m, p: normalize_poses(p, s_stats, t_stats, image_width=100.0))
