"""Landmarks as a fourth input channel, dropped with probability 0.3 during training."""

from __future__ import annotations

import math

import torch

from refimpl.landmark_channel import LandmarkChannelConfig, add_landmark_channel, landmark_heatmap


def test_config_default_is_the_notes_dropout() -> None:
    assert LandmarkChannelConfig() == LandmarkChannelConfig(drop_prob=0.3, sigma=1.0)


def test_heatmap_peaks_at_the_landmarks_by_hand() -> None:
    lm = torch.tensor([[[2.0, 1.0], [5.0, 4.0]]])  # (x, y)
    heat = landmark_heatmap(lm, 6, 7)
    assert heat.shape == (1, 1, 6, 7)
    assert heat[0, 0, 1, 2] == 1 and heat[0, 0, 4, 5] == 1  # row y, column x
    torch.testing.assert_close(heat[0, 0, 1, 3], torch.tensor(math.exp(-0.5)))  # one pixel away
    torch.testing.assert_close(heat[0, 0, 3, 4], torch.tensor(math.exp(-1.0)))  # (1, 1) from (5, 4)


def test_fourth_channel_is_the_heatmap_and_rgb_is_untouched() -> None:
    image = torch.rand(2, 3, 6, 6)
    lm = torch.tensor([[[1.0, 1.0]], [[4.0, 2.0]]])
    x = add_landmark_channel(image, lm, training=False)
    assert x.shape == (2, 4, 6, 6)
    torch.testing.assert_close(x[:, :3], image)
    torch.testing.assert_close(x[:, 3:], landmark_heatmap(lm, 6, 6))
    blank = add_landmark_channel(image, None, training=False)  # video time: no landmarks given
    assert (blank[:, 3] == 0).all()


def test_landmark_channel_is_dropped_about_30_percent_of_the_time() -> None:
    n = 4000
    image = torch.zeros(n, 3, 4, 4)
    lm = torch.full((n, 1, 2), 1.0)
    x = add_landmark_channel(image, lm, training=True, generator=torch.Generator().manual_seed(0))
    dropped = (x[:, 3].flatten(1).amax(1) == 0).double().mean()
    assert abs(dropped.item() - 0.3) < 0.03
    kept = x[:, 3].flatten(1).amax(1) > 0
    assert (x[kept, 3, 1, 1] == 1).all()  # a kept channel is whole, not scaled like dropout activations
    assert (add_landmark_channel(image[:8], lm[:8], training=False)[:, 3].amax((1, 2)) == 1).all()
