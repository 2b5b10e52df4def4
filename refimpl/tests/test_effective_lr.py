"""Effective learning rate (arXiv:2002.11770): momentum SGD at (η, m) behaves like SGD at η/(1 − m)."""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.effective_lr import effective_learning_rate, equivalent_learning_rate, sgd_trajectory

A = torch.tensor([1.0, 0.2], dtype=torch.float64)


def quadratic(theta: torch.Tensor) -> torch.Tensor:
    return 0.5 * (A * theta**2).sum()


def test_formula() -> None:
    assert math.isclose(effective_learning_rate(0.01, 0.9), 0.1)
    assert effective_learning_rate(0.05, 0.0) == 0.05
    assert math.isclose(equivalent_learning_rate(0.1, 0.9), 0.01)
    assert math.isclose(equivalent_learning_rate(0.1, 0.5), 0.05)
    with pytest.raises(ValueError):
        effective_learning_rate(0.1, 1.0)


def test_momentum_sgd_tracks_plain_sgd_at_the_effective_rate() -> None:
    start = torch.tensor([1.0, -2.0], dtype=torch.float64)
    steps, m, lr = 200, 0.9, 0.001
    momentum_run = sgd_trajectory(quadratic, start, lr, m, steps)
    plain_effective = sgd_trajectory(quadratic, start, effective_learning_rate(lr, m), 0.0, steps)
    plain_same_lr = sgd_trajectory(quadratic, start, lr, 0.0, steps)
    gap_effective = (momentum_run - plain_effective).norm(dim=1).max().item()
    gap_same = (momentum_run - plain_same_lr).norm(dim=1).max().item()
    assert gap_effective < 0.1
    assert gap_same > 0.5
    assert gap_effective < gap_same / 10
    # the closed form of plain SGD on a diagonal quadratic: θ_t = (1 − η' a)^t θ_0
    closed = start * (1 - effective_learning_rate(lr, m) * A) ** steps
    torch.testing.assert_close(plain_effective[-1], closed)


def test_pairs_with_equal_effective_rate_end_alike() -> None:
    start = torch.tensor([1.0, -2.0], dtype=torch.float64)
    ends = [sgd_trajectory(quadratic, start, equivalent_learning_rate(0.02, m), m, 120)[-1] for m in (0.0, 0.5, 0.9)]
    for e in ends[1:]:
        assert (e - ends[0]).norm() < 0.05
    different = sgd_trajectory(quadratic, start, 0.02, 0.9, 120)[-1]  # η' = 0.2: far ahead
    assert (different - ends[0]).norm() > 0.5


def test_trajectory_is_torch_sgd_with_momentum() -> None:
    start = torch.tensor([1.0, -2.0], dtype=torch.float64)
    ours = sgd_trajectory(quadratic, start, 0.1, 0.9, 3)
    # by hand: g = A θ; v₁ = g₀, θ₁ = θ₀ − η v₁; v₂ = m v₁ + g₁ ...
    theta, v = start.clone(), torch.zeros(2, dtype=torch.float64)
    for t in range(3):
        v = 0.9 * v + A * theta
        theta = theta - 0.1 * v
        torch.testing.assert_close(ours[t + 1], theta)


def test_both_conversions_reject_momentum_outside_the_unit_interval() -> None:
    # η' = η / (1 − m) is defined for 0 ≤ m < 1 only (Sec. 3.3); m = 1 would give η = 0 or η' = ∞.
    for fn in (effective_learning_rate, equivalent_learning_rate):
        for m in (1.0, 1.5, -0.1):
            with pytest.raises(ValueError, match="momentum"):
                fn(0.1, m)


def test_trajectory_is_a_record_detached_from_the_start_point() -> None:
    # The iterates are data (no graph back to θ₀), so a caller's differentiable start is not extended.
    start = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    traj = sgd_trajectory(quadratic, start, 0.1, 0.9, 2)
    assert not traj.requires_grad and traj.grad_fn is None
    torch.testing.assert_close(traj[0], start.detach())
