"""GANgealing (arXiv:2112.05143): the claims that define the paper."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from refimpl.gangealing import (
    OFFICIAL,
    TINY,
    CongealingVector,
    GANgealingConfig,
    SimilaritySTN,
    affine_warp,
    gangealing_loss,
    psi_schedule,
    similarity_matrix,
)


def _params(angle: float = 0.0, log_scale: float = 0.0, tx: float = 0.0, ty: float = 0.0) -> torch.Tensor:
    return similarity_matrix(*(torch.tensor([v]) for v in (angle, log_scale, tx, ty)))


def test_config_defaults_are_the_official_training_arguments() -> None:
    # wpeebles/gangealing @ ffa6387, utils/base_argparse.py: --inject 5, --dim_latent 512, --gen_size 256
    # (2·log2(256) − 2 = 14 style inputs), --flow_size 128, --stn_channel_multiplier 0.5,
    # --padding_mode reflection, --anneal_psi 150000; the channel table of spatial_transformer.py caps at 512.
    assert dataclasses.asdict(GANgealingConfig()) == {
        "mix_layer": 5, "num_ws": 14, "w_dim": 512, "flow_size": 128, "channel_multiplier": 0.5,
        "channel_max": 512, "padding_mode": "reflection", "anneal_psi": 150_000,
    }
    assert GANgealingConfig() == OFFICIAL
    # the official channel table: {4..32: 512, 64: 256·m, 128: 128·m, 256: 64·m}
    assert [OFFICIAL.stn_channels(r) for r in (4, 32, 64, 128, 256)] == [512, 512, 128, 64, 32]
    assert dataclasses.replace(OFFICIAL, channel_multiplier=1.0).stn_channels(64) == 256
    with pytest.raises(ValueError, match="powers of two, got 48"):
        OFFICIAL.stn_channels(48)


def test_official_similarity_stn_has_the_official_parameter_count() -> None:
    # wpeebles/gangealing @ ffa6387: SpatialTransformer(flow_size=128, supersize=128, channel_multiplier=0.5,
    # transform='similarity') from models/spatial_transformers/spatial_transformer.py, instantiated with the
    # CUDA ops stubbed, has 22,424,644 parameters: fromRGB 3→64, ResBlocks 64→128→512→512→512→512 (128² → 4²),
    # a 3×3 conv 512→512, a linear 8192→512 and the 512→4 warp head.
    with torch.device("meta"):
        stn = SimilaritySTN(OFFICIAL)
    assert sum(p.numel() for p in stn.parameters()) == 22_424_644
    assert len(stn.blocks) == 5 and stn.blocks[0].conv1.weight.shape == (128, 64, 3, 3)
    assert stn.fc.weight.shape == (512, 8192) and stn.head.weight.shape == (4, 512)


def test_regressor_reduces_the_input_to_four_by_four_and_depends_on_the_image() -> None:
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, flow_size=16)
    stn = SimilaritySTN(config)
    x = torch.randn(2, 3, 16, 16)
    assert stn.blocks(stn.from_rgb(x)).shape == (2, 4, 4, 4)
    feats = stn.features(x)
    assert feats.shape == (2, 4)
    assert (feats[0] - feats[1]).abs().max() > 1e-3  # different images → different features


def test_regressor_activation_is_a_leaky_relu_with_slope_0_2_and_gain_sqrt2() -> None:
    # StyleGAN2's fused leaky ReLU after the fromRGB conv: f(x) = √2·max(x, 0.2x).
    stn = SimilaritySTN(dataclasses.replace(TINY, flow_size=8))
    with torch.no_grad():
        for p in stn.parameters():
            p.zero_()
        stn.from_rgb.bias.copy_(torch.tensor([-1.0, 2.0, -3.0, 0.5]))
        captured = {}
        stn.blocks.register_forward_hook(lambda m, inp, out: captured.update(x=inp[0]))
        stn.features(torch.zeros(1, 3, 8, 8))
    expected = math.sqrt(2) * torch.tensor([-0.2, 2.0, -0.6, 0.5])
    torch.testing.assert_close(captured["x"][0, :, 0, 0], expected)


def test_regressor_layers_use_the_equalized_learning_rate_scale_of_the_official_code() -> None:
    # StyleGAN2's EqualConv2d / EqualLinear (models/stylegan2/networks.py) scale the weights by 1/√fan_in at run
    # time, with no further gain: the √2 lives in the fused leaky ReLU.
    torch.manual_seed(0)
    stn = SimilaritySTN(TINY)
    x = torch.randn(1, 3, 8, 8)
    torch.testing.assert_close(stn.from_rgb(x), F.conv2d(x, stn.from_rgb.weight / math.sqrt(3), stn.from_rgb.bias))
    h = torch.randn(1, 4, 4, 4)
    torch.testing.assert_close(stn.conv(h), F.conv2d(h, stn.conv.weight / math.sqrt(4 * 9), stn.conv.bias, padding=1))
    f = torch.randn(1, 64)
    torch.testing.assert_close(stn.fc(f), F.linear(f, stn.fc.weight / math.sqrt(64), stn.fc.bias))


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
    # reflection padding (the official default) mirrors the image about its border instead
    refl = affine_warp(x, _params(tx=2 / 8), padding_mode="reflection")
    torch.testing.assert_close(refl[..., -1], x[..., -1], atol=1e-6, rtol=0)


def test_rotation_by_a_quarter_turn_is_rot90() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(affine_warp(x, _params(angle=math.pi / 2)), torch.rot90(x, 1, (2, 3)),
                               atol=1e-5, rtol=0)
    # log-scale is exponentiated: log 2 doubles the sampling step (zooms out by 2)
    torch.testing.assert_close(_params(log_scale=math.log(2.0))[0, :, :2], 2 * torch.eye(2))


def test_stn_maps_raw_outputs_like_the_official_similarity_head() -> None:
    # wpeebles/gangealing @ ffa6387, warping_heads.py SimilarityHead.make_affine_matrix, float64, on raw
    # (rotation, scale, tx, ty) = (0.5, 0.3, 0.1, −0.2): rotation π·tanh(0.5), scale e^0.3.
    expected = torch.tensor([[0.160271046210, -1.340310408874, 0.1], [1.340310408874, 0.160271046210, -0.2]])
    stn = SimilaritySTN(TINY)
    with torch.no_grad():
        stn.head.bias.copy_(torch.tensor([0.5, 0.3, 0.1, -0.2]))
    x = torch.rand(1, 3, 8, 8)
    warped, theta = stn(x)
    torch.testing.assert_close(theta[0], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(warped, affine_warp(x, theta, "zeros"))


def test_stn_warps_with_the_configured_padding_mode() -> None:
    x = torch.rand(1, 3, 8, 8) + 0.5
    for mode in ("zeros", "border", "reflection"):
        stn = SimilaritySTN(dataclasses.replace(TINY, padding_mode=mode))
        with torch.no_grad():
            stn.head.bias.copy_(torch.tensor([0.0, 0.0, 0.5, 0.0]))  # two pixels to the left
        warped, _ = stn(x)
        shifted = x[..., 2:]
        torch.testing.assert_close(warped[..., :-2], shifted, atol=1e-6, rtol=0)
        edge = {"zeros": torch.zeros_like(x[..., -2:]), "border": x[..., -1:].expand(-1, -1, -1, 2),
                "reflection": x[..., [-1, -2]]}[mode]
        torch.testing.assert_close(warped[..., -2:], edge, atol=1e-6, rtol=0)


def test_stn_starts_as_the_identity_warp() -> None:
    stn = SimilaritySTN(TINY)
    x = torch.rand(3, 3, 8, 8)
    aligned, theta = stn(x)
    torch.testing.assert_close(aligned, x, atol=1e-6, rtol=0)
    torch.testing.assert_close(theta, _params().expand(3, 2, 3))


def test_psi_is_cosine_annealed_from_one_to_zero() -> None:
    # wpeebles/gangealing @ ffa6387, utils/annealing.py cosine_anneal(i, 1, 0, 150000): 1, 0.85355339, 0.5, 0
    for step, psi in ((0, 1.0), (37_500, 0.8535533906), (75_000, 0.5), (150_000, 0.0), (300_000, 0.0)):
        assert psi_schedule(step, OFFICIAL.anneal_psi) == pytest.approx(psi, abs=1e-9)


def test_congealing_target_takes_coarse_layers_from_c_and_fine_from_w() -> None:
    cong = CongealingVector(torch.randn(TINY.w_dim), TINY.num_ws)
    w = torch.randn(2, TINY.num_ws, TINY.w_dim)
    mixed = cong.mix(w, TINY.mix_layer)
    torch.testing.assert_close(mixed[:, : TINY.mix_layer], cong.c[: TINY.mix_layer].expand(2, -1, -1))
    torch.testing.assert_close(mixed[:, TINY.mix_layer:], w[:, TINY.mix_layer:])
    # with ψ the coarse layers are c + ψ·(w − c): ψ = 1 gives back w, ψ = 0.25 a quarter of the way
    torch.testing.assert_close(cong.mix(w, TINY.mix_layer, psi=1.0), w)
    quarter = cong.mix(w, TINY.mix_layer, psi=0.25)[:, : TINY.mix_layer]
    c = cong.c.detach()[: TINY.mix_layer].double()
    torch.testing.assert_close(quarter.double(), c + 0.25 * (w[:, : TINY.mix_layer].double() - c))


def test_alignment_loss_is_zero_when_w_already_has_the_congealed_pose_and_trains_only_t_and_c() -> None:
    torch.manual_seed(0)
    synthesis = nn.Sequential(nn.Flatten(1), nn.Linear(TINY.num_ws * TINY.w_dim, 3 * 8 * 8),
                              nn.Unflatten(1, (3, 8, 8))).requires_grad_(False)
    stn = SimilaritySTN(TINY)
    cong = CongealingVector(torch.randn(TINY.w_dim), TINY.num_ws)
    w = torch.randn(2, TINY.num_ws, TINY.w_dim)
    w[:, : TINY.mix_layer] = cong.c.detach()[: TINY.mix_layer]  # coarse layers already equal c
    assert gangealing_loss(stn, synthesis, cong, w, TINY.mix_layer).item() < 1e-10
    other = torch.randn(2, TINY.num_ws, TINY.w_dim)
    # ψ = 1 at the start of training: the target is G(w) itself, so the identity STN has zero loss
    assert gangealing_loss(stn, synthesis, cong, other, TINY.mix_layer, psi=1.0).item() < 1e-10
    loss = gangealing_loss(stn, synthesis, cong, other, TINY.mix_layer, features=nn.AvgPool2d(2))
    # by hand: the MSE of 2×2-pooled G(other) against 2×2-pooled G(mix(c, other))
    target = synthesis(torch.cat([cong.c.detach()[: TINY.mix_layer].expand(2, -1, -1),
                                  other[:, TINY.mix_layer:]], 1))
    pool = nn.AvgPool2d(2)
    assert loss.item() == pytest.approx(((pool(synthesis(other)) - pool(target)) ** 2).mean().item(), rel=1e-5)
    assert loss.item() > 1e-3
    loss.backward()
    assert cong.c.grad is not None and cong.c.grad[: TINY.mix_layer].abs().sum() > 0
    assert (cong.c.grad[TINY.mix_layer:] == 0).all()  # fine layers of c are never used
    assert stn.head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in synthesis.parameters())
