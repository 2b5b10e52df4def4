"""AdaIN (arXiv:1703.06868): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from refimpl.adain import (
    OFFICIAL,
    PYTORCH_PORT,
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


def test_standard_decoder_and_encoder_parameter_counts() -> None:
    # Instantiated from naoto0804/pytorch-AdaIN net.py (commit 47950d0e6656a95a80a4b105c4c0f58d38ef785c):
    # sum(p.numel() for p in decoder.parameters()) = 3,505,219; vgg children [:31] (to relu4_1) = 3,505,740.
    with torch.device("meta"):
        assert sum(p.numel() for p in AdaINDecoder(AdaINConfig().widths).parameters()) == 3_505_219
        assert sum(p.numel() for p in VGGEncoder(AdaINConfig().widths).parameters()) == 3_505_740


def test_config_defaults_are_the_papers() -> None:
    c = AdaINConfig()
    assert c.style_weight == 10.0  # Sec. 6.2: λ = 10
    assert c.eps == 1e-5  # ε of both released codes
    assert c.unbiased is False  # Eq. 6: 1/(HW) Σ (x − μ)²
    assert c.widths == (64, 128, 256, 512)  # VGG-19 relu1_1..relu4_1
    assert c == OFFICIAL and AdaINConfig(unbiased=True) == PYTORCH_PORT


# A 2-channel 2×2 content and style, small enough to do by hand.
_C = torch.arange(8.0).view(1, 2, 2, 2)
_S = torch.tensor([[[[1.0, 2.0], [4.0, 8.0]], [[0.0, 0.0], [0.0, 3.0]]]])


def _adain_float64(content: torch.Tensor, style: torch.Tensor, ddof: int, eps: float = 1e-5) -> torch.Tensor:
    # Independent of the module: numpy-style mean/var with ddof, in float64.
    def stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.double().flatten(2)
        mean = flat.mean(2, keepdim=True)
        var = ((flat - mean) ** 2).sum(2, keepdim=True) / (flat.shape[2] - ddof)
        return mean.unsqueeze(-1), (var + eps).sqrt().unsqueeze(-1)

    (cm, cs), (sm, ss) = stats(content), stats(style)
    return ((content.double() - cm) / cs * ss + sm).float()


def test_adain_of_a_small_tensor_uses_the_biased_variance_of_eq_6() -> None:
    out = adain(_C, _S)
    torch.testing.assert_close(out, _adain_float64(_C, _S, ddof=0))
    # Channel 0 by hand: content (0,1,2,3) → z = (−1.5,−0.5,0.5,1.5)/√1.25; style mean 3.75, std √7.1875.
    z = torch.tensor([-1.5, -0.5, 0.5, 1.5]) / (1.25 + 1e-5) ** 0.5
    torch.testing.assert_close(out[0, 0].flatten(), 3.75 + (7.1875 + 1e-5) ** 0.5 * z)


def test_pytorch_port_preset_reproduces_the_ports_numbers() -> None:
    # With equal sizes the ddof factor cancels in σ(y)/σ(x); a 2×3 style makes the variants differ.
    style = torch.tensor([[[[1.0, 2.0, 4.0], [8.0, 0.0, 1.0]], [[0.0, 0.0, 0.0], [0.0, 3.0, 1.0]]]])
    # naoto0804/pytorch-AdaIN function.adaptive_instance_normalization(_C, style), run at commit 47950d0e:
    port = torch.tensor([[[[-0.7538512, 1.5264941], [3.8068395, 6.0871849]],
                          [[-0.7404587, 0.1976249], [1.1357085, 2.0737920]]]])
    out = adain(_C, style, unbiased=True)
    torch.testing.assert_close(out, port, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out, _adain_float64(_C, style, ddof=1))
    torch.testing.assert_close(adain(_C, style), _adain_float64(_C, style, ddof=0))
    assert not torch.allclose(adain(_C, style), port, atol=1e-2)  # the two variants really differ here
    mean, std = calc_mean_std(_S, eps=0.0, unbiased=True)
    torch.testing.assert_close(std.flatten(), torch.tensor([(28.75 / 3) ** 0.5, (6.75 / 3) ** 0.5]))
    torch.testing.assert_close(mean.flatten(), torch.tensor([3.75, 0.75]))


def test_style_loss_uses_the_configured_variance() -> None:
    a, b = [_S], [_S * 0 + torch.tensor([1.0, 5.0]).view(1, 2, 1, 1)]  # b: constant, std √ε
    # Means (3.75, 0.75) vs (1, 5); stds √(σ²+ε) vs √ε, biased σ² = (7.1875, 1.6875).
    e = 1e-5
    mean_term = ((3.75 - 1) ** 2 + (0.75 - 5) ** 2) / 2
    biased = mean_term + (((7.1875 + e) ** 0.5 - e**0.5) ** 2 + ((1.6875 + e) ** 0.5 - e**0.5) ** 2) / 2
    unbiased = mean_term + (((28.75 / 3 + e) ** 0.5 - e**0.5) ** 2 + ((6.75 / 3 + e) ** 0.5 - e**0.5) ** 2) / 2
    torch.testing.assert_close(style_loss(a, b), torch.tensor(biased))
    torch.testing.assert_close(style_loss(a, b, unbiased=True), torch.tensor(unbiased))


class _StubEncoder(nn.Module):
    """Returns the input itself as the only (relu4_1) feature map: statistics known exactly."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x]


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_alpha_blends_content_features_with_the_adain_target(alpha: float) -> None:
    # Sec. 7.1: T(c, s, α) = g((1 − α) f(c) + α AdaIN(f(c), f(s))); g = identity exposes the blend.
    model = AdaINStyleTransfer(TINY, encoder=_StubEncoder())
    model.decoder = nn.Identity()
    content = torch.tensor([[[[0.0, 1.0], [2.0, 6.0]]]])
    style = torch.tensor([[[[10.0, 10.0], [14.0, 14.0]]]])
    t = _adain_float64(content, style, ddof=0)
    expected = (1 - alpha) * content + alpha * t
    torch.testing.assert_close(model(content, style, alpha=alpha), expected)
    if alpha == 1.0:
        mean, std = calc_mean_std(model(content, style, alpha=alpha), eps=0.0)
        torch.testing.assert_close(mean.flatten(), torch.tensor([12.0]))
        torch.testing.assert_close(std.flatten(), torch.tensor([2.0]), atol=1e-4, rtol=1e-4)
    if alpha == 0.0:
        torch.testing.assert_close(model(content, style, alpha=alpha), content)


