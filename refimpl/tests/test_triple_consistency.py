"""Triple consistency loss (arXiv:1811.03492): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.triple_consistency import (
    TINY,
    PoseConditionedGenerator,
    self_consistency_loss,
    triple_consistency_loss,
)


def _replace_pose(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # channel 0 is appearance (kept), channel 1 is pose (overwritten by the target): composes consistently
    return torch.cat([x[:, :1], y], dim=1)


def _accumulate_pose(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # a generator that adds the new pose to the old one: the intermediate pose leaks into the result
    return torch.cat([x[:, :1], x[:, 1:] + y], dim=1)


def test_triple_loss_is_zero_for_a_consistently_composing_generator(device: torch.device) -> None:
    x = torch.randn(2, 2, 4, 4, device=device)
    y1, y2 = torch.randn(2, 1, 4, 4, device=device), torch.randn(2, 1, 4, 4, device=device)
    assert triple_consistency_loss(_replace_pose, x, y1, y2).item() == 0.0
    assert self_consistency_loss(_replace_pose, x, x[:, 1:], y1).item() == 0.0


def test_triple_loss_measures_the_leaked_intermediate_pose() -> None:
    x = torch.randn(1, 2, 4, 4)
    y1, y2 = torch.full((1, 1, 4, 4), 0.5), torch.randn(1, 1, 4, 4)
    # long path = (a, p + y1 + y2), short cut = (a, p + y2): they differ by y1 on half the channels
    torch.testing.assert_close(triple_consistency_loss(_accumulate_pose, x, y1, y2), torch.tensor(0.25))


def test_generator_with_zero_mask_is_identity_and_loss_trains_it() -> None:
    gen = PoseConditionedGenerator(TINY)
    with torch.no_grad():
        gen.to_mask.weight.zero_()
        gen.to_mask.bias.fill_(-40.0)  # mask ≈ 0: output = input whatever the pose
    x = torch.rand(2, 3, 8, 8)
    y1, y2 = torch.rand(2, TINY.num_landmarks, 8, 8), torch.rand(2, TINY.num_landmarks, 8, 8)
    torch.testing.assert_close(gen(x, y1), x)
    assert triple_consistency_loss(gen, x, y1, y2).item() < 1e-6
    fresh = PoseConditionedGenerator(TINY)
    loss = triple_consistency_loss(fresh, x, y1, y2)
    assert loss.item() > 0
    loss.backward()
    assert fresh.body[0].weight.grad.abs().sum() > 0
