"""Positional encoding as spatial inductive bias in GANs (arXiv:2012.05217)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from refimpl.positional_encoding_gan import (
    OFFICIAL,
    TINY,
    AddPositionalEncoding,
    PEGANConfig,
    PEGenerator,
    cartesian_grid,
    sinusoidal_encoding,
)


def test_channel_counts(device: torch.device) -> None:
    x = torch.randn(2, 5, 6, 7, device=device)
    assert AddPositionalEncoding("cartesian")(x).shape == (2, 7, 6, 7)
    assert AddPositionalEncoding("sinusoidal", dim=8)(x).shape == (2, 13, 6, 7)
    assert sinusoidal_encoding(4, 4, 512).shape == (1, 512, 4, 4)
    with pytest.raises(ValueError):
        sinusoidal_encoding(4, 4, 6)


def test_cartesian_grid_values() -> None:
    grid = cartesian_grid(3, 5)
    torch.testing.assert_close(grid[0, 0, 0], torch.linspace(-1, 1, 5))  # x varies along width
    torch.testing.assert_close(grid[0, 1, :, 0], torch.linspace(-1, 1, 3))  # y along height
    assert (grid[0, 0] == grid[0, 0, :1]).all()


def test_sinusoidal_encoding_extends_outward_on_larger_canvases() -> None:
    small, large = sinusoidal_encoding(8, 8, 16), sinusoidal_encoding(16, 16, 16)
    torch.testing.assert_close(large[..., 4:12, 4:12], small)


def test_sinusoidal_shift_is_a_fixed_rotation_of_the_encoding() -> None:
    # sin/cos of (p + δ)ω is a rotation of (sin pω, cos pω) by δω: relative offsets are linear in the encoding.
    enc = sinusoidal_encoding(1, 12, 8)[0, :4, 0]  # x-part: 2 sin, 2 cos channels over 12 positions
    half = 2
    freqs = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(half) / half)
    delta = 3
    s, c = enc[:half], enc[half:]
    s_shift = s[:, :-delta] * torch.cos(delta * freqs)[:, None] + c[:, :-delta] * torch.sin(delta * freqs)[:, None]
    torch.testing.assert_close(s_shift, s[:, delta:], atol=1e-5, rtol=1e-5)


def test_encoding_breaks_translation_equivariance() -> None:
    # A conv with circular padding commutes with circular shifts; concatenating the grid breaks that,
    # which is exactly what lets the generator place content by absolute position.
    torch.manual_seed(0)
    conv_plain = nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular")
    conv_pe = nn.Conv2d(5, 4, 3, padding=1, padding_mode="circular")
    add = AddPositionalEncoding("cartesian")
    x = torch.randn(1, 3, 8, 8)
    shift = lambda t: torch.roll(t, shifts=(2, 3), dims=(2, 3))  # noqa: E731
    torch.testing.assert_close(conv_plain(shift(x)), shift(conv_plain(x)), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(conv_pe(add(shift(x))), shift(conv_pe(add(x))), atol=1e-3)
    # A spatially constant input gives a spatially varying output only with the encoding.
    const = torch.ones(1, 3, 8, 8)
    assert conv_plain(const).std(dim=(2, 3)).max() < 1e-5
    assert conv_pe(add(const)).std(dim=(2, 3)).min() > 1e-3


def test_one_generator_renders_several_sizes() -> None:
    g = PEGenerator(TINY)
    z = torch.randn(1, TINY.latent_dim)
    assert g(z).shape == (1, 3, 16, 16)
    assert g(z, size=8).shape == (1, 3, 32, 32)
    assert g(z, size=6).shape == (1, 3, 24, 24)


# ------------------------------------------------------------------ paper defaults and the official preset
def test_config_defaults_follow_stylegan2_and_the_paper() -> None:
    # Sec. 5: SPE replaces StyleGAN2's 512-channel 4×4 constant input; StyleGAN2's latent and 4-32 px widths
    # are 512; RGB output; Fig. 4(d): the SPE space grows around its centre; Transformer frequencies.
    assert PEGANConfig() == PEGANConfig(spe_dim=512, base_size=4, latent_dim=512, channels=512, num_ups=3,
                                        img_channels=3, spe_centred=True, spe_div_half_dim=True)
    # MS-PIE config-f (open-mmlab/mmgeneration@ccd1f56, configs/positional_encoding_in_gans/
    # mspie-stylegan2_c2_config-f_ffhq_256-512_b3x8_1100k.py): SPE(embedding_dim=256) per axis, out_size=256.
    assert PEGANConfig(num_ups=6, spe_centred=False, spe_div_half_dim=False) == OFFICIAL


def test_official_preset_renders_the_ms_pie_scales_and_counts_its_parameters() -> None:
    # Head grids 4, 6 and 8 (multi_input_scales=[0, 2, 4]) give 256, 384 and 512 pixels; a narrow copy of
    # the preset keeps this quick (the widths do not change the sizes).
    narrow = PEGenerator(replace(OFFICIAL, channels=2, latent_dim=3))
    z = torch.randn(1, 3)
    assert [tuple(narrow(z, size=s).shape) for s in (4, 6, 8)] == [(1, 3, 256, 256), (1, 3, 384, 384),
                                                                    (1, 3, 512, 512)]
    with torch.device("meta"):
        g = PEGenerator(OFFICIAL)
    c = 512
    by_hand = 2 * (c * c + c) + 6 * ((c + 2) * c * 9 + c + c * c * 9 + c) + c * 3 + 3  # inp, style, 6 blocks, toRGB
    assert sum(p.numel() for p in g.parameters()) == by_hand == 28_899_843


def test_official_spe_numbers_positions_from_the_corner_with_d_half_minus_one_frequencies() -> None:
    # Values of SinusoidalPositionalEmbedding(256, padding_idx=0, init_size=256, center_shift=100).make_grid2d(4, 4)
    # from open-mmlab/mmgeneration@ccd1f56, mmgen/models/architectures/positional_encoding.py: row 2 across x.
    enc = sinusoidal_encoding(4, 4, 512, centred=False, div_half_dim=False)
    official = {
        1: [0.8016468, 0.9584457, 0.3442668, -0.5468416],
        64: [0.0096437, 0.0192866, 0.0289276, 0.038566],
        127: [0.0001, 0.0002, 0.0003, 0.0004],
        128: [0.5403023, -0.4161468, -0.9899925, -0.6536436],
        200: [0.9999855, 0.9999417, 0.9998689, 0.9997668],
    }
    for ch, row in official.items():
        torch.testing.assert_close(enc[0, ch, 2], torch.tensor(row), atol=2e-6, rtol=0)
    # y channels vary down the column: channel 256 + 130 at x = 3.
    torch.testing.assert_close(enc[0, 386, :, 3], torch.tensor([0.6486526, -0.1584997, -0.854275, -0.9497557]),
                               atol=2e-6, rtol=0)
    torch.testing.assert_close(enc[0, 257, :, 1], torch.tensor([0.8016468, 0.9584457, 0.3442668, -0.5468416]),
                               atol=2e-6, rtol=0)
    # SinGAN "SPE-dim4" (embedding_dim=4 per axis, 8 channels): frequencies 1 and 1e-4, positions 1..5.
    small = sinusoidal_encoding(3, 5, 8, centred=False, div_half_dim=False)[0, :, 1]
    p = torch.arange(1, 6, dtype=torch.float64)
    torch.testing.assert_close(small[:4].double(), torch.stack([p.sin(), (1e-4 * p).sin(), p.cos(), (1e-4 * p).cos()]),
                               atol=1e-6, rtol=0)
    q = torch.tensor([2.0, 2e-4], dtype=torch.float64)  # row 1 is y = 2
    torch.testing.assert_close(small[4:].double(), torch.cat([q.sin(), q.cos()])[:, None].expand(4, 5),
                               atol=1e-6, rtol=0)
    # The official layout on a larger canvas extends to the right and bottom: the top-left block repeats.
    big = sinusoidal_encoding(6, 6, 16, centred=False, div_half_dim=False)
    torch.testing.assert_close(big[..., :4, :4], sinusoidal_encoding(4, 4, 16, centred=False, div_half_dim=False))
    with pytest.raises(ValueError):
        sinusoidal_encoding(2, 2, 4, div_half_dim=False)  # one frequency per axis: d/2 − 1 = 0


def test_paper_spe_values_by_hand_on_a_non_square_canvas() -> None:
    # dim = 16: 8 channels per axis, 4 frequencies 10000^{-i/4} = 1, 0.1, 0.01, 0.001; positions p − N // 2.
    enc = sinusoidal_encoding(3, 6, 16).double()
    assert enc.shape == (1, 16, 3, 6)
    freqs = torch.tensor([1.0, 0.1, 0.01, 0.001], dtype=torch.float64)
    px = torch.arange(6, dtype=torch.float64) - 3  # −3 … 2
    py = torch.arange(3, dtype=torch.float64) - 1  # −1 … 1
    ax, ay = freqs[:, None] * px, freqs[:, None] * py
    torch.testing.assert_close(enc[0, :8, 1], torch.cat([ax.sin(), ax.cos()]), atol=1e-6, rtol=0)
    torch.testing.assert_close(enc[0, 8:, :, 4], torch.cat([ay.sin(), ay.cos()]), atol=1e-6, rtol=0)
    assert (enc[0, :8] == enc[0, :8, :1]).all() and (enc[0, 8:] == enc[0, 8:, :, :1]).all()
    # The same frequencies without centring number 1…N.
    ax1 = freqs[:, None] * torch.arange(1, 7, dtype=torch.float64)
    torch.testing.assert_close(sinusoidal_encoding(3, 6, 16, centred=False)[0, :8, 0].double(),
                               torch.cat([ax1.sin(), ax1.cos()]), atol=1e-6, rtol=0)


def test_add_positional_encoding_appends_the_encoding_after_the_features() -> None:
    x = torch.randn(2, 3, 4, 5)
    out = AddPositionalEncoding("cartesian")(x)
    torch.testing.assert_close(out[:, :3], x)
    torch.testing.assert_close(out[:, 3:], cartesian_grid(4, 5).expand(2, -1, -1, -1))
    spe = AddPositionalEncoding("sinusoidal", dim=8, centred=False, div_half_dim=False)(x)
    assert spe.shape == (2, 11, 4, 5)
    torch.testing.assert_close(spe[:, 3:], sinusoidal_encoding(4, 5, 8, centred=False, div_half_dim=False)
                               .expand(2, -1, -1, -1))
    torch.testing.assert_close(AddPositionalEncoding("sinusoidal", dim=8)(x)[:, 3:],
                               sinusoidal_encoding(4, 5, 8).expand(2, -1, -1, -1))
    assert AddPositionalEncoding("sinusoidal", dim=8).dim == 8 and AddPositionalEncoding("cartesian", dim=8).dim == 2
    with pytest.raises(ValueError):
        AddPositionalEncoding("learned")
    with pytest.raises(ValueError, match="dim"):
        AddPositionalEncoding("sinusoidal")


def test_spe_base_is_ten_thousand_far_from_the_centre() -> None:
    # dim = 8: frequencies 10000^0 = 1 and 10000^{-1/2} = 0.01; at p = ±1000 the slow pair turns by ±10 rad,
    # where a base off by one part in 10⁴ would already move sin by ~4e-4.
    enc = sinusoidal_encoding(1, 2001, 8)[0, :, 0].double()
    for col, p in ((0, -1000.0), (2000, 1000.0), (1700, 700.0)):
        expected = torch.tensor([math.sin(p), math.sin(0.01 * p), math.cos(p), math.cos(0.01 * p)],
                                dtype=torch.float64)
        torch.testing.assert_close(enc[:4, col], expected, atol=5e-5, rtol=0)
    official = sinusoidal_encoding(1, 1000, 16, centred=False, div_half_dim=False)[0, :8, 0, 999].double()
    freqs = torch.tensor([1.0, 10000 ** (-1 / 3), 10000 ** (-2 / 3), 1e-4], dtype=torch.float64)  # d/2 − 1 = 3
    torch.testing.assert_close(official, torch.cat([(1000 * freqs).sin(), (1000 * freqs).cos()]), atol=5e-5, rtol=0)


def test_cartesian_grid_on_a_non_square_canvas_by_hand() -> None:
    # Official CatersianGrid.make_grid2d(3, 5): x = 2j/(W−1) − 1, y = 2i/(H−1) − 1 (grid_sample convention).
    grid = cartesian_grid(3, 5)
    assert grid.shape == (1, 2, 3, 5)
    torch.testing.assert_close(grid[0, 0, 2], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    torch.testing.assert_close(grid[0, 1, :, 4], torch.tensor([-1.0, 0.0, 1.0]))


def test_generator_forward_matches_the_described_wiring() -> None:
    # Spelled out from the description: SPE through a 1×1 conv plus a latent bias; per block bilinear ×2
    # (align_corners), replicate-pad 2, concatenate the grid, 3×3 conv, lrelu 0.2, 3×3 conv, lrelu 0.2; 1×1 toRGB.
    torch.manual_seed(0)
    cfg = PEGANConfig(spe_dim=8, latent_dim=5, channels=6, num_ups=2, img_channels=3)
    g = PEGenerator(cfg)
    z = torch.randn(2, 5)
    x = nn.functional.conv2d(sinusoidal_encoding(6, 6, 8), g.inp.weight, g.inp.bias)
    x = x + (z @ g.style.weight.T + g.style.bias)[:, :, None, None]
    for conv1, conv2 in g.blocks:
        x = nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        x = nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
        x = torch.cat([x, cartesian_grid(x.shape[2], x.shape[3]).expand(2, -1, -1, -1)], dim=1)
        x = nn.functional.leaky_relu(nn.functional.conv2d(x, conv1.weight, conv1.bias), 0.2)
        x = nn.functional.leaky_relu(nn.functional.conv2d(x, conv2.weight, conv2.bias), 0.2)
    expected = nn.functional.conv2d(x, g.to_rgb.weight, g.to_rgb.bias)
    out = g(z, size=6)
    assert out.shape == (2, 3, 24, 24)
    torch.testing.assert_close(out, expected)
    assert [tuple(c.weight.shape[1:]) for c in g.blocks[0]] == [(8, 3, 3), (6, 3, 3)]
    assert tuple(g.inp.weight.shape) == (6, 8, 1, 1) and tuple(g.to_rgb.weight.shape) == (3, 6, 1, 1)


def test_generator_uses_its_spe_settings_and_depends_on_the_latent() -> None:
    torch.manual_seed(0)
    official_like = PEGenerator(PEGANConfig(spe_dim=8, latent_dim=4, channels=4, num_ups=1, spe_centred=False,
                                            spe_div_half_dim=False))
    paper_like = PEGenerator(PEGANConfig(spe_dim=8, latent_dim=4, channels=4, num_ups=1))
    paper_like.load_state_dict(official_like.state_dict())
    z = torch.randn(2, 4)
    assert not torch.allclose(official_like(z), paper_like(z), atol=1e-4)
    out = official_like(z)
    assert (out[0] - out[1]).abs().max() > 1e-4  # different latents, different images