def test_pytorch_port_config_reaches_the_network() -> None:
    model = AdaINStyleTransfer(PYTORCH_PORT, encoder=_StubEncoder())
    model.decoder = nn.Identity()
    style = _S.flatten(2)[..., :3].unsqueeze(2)  # 1×3: another pixel count than the content's 2×2
    torch.testing.assert_close(model(_C, style), _adain_float64(_C, style, ddof=1))
    assert not torch.allclose(model(_C, style), _adain_float64(_C, style, ddof=0), atol=1e-2)


def test_losses_wire_content_target_and_style_layers_exactly() -> None:
    # With g = identity and f = [x]: L_c = mse(t, t) = 0 and L_s compares t's and s's statistics.
    model = AdaINStyleTransfer(TINY, encoder=_StubEncoder())
    model.decoder = nn.Identity()
    lc, ls = model.losses(_C, _S)
    assert lc.item() == 0.0 and ls.item() < 1e-8  # AdaIN output carries the style's statistics

    class _Shift(nn.Module):
        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return t + 0.5

    model.decoder = _Shift()
    lc, ls = model.losses(_C, _S)
    torch.testing.assert_close(lc, torch.tensor(0.25))  # f(g(t)) − t = 0.5 everywhere
    torch.testing.assert_close(ls, torch.tensor(0.25), atol=1e-6, rtol=1e-5)  # means shift by 0.5, stds equal


def test_tiny_encoder_and_network_are_not_degenerate() -> None:
    # A random stand-in VGG must keep its relu4_1 features input-dependent, else end-to-end tests say nothing.
    torch.manual_seed(0)
    model = AdaINStyleTransfer(TINY)
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    fa, fb = model.encoder(a)[-1], model.encoder(b)[-1]
    assert ((fa - fb).abs().mean() / fa.abs().mean()) > 0.1
    out_1, out_2 = model(a, b), model(a, b.flip(-1) * 0.2)
    assert ((out_1 - out_2).abs().mean() / out_1.abs().mean()) > 0.01
    out_0 = model(a, b, alpha=0.0)
    assert ((out_0 - out_1).abs().mean() / out_1.abs().mean()) > 0.01


def test_encoder_pooling_keeps_odd_sizes_like_ceil_mode() -> None:
    feats = VGGEncoder(TINY.widths)(torch.rand(1, 3, 9, 9))
    assert [tuple(f.shape[-2:]) for f in feats] == [(9, 9), (5, 5), (3, 3), (2, 2)]
    assert isinstance(VGGEncoder(TINY.widths).slice1[0], nn.Conv2d) and VGGEncoder(TINY.widths).slice1[0].kernel_size == (1, 1)


def test_decoder_mirrors_the_encoder_with_nearest_upsampling_and_reflection_padding() -> None:
    dec = AdaINDecoder(TINY.widths)
    ups = [m for m in dec.layers if isinstance(m, nn.Upsample)]
    assert len(ups) == 3 and all(u.mode == "nearest" and u.scale_factor == 2 for u in ups)
    convs = [m for m in dec.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (16, 8), (8, 8), (8, 8), (8, 8), (8, 8), (8, 8), (8, 4), (4, 4), (4, 3)]
    assert all(c.padding == (0, 0) for c in convs)
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in dec.modules()) == len(convs)
    assert not isinstance(dec.layers[-1], nn.ReLU)  # unbounded output
    x = torch.randn(1, 16, 3, 5)
    assert dec(x).shape == (1, 3, 24, 40) and (dec(x) < 0).any()


def test_encoder_returns_relu1_1_to_relu4_1_with_vgg_widths_and_strides() -> None:
    feats = VGGEncoder(TINY.widths)(torch.rand(1, 3, 32, 32))
    assert [tuple(f.shape) for f in feats] == [(1, 4, 32, 32), (1, 8, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4)]
    big = VGGEncoder(AdaINConfig().widths)
    convs = [m for m in big.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [3, 64, 64, 128, 128, 256, 256, 256, 256, 512]
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


def test_style_loss_refuses_layer_lists_of_different_lengths() -> None:
    feats = [torch.randn(1, 2, 4, 4), torch.randn(1, 2, 2, 2)]
    with pytest.raises(ValueError):
        style_loss(feats, feats[:1])
