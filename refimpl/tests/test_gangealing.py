"""GANgealing (arXiv:2112.05143): the claims that define the paper."""

from __future__ import annotations

import math

import torch
from torch import nn

from refimpl.gangealing import (
    TINY,
    CongealingVector,
    SimilaritySTN,
    affine_warp,
    gangealing_loss,
    similarity_matrix,
)


def _params(angle: float = 0.0, log_scale: float = 0.0, tx: float = 0.0, ty: float = 0.0) -> torch.Tensor:
    return similarity_matrix(*(torch.tensor([v]) for v in (angle, log_scale, tx, ty)))


def test_identity_transform_returns_the_input_exactly(device: torch.device) -> None:
    x = torch.rand(2, 3, 8, 8, device=device)
    theta = _params().expand(2, 2, 3).to(device)
    torch.testing.assert_close(theta[0], torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], device=device))
    torch.testing.assert_close(affine_warp(x, theta), x, atol=1e-6, rtol=0)


def test_known_translation_moves_pixels_by_whole_steps() -> None:
    # one pixel is 2/W in normalised coordinates; sampling at x + 2/W shifts the content one pixel left
    x = torch.rand(1, 1, 6, 8)
    out = affine_warp(x, _params(tx=2 / 8))
    torch.testing.assert_close(out[..., :-1], x[..., 1:], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[..., -1], torch.zeros(1, 1, 6), atol=1e-6, rtol=0)  # zero padding enters
    down = affine_warp(x, _params(ty=-2 * 2 / 6))  # two rows down
    torch.testing.assert_close(down[..., 2:, :], x[..., :-2, :], atol=1e-6, rtol=0)


def test_rotation_by_a_quarter_turn_is_rot90() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(affine_warp(x, _params(angle=math.pi / 2)), torch.rot90(x, 1, (2, 3)),
                               atol=1e-5, rtol=0)
    # log-scale is exponentiated: log 2 doubles the sampling step (zooms out by 2)
    torch.testing.assert_close(_params(log_scale=math.log(2.0))[0, :, :2], 2 * torch.eye(2))


def test_stn_starts_as_the_identity_warp() -> None:
    stn = SimilaritySTN(width=4)
    x = torch.rand(3, 3, 8, 8)
    aligned, theta = stn(x)
    torch.testing.assert_close(aligned, x, atol=1e-6, rtol=0)
    torch.testing.assert_close(theta, _params().expand(3, 2, 3))


def test_congealing_target_takes_coarse_layers_from_c_and_fine_from_w() -> None:
    cong = CongealingVector(torch.randn(TINY.w_dim), TINY.num_ws)
    w = torch.randn(2, TINY.num_ws, TINY.w_dim)
    mixed = cong.mix(w, TINY.mix_layer)
    torch.testing.assert_close(mixed[:, : TINY.mix_layer], cong.c[: TINY.mix_layer].expand(2, -1, -1))
    torch.testing.assert_close(mixed[:, TINY.mix_layer:], w[:, TINY.mix_layer:])


def test_alignment_loss_is_zero_when_w_already_has_the_congealed_pose_and_trains_only_t_and_c() -> None:
    synthesis = nn.Sequential(nn.Flatten(1), nn.Linear(TINY.num_ws * TINY.w_dim, 3 * 8 * 8),
                              nn.Unflatten(1, (3, 8, 8))).requires_grad_(False)
    stn = SimilaritySTN(width=4)
    cong = CongealingVector(torch.randn(TINY.w_dim), TINY.num_ws)
    w = torch.randn(2, TINY.num_ws, TINY.w_dim)
    w[:, : TINY.mix_layer] = cong.c.detach()[: TINY.mix_layer]  # coarse layers already equal c
    assert gangealing_loss(stn, synthesis, cong, w, TINY.mix_layer).item() < 1e-10
    other = torch.randn(2, TINY.num_ws, TINY.w_dim)
    loss = gangealing_loss(stn, synthesis, cong, other, TINY.mix_layer, features=nn.AvgPool2d(2))
    assert loss.item() > 1e-3
    loss.backward()
    assert cong.c.grad is not None and cong.c.grad[: TINY.mix_layer].abs().sum() > 0
    assert (cong.c.grad[TINY.mix_layer:] == 0).all()  # fine layers of c are never used
    assert stn.head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in synthesis.parameters())
