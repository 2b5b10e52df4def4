"""StyleGAN (arXiv:1812.04948): the claims that define the paper."""

from __future__ import annotations

import math

import torch

from refimpl.adain import calc_mean_std
from refimpl.stylegan import (
    OFFICIAL,
    TINY,
    MappingNetwork,
    NoiseInjection,
    StyledLayer,
    StyleGANConfig,
    StyleGANGenerator,
    StyleModulation,
    SynthesisNetwork,
    style_mix,
    truncate,
)


def test_truncation_psi_zero_gives_the_mean_and_psi_one_is_identity(device: torch.device) -> None:
    w = torch.randn(4, 8, device=device)
    w_avg = torch.randn(8, device=device)
    torch.testing.assert_close(truncate(w, w_avg, 0.0), w_avg.expand(4, 8))
    torch.testing.assert_close(truncate(w, w_avg, 1.0), w)
    torch.testing.assert_close(truncate(w, w_avg, 0.5), (w + w_avg) / 2)


def test_truncation_only_touches_layers_before_the_cutoff() -> None:
    ws = torch.randn(2, 6, 4)
    out = truncate(ws, torch.zeros(4), 0.0, cutoff=2)
    torch.testing.assert_close(out[:, :2], torch.zeros(2, 2, 4))
    torch.testing.assert_close(out[:, 2:], ws[:, 2:])


def test_style_mixing_uses_w1_before_crossover_and_w2_after() -> None:
    w1, w2 = torch.randn(3, 5), torch.randn(3, 5)
    ws = style_mix(w1, w2, crossover=4, num_layers=10)
    assert ws.shape == (3, 10, 5)
    torch.testing.assert_close(ws[:, :4], w1[:, None].expand(3, 4, 5))
    torch.testing.assert_close(ws[:, 4:], w2[:, None].expand(3, 6, 5))


def test_mixing_changes_only_fine_layers_output_when_crossover_is_late() -> None:
    # With crossover at the last layer, z2 reaches only the final style: swapping z2
    # must change the image, and crossover = num_layers must ignore it.
    g = StyleGANGenerator(TINY).eval()
    z, za, zb = torch.randn(3, 1, TINY.z_dim).unbind(0)
    noises = [torch.zeros(s) for s in g.synthesis.noise_shapes(1)]
    n = TINY.num_layers
    torch.testing.assert_close(g(z, noises, z2=za, crossover=n), g(z, noises))
    assert not torch.allclose(g(z, noises, z2=za, crossover=n - 1), g(z, noises, z2=zb, crossover=n - 1))


