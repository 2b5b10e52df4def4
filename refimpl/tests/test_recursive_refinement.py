"""The recursive loop: N = 0 is the plain model, and the loop composes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from refimpl.recursive_refinement import recursive_refine, refinement_drift


class AddOne(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1


class Halve(nn.Module):  # contracts towards 0, a fixed point (the notes' "version 2")
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / 2


def test_n_zero_is_the_plain_model() -> None:
    x = torch.zeros(2)
    torch.testing.assert_close(recursive_refine(AddOne(), x, 0), torch.ones(2))


def test_the_loop_applies_the_model_one_plus_n_times_and_composes() -> None:
    x = torch.zeros(3)
    torch.testing.assert_close(recursive_refine(AddOne(), x, 4), torch.full((3,), 5.0))
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    y = torch.randn(1, 3)
    # refine(x, 2 + 3) = refine(refine(x, 2), 2): the output fed back continues the same loop.
    torch.testing.assert_close(recursive_refine(model, y, 5), recursive_refine(model, recursive_refine(model, y, 2), 2))
    with pytest.raises(ValueError):
        recursive_refine(model, y, -1)


def test_drift_separates_a_drifting_model_from_a_fixed_point() -> None:
    x = torch.full((4,), 8.0)
    torch.testing.assert_close(refinement_drift(AddOne(), x, 3), torch.ones(3))
    torch.testing.assert_close(refinement_drift(Halve(), x, 3), torch.tensor([2.0, 1.0, 0.5]))
    assert refinement_drift(Halve(), x, 0).numel() == 0
