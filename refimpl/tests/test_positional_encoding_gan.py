"""Positional encoding as spatial inductive bias in GANs (arXiv:2012.05217)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from refimpl.positional_encoding_gan import (
    TINY,
    AddPositionalEncoding,
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
