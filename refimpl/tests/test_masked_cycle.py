"""CycleGAN with a face mask: the cycle loss only counts the face, the rest is kept."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.masked_cycle import feature_drift, masked_cycle_loss, masked_translation


class Shift(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.value


def _mask() -> torch.Tensor:
    m = torch.zeros(1, 1, 4, 4)
    m[..., :2, :] = 1  # top half is the face
    return m


def test_masked_cycle_loss_ignores_errors_outside_the_mask() -> None:
    x, y = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    g, f = Shift(1.0), Shift(-1.0)  # a perfect cycle
    assert masked_cycle_loss(g, f, x, y, _mask(), _mask()) == 0

    class Corrupt(nn.Module):  # breaks the bottom half only
        def forward(self, t: torch.Tensor) -> torch.Tensor:
            out = t.clone()
            out[..., 2:, :] += 5
            return out

    assert masked_cycle_loss(Corrupt(), nn.Identity(), x, y, _mask(), _mask()) == 0
    # Inside the mask the loss is λ · mean |error| per direction: both directions off by 0.5 -> 10 · 1.
    torch.testing.assert_close(masked_cycle_loss(Shift(0.5), nn.Identity(), x, y, _mask(), _mask()),
                               torch.tensor(10.0))


def test_each_direction_uses_its_own_mask() -> None:
    x, y = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    empty_y = torch.zeros(1, 1, 4, 4)
    # Only the x -> y -> x direction counts when y's mask is empty: 10 · 0.5.
    torch.testing.assert_close(masked_cycle_loss(Shift(0.5), nn.Identity(), x, y, _mask(), empty_y),
                               torch.tensor(5.0))


def test_masked_translation_keeps_everything_outside_the_face() -> None:
    x = torch.rand(1, 3, 4, 4)
    out = masked_translation(Shift(1.0), x, _mask())
    torch.testing.assert_close(out[..., 2:, :], x[..., 2:, :])
    torch.testing.assert_close(out[..., :2, :], x[..., :2, :] + 1)


def test_feature_drift_measures_change_inside_a_region() -> None:
    before = torch.zeros(1, 3, 4, 4)
    after = before.clone()
    after[..., 0, :] = 0.4  # the "bangs" row changes
    bangs = torch.zeros(1, 1, 4, 4)
    bangs[..., 0, :] = 1
    torch.testing.assert_close(feature_drift(before, after, bangs), torch.tensor(0.4))
    assert feature_drift(before, after, 1 - bangs) == 0
