"""ESRGAN (arXiv:1809.00219): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.esrgan import (
    OFFICIAL,
    RRDB,
    TINY,
    ESRGANConfig,
    ResidualDenseBlock,
    RRDBNet,
    discriminator_ra_loss,
    generator_loss,
    generator_ra_loss,
    interpolate_networks,
    perceptual_loss,
    relativistic_logits,
)


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def test_config_defaults_are_the_papers() -> None:
    c = ESRGANConfig()
    assert (c.features, c.growth, c.num_blocks, c.scale, c.img_channels) == (64, 32, 23, 4, 3)  # Sec. 4.1, code
    assert c.beta == 0.2  # Sec. 3.1: residual scaling 0.2
    assert c.init_scale == 0.1  # Sec. 3.1: initialisation scaled by 0.1
    assert (c.perceptual_weight, c.adversarial_weight, c.l1_weight) == (1.0, 5e-3, 1e-2)  # Sec. 4.1
    assert c == OFFICIAL


def test_standard_rrdbnet_parameter_count() -> None:
    # xinntao/ESRGAN @ 73e9b634cf987f5996ac2dd33f4050922398a921, RRDBNet_arch.py, RRDBNet(3, 3, 64, 23, gc=32)
    # instantiated: 16,697,987; one dense block 239,808 (conv1..conv5: 18,464, 27,680, 36,896, 46,112, 110,656).
    net = RRDBNet(OFFICIAL)
    assert len(net.trunk) == 23
    assert sum(p.numel() for p in net.parameters()) == 16_697_987
    assert sum(p.numel() for p in net.trunk[0].body[0].parameters()) == 239_808
    assert [sum(p.numel() for p in c.parameters()) for c in net.trunk[0].body[0].convs] == [18_464, 27_680, 36_896, 46_112]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # Sec. 3.1: BN removed


def test_block_defaults_are_the_papers() -> None:
    torch.manual_seed(0)
    rrdb = RRDB()
    rdb = rrdb.body[0]
    assert (rrdb.beta, rdb.beta) == (0.2, 0.2)  # Sec. 3.1
    assert [c.in_channels for c in rdb.convs] == [64, 96, 128, 160] and rdb.conv_out.out_channels == 64
    expected = 0.1 * math.sqrt(2 / (192 * 9))  # Sec. 3.1: Kaiming × 0.1
    assert abs(rrdb.body[2].conv_out.weight.std().item() / expected - 1) < 0.05
    assert abs(ResidualDenseBlock().conv_out.weight.std().item() / expected - 1) < 0.05
    assert ResidualDenseBlock().beta == 0.2
    assert [c.in_channels for c in ResidualDenseBlock().convs] == [64, 96, 128, 160]  # features 64, growth 32


def test_scale_must_be_a_power_of_two() -> None:
    assert len(RRDBNet(ESRGANConfig(features=4, growth=2, num_blocks=1, scale=8)).upconvs) == 3
    assert len(RRDBNet(ESRGANConfig(features=4, growth=2, num_blocks=1, scale=2)).upconvs) == 1
    with pytest.raises(ValueError):
        RRDBNet(ESRGANConfig(features=4, growth=2, num_blocks=1, scale=6))


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


def test_dense_block_convs_start_from_kaiming_times_a_tenth() -> None:
    torch.manual_seed(0)
    block = ResidualDenseBlock(features=64, growth=32)
    for conv in [*block.convs, block.conv_out]:
        fan_in = conv.in_channels * 9
        expected = 0.1 * math.sqrt(2 / fan_in)  # Kaiming normal (gain √2, fan-in) × 0.1
        assert abs(conv.weight.std().item() / expected - 1) < 0.05
        assert abs(conv.weight.mean().item()) < 0.1 * expected
        assert torch.count_nonzero(conv.bias) == 0
    assert RRDBNet(TINY).trunk[0].body[0].conv_out.weight.std() < 0.1  # the default config applies it


def test_relativistic_losses_at_equal_critic_scores_are_log_two() -> None:
    c = torch.full((4, 1), 0.7)
    assert math.isclose(discriminator_ra_loss(c, c).item(), math.log(2), rel_tol=1e-6)
    assert math.isclose(generator_ra_loss(c, c).item(), math.log(2), rel_tol=1e-6)


def test_relativistic_losses_on_unequal_scores_average_the_two_terms() -> None:
    # Means: real 2, fake −0.75 ⇒ D_Ra logits real-vs-fake [3.75, 1.75], fake-vs-real [−1.5, −4].
    # −log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l). BasicSR esrgan_model.py averages the terms.
    c_real = torch.tensor([[3.0], [1.0]], dtype=torch.float64)
    c_fake = torch.tensor([[0.5], [-2.0]], dtype=torch.float64)
    rf, fr = (3.75, 1.75), (-1.5, -4.0)
    d = 0.5 * (sum(_softplus(-v) for v in rf) / 2 + sum(_softplus(v) for v in fr) / 2)
    g = 0.5 * (sum(_softplus(v) for v in rf) / 2 + sum(_softplus(-v) for v in fr) / 2)
    assert math.isclose(discriminator_ra_loss(c_real, c_fake).item(), d, rel_tol=1e-12)
    assert math.isclose(generator_ra_loss(c_real, c_fake).item(), g, rel_tol=1e-12)


def test_relativistic_average_compares_with_the_other_batch_mean() -> None:
    c_real, c_fake = torch.tensor([[3.0], [1.0]]), torch.tensor([[0.0], [-2.0]])
    rf, fr = relativistic_logits(c_real, c_fake)
    torch.testing.assert_close(rf, torch.tensor([[4.0], [2.0]]))
    torch.testing.assert_close(fr, torch.tensor([[-2.0], [-4.0]]))
    expected_d = 0.5 * (-torch.log(torch.sigmoid(rf)).mean() - torch.log(1 - torch.sigmoid(fr)).mean())
    torch.testing.assert_close(discriminator_ra_loss(c_real, c_fake), expected_d)
    # A shift of every critic score changes nothing: only relative realness counts.
    torch.testing.assert_close(discriminator_ra_loss(c_real + 5, c_fake + 5), expected_d)


def test_generator_ra_loss_gets_gradient_from_real_scores_too() -> None:
    # Sec. 3.2: unlike the standard GAN loss, G benefits from gradients of real data.
    c_real = torch.tensor([[1.0], [2.0]], requires_grad=True)
    generator_ra_loss(c_real, torch.tensor([[0.0], [0.5]])).backward()
    assert c_real.grad is not None and c_real.grad.abs().sum() > 0


def test_perceptual_loss_is_l1_on_features_with_a_constant_target() -> None:
    sr = torch.zeros(1, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    hr = torch.tensor([3.0, -1.0] * 4, dtype=torch.float64).reshape(1, 2, 2, 2).requires_grad_()
    double = lambda x: 2 * x  # noqa: E731 — features before activation: linear, signs kept
    loss = perceptual_loss(double, sr, hr)
    assert math.isclose(loss.item(), (6 + 2) / 2, rel_tol=1e-12)  # L1: mean |2·(0 − hr)|; MSE would be 20
    loss.backward()
    assert hr.grad is None or torch.count_nonzero(hr.grad) == 0  # the HR features are a target
    assert torch.count_nonzero(sr.grad) == sr.numel()


def test_generator_loss_weights() -> None:
    sr, hr = torch.zeros(1, 3, 2, 2, dtype=torch.float64), torch.full((1, 3, 2, 2), 3.0, dtype=torch.float64)
    c_real = torch.tensor([[3.0], [1.0]], dtype=torch.float64)
    c_fake = torch.tensor([[0.5], [-2.0]], dtype=torch.float64)
    g = 0.5 * ((_softplus(3.75) + _softplus(1.75)) / 2 + (_softplus(1.5) + _softplus(4.0)) / 2)
    # percep (identity features, L1) = 3, L1 = 3.
    expected = 3.0 + 5e-3 * g + 1e-2 * 3.0
    got = generator_loss(torch.nn.Identity(), sr, hr, c_real, c_fake)
    assert math.isclose(got.item(), expected, rel_tol=1e-12)


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
