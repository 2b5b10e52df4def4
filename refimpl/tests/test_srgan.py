"""SRGAN (arXiv:1609.04802): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from refimpl.srgan import (
    TINY,
    ResidualBlock,
    SRGANConfig,
    SRGANDiscriminator,
    SRResNet,
    SubPixelUpsample,
    content_loss,
    discriminator_loss,
    generator_adversarial_loss,
    perceptual_loss,
)


def test_srresnet_upscales_by_four(device: torch.device) -> None:
    g = SRResNet(TINY).to(device).eval()
    assert g(torch.rand(2, 3, 5, 7, device=device)).shape == (2, 3, 20, 28)


def test_standard_srresnet_parameter_count() -> None:
    g = SRResNet(SRGANConfig())
    assert len(g.blocks) == 16
    assert sum(p.numel() for p in g.parameters()) == 1_549_462


def test_residual_block_is_identity_when_its_last_batch_norm_is_switched_off() -> None:
    block = ResidualBlock(4).eval()
    with torch.no_grad():
        block.body[-1].weight.zero_()
        block.body[-1].bias.zero_()
    x = torch.randn(1, 4, 5, 5)
    torch.testing.assert_close(block(x), x)


def test_sub_pixel_block_moves_channels_to_space() -> None:
    up = SubPixelUpsample(3)
    # Make the conv the identity on 12 = 3·2² output channels: channel 4c + k ← input c.
    with torch.no_grad():
        up[0].weight.zero_()
        up[0].bias.zero_()
        for c in range(3):
            for k in range(4):
                up[0].weight[4 * c + k, c, 1, 1] = 1.0
        up[2].weight.fill_(1.0)  # PReLU slope 1 = identity
    x = torch.randn(1, 3, 2, 2)
    out = up(x)
    assert out.shape == (1, 3, 4, 4)
    torch.testing.assert_close(out, torch.repeat_interleave(torch.repeat_interleave(x, 2, dim=2), 2, dim=3))


def test_discriminator_halves_four_times_and_returns_a_logit() -> None:
    d = SRGANDiscriminator(SRGANConfig())
    feats = d.features(torch.rand(1, 3, 96, 96))
    assert feats.shape == (1, 512, 6, 6)
    assert d.classifier[1].in_features == 512 * 6 * 6
    assert d.classifier[1].out_features == 1024


def test_content_loss_is_mse_in_feature_space() -> None:
    phi = nn.Identity()
    a, b = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 2.0)
    assert content_loss(phi, a, b).item() == 4.0
    assert content_loss(phi, a, b, rescale=0.5).item() == 1.0
    # Images that differ only where φ ignores them have zero content loss.
    phi_red = lambda x: x[:, :1]  # noqa: E731
    c = a.clone()
    c[:, 1:] = 5.0
    assert content_loss(phi_red, a, c).item() == 0.0


def test_adversarial_losses_match_the_log_likelihood_form() -> None:
    logit = torch.tensor([[0.0], [2.0]])
    expected = -torch.log(torch.sigmoid(logit)).mean()
    torch.testing.assert_close(generator_adversarial_loss(logit), expected)
    assert math.isclose(generator_adversarial_loss(torch.zeros(3, 1)).item(), math.log(2), rel_tol=1e-6)
    real, fake = torch.tensor([[1.0]]), torch.tensor([[-1.0]])
    torch.testing.assert_close(discriminator_loss(real, fake),
                               -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean())


def test_perceptual_loss_weights_the_adversarial_term_by_1e_minus_3() -> None:
    cfg = SRGANConfig(vgg_rescale=1.0)
    phi = nn.Identity()
    sr, hr = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 3.0)
    fake = torch.zeros(1, 1)
    # MSE content loss 9 (L1 would give 3) + 10⁻³ · log 2.
    torch.testing.assert_close(perceptual_loss(phi, sr, hr, fake, cfg), torch.tensor(9.0 + 1e-3 * math.log(2)))
    # The default rescales VGG features by 1/12.75 (Sec. 3.2): (3/12.75)².
    torch.testing.assert_close(perceptual_loss(phi, sr, hr, fake), torch.tensor((3 / 12.75) ** 2 + 1e-3 * math.log(2)))


def test_config_defaults_are_the_papers() -> None:
    c = SRGANConfig()
    assert (c.channels, c.num_blocks, c.scale, c.img_channels) == (64, 16, 4, 3)  # Fig. 4, Sec. 2.2, Sec. 3.1
    assert c.adversarial_weight == 1e-3  # Eq. 3
    assert c.vgg_rescale == 1 / 12.75  # Sec. 3.2
    assert c.disc_widths == (64, 64, 128, 128, 256, 256, 512, 512) and c.disc_hidden == 1024  # Fig. 4
    assert c.hr_size == 96  # Sec. 3.2


def test_standard_discriminator_parameter_count() -> None:
    # Fig. 4 (no official code): eight 3×3 convs with bias, BN (γ, β) after all but the first,
    # dense 512·6·6 → 1024 and 1024 → 1: Σ 9·c_in·c_out + c_out (+ 2·c_out) + 18,875,392 + 1,025.
    widths = [3, 64, 64, 128, 128, 256, 256, 512, 512]
    convs = sum(9 * a * b + b + (2 * b if i else 0) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)))
    with torch.device("meta"):
        d = SRGANDiscriminator(SRGANConfig())
    assert sum(p.numel() for p in d.parameters()) == convs + 512 * 36 * 1024 + 1024 + 1025 == 23_565_505
    assert [m.stride[0] for m in d.features if isinstance(m, nn.Conv2d)] == [1, 2] * 4
    slopes = [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 9


def test_residual_block_adds_its_body_to_the_identity() -> None:
    # Fig. 4: conv → BN → PReLU → conv → BN, then the elementwise sum with the block's input.
    torch.manual_seed(1)
    block = ResidualBlock(3).eval()
    with torch.no_grad():
        for m in block.body:
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    assert [type(m) for m in block.body] == [nn.Conv2d, nn.BatchNorm2d, nn.PReLU, nn.Conv2d, nn.BatchNorm2d]
    x = torch.randn(2, 3, 5, 4)
    h = block.body[1](block.body[0](x))
    h = torch.where(h >= 0, h, block.body[2].weight * h)  # PReLU, slope 0.25 at initialisation
    expected = x + block.body[4](block.body[3](h))
    torch.testing.assert_close(block(x), expected)


def test_generator_has_a_long_skip_over_the_residual_blocks() -> None:
    # Fig. 4: the output of the k3n64s1 + BN after the B blocks is summed with the first PReLU's output.
    torch.manual_seed(2)
    g = SRResNet(TINY).eval()
    with torch.no_grad():
        g.body_end[1].bias.fill_(0.3)  # make the body's contribution visibly non-zero
    lr = torch.rand(1, 3, 4, 5)
    head = g.head(lr)
    expected = g.tail(g.upsample(head + g.body_end(g.blocks(head))))
    torch.testing.assert_close(g(lr), expected)
    assert g.head[0].kernel_size == (9, 9) and g.tail.kernel_size == (9, 9)  # k9n64s1, k9n3s1
    assert g.head[0].padding == (4, 4) and g.tail.padding == (4, 4)
    assert isinstance(g.head[1], nn.PReLU) and isinstance(g.body_end[1], nn.BatchNorm2d)


def test_upsampling_uses_one_sub_pixel_block_per_factor_of_two() -> None:
    for scale, blocks in ((2, 1), (4, 2), (8, 3)):
        g = SRResNet(SRGANConfig(channels=4, num_blocks=1, scale=scale)).eval()
        assert len(g.upsample) == blocks
        assert g(torch.rand(1, 3, 3, 2)).shape == (1, 3, 3 * scale, 2 * scale)
    assert SubPixelUpsample(2, factor=3)(torch.rand(1, 2, 2, 2)).shape == (1, 2, 6, 6)  # conv to r²·C channels
    up = SRResNet(SRGANConfig()).upsample[0]
    assert up[0].out_channels == 256 and up[0].kernel_size == (3, 3)  # k3n256s1, then PixelShuffler ×2
    with pytest.raises(ValueError, match="power of two"):
        SRResNet(SRGANConfig(channels=4, num_blocks=1, scale=3))
