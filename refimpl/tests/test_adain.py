"""AdaIN (arXiv:1703.06868): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.adain import (
    TINY,
    AdaINConfig,
    AdaINDecoder,
    AdaINStyleTransfer,
    VGGEncoder,
    adain,
    calc_mean_std,
    content_loss,
    style_loss,
)


def test_adain_output_carries_style_mean_and_std(device: torch.device) -> None:
    # Eq. 8: the output's per-channel statistics are exactly the style's.
    content = torch.randn(3, 5, 9, 9, device=device) * 2 - 1
    style = torch.randn(3, 5, 4, 6, device=device) * torch.arange(1, 6, device=device).view(1, 5, 1, 1) + 7
    out = adain(content, style, eps=0.0)
    out_mean, out_std = calc_mean_std(out, eps=0.0)
    style_mean, style_std = calc_mean_std(style, eps=0.0)
    torch.testing.assert_close(out_mean, style_mean, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_std, style_std, atol=1e-4, rtol=1e-4)


def test_adain_keeps_the_normalised_content() -> None:
    # The spatial pattern survives: the output is an affine map of the content, per channel.
    content = torch.randn(1, 2, 4, 4)
    style = torch.randn(1, 2, 3, 3)
    out = adain(content, style, eps=0.0)
    c_mean, c_std = calc_mean_std(content, eps=0.0)
    s_mean, s_std = calc_mean_std(style, eps=0.0)
    torch.testing.assert_close((out - s_mean) / s_std, (content - c_mean) / c_std, atol=1e-5, rtol=1e-5)


def test_adain_of_a_feature_with_itself_is_identity() -> None:
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(adain(x, x, eps=0.0), x, atol=1e-5, rtol=1e-5)


def test_statistics_are_per_sample_not_per_batch() -> None:
    # Instance (not batch) statistics: changing sample 1's style leaves sample 0 alone.
    content = torch.randn(2, 3, 4, 4)
    style = torch.randn(2, 3, 4, 4)
    other = style.clone()
    other[1] = other[1] * 5 + 3
    torch.testing.assert_close(adain(content, style)[0], adain(content, other)[0])


def test_standard_decoder_parameter_count() -> None:
    # Sum over the authors' decoder layers (see the module docstring).
    decoder = AdaINDecoder(AdaINConfig().widths)
    assert sum(p.numel() for p in decoder.parameters()) == 3_505_219


def test_encoder_returns_relu1_1_to_relu4_1_with_vgg_widths_and_strides() -> None:
    feats = VGGEncoder(TINY.widths)(torch.rand(1, 3, 32, 32))
    assert [tuple(f.shape) for f in feats] == [(1, 4, 32, 32), (1, 8, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4)]
    assert all((f >= 0).all() for f in feats)  # post-ReLU features


def test_alpha_zero_decodes_the_content_features_alone() -> None:
    # Sec. 7.1: α = 0 ignores the style entirely.
    model = AdaINStyleTransfer(TINY).eval()
    content = torch.rand(1, 3, 32, 32)
    out_a = model(content, torch.rand(1, 3, 32, 32), alpha=0.0)
    out_b = model(content, torch.rand(1, 3, 32, 32), alpha=0.0)
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(out_a, model.decoder(model.encoder(content)[-1]))


def test_encoder_is_fixed_and_only_the_decoder_learns() -> None:
    model = AdaINStyleTransfer(TINY)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.decoder.parameters())


def test_style_loss_is_zero_for_matching_statistics_and_positive_otherwise() -> None:
    feats = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
    shuffled = [f[:, :, torch.randperm(f.shape[2])][:, :, :, torch.randperm(f.shape[3])] for f in feats]
    assert style_loss(shuffled, feats).item() < 1e-6  # same statistics, different layout
    assert style_loss([f * 2 for f in feats], feats).item() > 0.1


def test_content_loss_targets_the_adain_output() -> None:
    t = torch.randn(1, 4, 3, 3)
    assert content_loss(t, t).item() == 0.0
    assert content_loss(t + 1, t).item() == 1.0