def test_adain_modulation_sets_channel_statistics_to_the_style() -> None:
    mod = StyleModulation(w_dim=4, channels=3)
    x = torch.randn(2, 3, 8, 8) * 5 + 2
    w = torch.randn(2, 4)
    y_s, y_b = mod.affine(w).chunk(2, dim=1)
    out = mod(x, w)
    mean, std = calc_mean_std(out, eps=0.0)
    torch.testing.assert_close(mean.flatten(1), y_b, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(std.flatten(1), y_s.abs(), atol=1e-3, rtol=1e-3)


def test_noise_is_scaled_per_channel_and_starts_switched_off() -> None:
    inj = NoiseInjection(3)
    x, noise = torch.randn(2, 3, 4, 4), torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(inj(x, noise), x)  # zero-initialised scales
    with torch.no_grad():
        inj.weight.copy_(torch.tensor([0.0, 1.0, -2.0]))
    out = inj(x, noise)
    torch.testing.assert_close(out - x, torch.cat([0 * noise, noise, -2 * noise], dim=1))


def test_styled_layer_output_statistics_do_not_depend_on_the_input_scale() -> None:
    # AdaIN discards the incoming per-channel scale (a positive scale commutes with leaky ReLU).
    layer = StyledLayer(3, 3, 4, conv=False)
    x, w, noise = torch.randn(1, 3, 8, 8), torch.randn(1, 4), torch.zeros(1, 1, 8, 8)
    torch.testing.assert_close(layer(x, w, noise), layer(x * 3, w, noise), atol=1e-4, rtol=1e-4)


def test_synthesis_has_two_styles_per_resolution_and_renders_full_size() -> None:
    assert StyleGANConfig().num_layers == 18
    s = SynthesisNetwork(TINY)
    assert len(s.layers) == TINY.num_layers == 6
    ws = torch.randn(2, TINY.num_layers, TINY.w_dim)
    assert s(ws, [torch.randn(sh) for sh in s.noise_shapes(2)]).shape == (2, 3, 16, 16)


def test_w_avg_tracks_mapped_latents_in_training() -> None:
    g = StyleGANGenerator(TINY).train()
    z = torch.randn(4, TINY.z_dim)
    noises = [torch.zeros(s) for s in g.synthesis.noise_shapes(4)]
    g(z, noises)
    expected = (1 - TINY.w_avg_beta) * g.mapping(z).mean(0)
    torch.testing.assert_close(g.w_avg, expected)


def test_standard_mapping_network_parameter_count() -> None:
    mapping = MappingNetwork(StyleGANConfig())
    assert sum(p.numel() for p in mapping.parameters()) == 8 * (512 * 512 + 512) == 2_101_248
    assert mapping(torch.randn(2, 512)).shape == (2, 512)


def test_config_defaults_are_the_papers() -> None:
    c = StyleGANConfig()
    assert (c.z_dim, c.w_dim, c.mapping_layers) == (512, 512, 8)  # Sec. 2
    assert c.mapping_lr_mul == 0.01  # App. C: λ′ = 0.01 λ in the mapping network
    assert (c.resolution, c.fmap_base, c.fmap_max, c.img_channels) == (1024, 8192, 512, 3)  # FFHQ; code
    assert (c.truncation_psi, c.truncation_cutoff) == (0.7, 8)  # Sec. 3.3 / Fig. 8; code
    assert (c.w_avg_beta, c.mixing_prob) == (0.995, 0.9)  # code; Sec. 3.1
    assert c == OFFICIAL


def _f64(layer: torch.nn.Module) -> torch.nn.Module:
    return layer.double()


def test_mapping_layers_use_equalized_lr_with_multiplier_a_hundredth() -> None:
    # App. C and the authors' code (dense with use_wscale, lrmul 0.01): the stored weight starts at
    # N(0, 1/lrmul²) and is used as w · √2/√fan_in · lrmul; the bias is used as b · lrmul.
    torch.manual_seed(0)
    layer = MappingNetwork(StyleGANConfig()).layers[3]
    assert abs(layer.weight.std().item() / 100.0 - 1) < 0.01
    layer = _f64(MappingNetwork(TINY).layers[1])
    with torch.no_grad():
        layer.weight.copy_(torch.arange(64, dtype=torch.float64).reshape(8, 8) - 20)
        layer.bias.copy_(torch.arange(8, dtype=torch.float64) + 1)
    x = torch.linspace(-1, 2, 8, dtype=torch.float64)[None]
    w_eff = (torch.arange(64, dtype=torch.float64).reshape(8, 8) - 20) * (2**0.5 / 8**0.5) * 0.01
    expected = x @ w_eff.T + (torch.arange(8, dtype=torch.float64) + 1) * 0.01
    torch.testing.assert_close(layer(x), expected)


def test_style_affine_and_convolutions_scale_weights_at_run_time() -> None:
    # Affine A: gain 1 (style_mod in the authors' code), 1/√w_dim; 3×3 conv: √2/√(c_in·9); tRGB: 1/√c_in.
    mod = _f64(StyleModulation(w_dim=4, channels=3))
    with torch.no_grad():
        mod.affine.weight.fill_(1.0)
        mod.affine.bias.zero_()
    w = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    torch.testing.assert_close(mod.affine(w), torch.full((1, 6), 10.0 / 2.0, dtype=torch.float64))
    layer = _f64(StyledLayer(5, 2, 4))
    assert math.isclose(layer.conv.scale, math.sqrt(2) / math.sqrt(5 * 9), rel_tol=1e-15)
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
        layer.conv.bias.zero_()
    x = torch.ones(1, 5, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(layer.conv(x)[0, :, 1, 1], torch.full((2,), 45 * math.sqrt(2) / math.sqrt(45),
                                                                    dtype=torch.float64))
    synthesis = SynthesisNetwork(TINY)
    assert math.isclose(synthesis.to_rgb.scale, 1 / math.sqrt(synthesis.to_rgb.weight.shape[1]), rel_tol=1e-15)
