"""ESRGAN (arXiv:1809.00219): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.esrgan import (
    RRDB,
    TINY,
    ESRGANConfig,
    ResidualDenseBlock,
    RRDBNet,
    discriminator_ra_loss,
    generator_loss,
    generator_ra_loss,
    interpolate_networks,
    relativistic_logits,
)


def test_standard_rrdbnet_parameter_count() -> None:
    net = RRDBNet(ESRGANConfig())
    assert len(net.trunk) == 23
    assert sum(p.numel() for p in net.parameters()) == 16_697_987
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # Sec. 3.1: BN removed


def test_rrdbnet_upscales_by_four(device: torch.device) -> None:
    net = RRDBNet(TINY).to(device)
    assert net(torch.rand(2, 3, 5, 6, device=device)).shape == (2, 3, 20, 24)


def test_dense_block_convs_see_all_previous_features() -> None:
    block = ResidualDenseBlock(features=8, growth=4)
    assert [c.in_channels for c in block.convs] == [8, 12, 16, 20]
    assert block.conv_out.in_channels == 24 and block.conv_out.out_channels == 8


def test_residual_scaling_beta_in_both_residual_levels() -> None:
    # Each dense block adds β·b when its last conv outputs the constant b = 1:
    # body(x) = x + 3β, and the RRDB returns x + β·(x + 3β) = (1 + β)x + 3β².
    rrdb = RRDB(features=4, growth=2, beta=0.2)
    with torch.no_grad():
        for rdb in rrdb.body:
            rdb.conv_out.weight.zero_()
            rdb.conv_out.bias.fill_(1.0)
    x = torch.randn(1, 4, 3, 3)
    torch.testing.assert_close(rrdb(x), 1.2 * x + 3 * 0.2**2)


def test_relativistic_losses_at_equal_critic_scores_are_two_log_two() -> None:
    c = torch.full((4, 1), 0.7)
    assert math.isclose(discriminator_ra_loss(c, c).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(generator_ra_loss(c, c).item(), 2 * math.log(2), rel_tol=1e-6)


def test_relativistic_average_compares_with_the_other_batch_mean() -> None:
    c_real, c_fake = torch.tensor([[3.0], [1.0]]), torch.tensor([[0.0], [-2.0]])
    rf, fr = relativistic_logits(c_real, c_fake)
    torch.testing.assert_close(rf, torch.tensor([[4.0], [2.0]]))
    torch.testing.assert_close(fr, torch.tensor([[-2.0], [-4.0]]))
    expected_d = -torch.log(torch.sigmoid(rf)).mean() - torch.log(1 - torch.sigmoid(fr)).mean()
    torch.testing.assert_close(discriminator_ra_loss(c_real, c_fake), expected_d)
    # A shift of every critic score changes nothing: only relative realness counts.
    torch.testing.assert_close(discriminator_ra_loss(c_real + 5, c_fake + 5), expected_d)


def test_generator_ra_loss_gets_gradient_from_real_scores_too() -> None:
    # Sec. 3.2: unlike the standard GAN loss, G benefits from gradients of real data.
    c_real = torch.tensor([[1.0], [2.0]], requires_grad=True)
    generator_ra_loss(c_real, torch.tensor([[0.0], [0.5]])).backward()
    assert c_real.grad is not None and c_real.grad.abs().sum() > 0


def test_generator_loss_weights() -> None:
    sr, hr = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    c = torch.zeros(1, 1)
    # percep (identity features) = 1, L_G^Ra = 2 log 2, L1 = 1.
    expected = 1.0 + 5e-3 * 2 * math.log(2) + 1e-2 * 1.0
    assert math.isclose(generator_loss(torch.nn.Identity(), sr, hr, c, c).item(), expected, rel_tol=1e-6)


def test_network_interpolation_returns_each_network_at_the_ends() -> None:
    psnr, gan = RRDBNet(TINY), RRDBNet(TINY)
    for alpha, net in ((0.0, psnr), (1.0, gan)):
        theta = interpolate_networks(psnr, gan, alpha)
        for k, v in net.state_dict().items():
            assert torch.equal(theta[k], v), k
    mid = interpolate_networks(psnr, gan, 0.5)
    k = "conv_first.weight"
    torch.testing.assert_close(mid[k], (psnr.state_dict()[k] + gan.state_dict()[k]) / 2)
    blended = RRDBNet(TINY)
    blended.load_state_dict(mid)  # a loadable state


def test_network_interpolation_rejects_different_architectures() -> None:
    with pytest.raises(ValueError):
        interpolate_networks(RRDBNet(TINY), RRDBNet(ESRGANConfig(features=8, growth=4, num_blocks=3)), 0.5)
