"""Per-video balancing: one video holding 65% of an identity's images no longer dominates."""

from __future__ import annotations

import torch

from refimpl.video_balanced_sampling import video_balanced_sampler, video_balanced_weights, video_shares

IDS = [0] * 13 + [1] * 4 + [2] * 3  # 13 / 20 = 65% from video 0, as in the notes


def test_weights_are_inverse_video_sizes_by_hand() -> None:
    w = video_balanced_weights(IDS)
    # Each video gets 1/3 of the mass, split evenly among its images.
    torch.testing.assert_close(w[0], torch.tensor(1 / 39, dtype=torch.float64))
    torch.testing.assert_close(w[13], torch.tensor(1 / 12, dtype=torch.float64))
    torch.testing.assert_close(w[19], torch.tensor(1 / 9, dtype=torch.float64))
    torch.testing.assert_close(w.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_the_imbalance_before_and_the_balance_after() -> None:
    assert video_shares(IDS) == {0: 0.65, 1: 0.2, 2: 0.15}
    draws = list(video_balanced_sampler(IDS, 6000, torch.Generator().manual_seed(0)))
    shares = video_shares(IDS, draws)
    assert all(abs(s - 1 / 3) < 0.03 for s in shares.values()), shares
    # Within video 0 its 13 images are drawn alike (each ≈ 1/39 of all draws).
    counts = torch.bincount(torch.tensor(draws), minlength=20)[:13].double() / 6000
    assert (counts - 1 / 39).abs().max() < 0.01
    assert len(set(draws)) == 20  # with replacement, every image still appears


def test_sampler_follows_its_generator() -> None:
    a = list(video_balanced_sampler(IDS, 10, torch.Generator().manual_seed(1)))
    b = list(video_balanced_sampler(IDS, 10, torch.Generator().manual_seed(1)))
    assert a == b and len(a) == 10
    # Without num_samples an epoch draws as many images as there are.
    assert len(list(video_balanced_sampler(IDS, generator=torch.Generator().manual_seed(1)))) == 20
