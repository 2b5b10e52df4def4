"""StyleSwin (arXiv:2112.10762): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.styleswin import (
    TINY,
    StyleSwinConfig,
    StyleSwinTransformerBlock,
    TokenAdaIN,
    WindowAttention,
    shifted_window_mask,
    sinusoidal_position_encoding,
    window_partition,
    window_reverse,
)


def test_window_partition_and_reverse_round_trip() -> None:
    x = torch.randn(2, 8, 12, 5)
    windows = window_partition(x, 4)
    assert windows.shape == (2 * 2 * 3, 16, 5)
    # the first window is the top-left 4 × 4 patch, row-major
    torch.testing.assert_close(windows[0].view(4, 4, 5), x[0, :4, :4])
    torch.testing.assert_close(window_reverse(windows, 4, 8, 12), x, rtol=0, atol=0)


def test_shift_mask_separates_regions_that_were_not_adjacent() -> None:
    mask = shifted_window_mask(8, 8, 4, 2)
    assert mask.shape == (4, 16, 16)
    assert (mask[0] == 0).all()  # the top-left window holds one contiguous region
    # bottom-right window after a shift of 2 holds four regions of 2 × 2 tokens each
    allowed = (mask[3] == 0).sum(dim=1)
    assert (allowed == 4).all()


def _dependencies(block: StyleSwinTransformerBlock, token: int, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    block.double_attention(x)[0, token].sum().backward()
    return (x.grad[0].abs().sum(dim=-1) > 0).view(block.resolution)


def test_regular_window_attention_stays_inside_its_window() -> None:
    # With the shift turned off both halves use the regular 2 × 2 grid of 4 × 4 windows.
    config = StyleSwinConfig(dim=8, num_heads=2, window_size=4, style_dim=4)
    block = StyleSwinTransformerBlock(config, resolution=(8, 8))
    block.shift = 0  # regular windows in both halves
    block.shift_mask = None
    token = 2 * 8 + 5  # row 2, column 5: the top-right window
    deps = _dependencies(block, token, torch.randn(1, 64, 8))
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[0:4, 4:8] = True
    assert torch.equal(deps, expected)


def test_double_attention_reaches_exactly_its_window_and_its_shifted_window(device: torch.device) -> None:
    # Sec. 3.2: one half of the heads sees the regular window, the other the shifted one.
    config = StyleSwinConfig(dim=8, num_heads=2, window_size=4, style_dim=4)
    block = StyleSwinTransformerBlock(config, resolution=(8, 8)).to(device)
    assert block.shift == 2
    x = torch.randn(1, 64, 8, device=device)
    for r, c in [(0, 0), (3, 5), (6, 1), (7, 7)]:
        deps = _dependencies(block, r * 8 + c, x).cpu()
        rows, cols = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
        same_window = (rows // 4 == r // 4) & (cols // 4 == c // 4)
        # shifted windows start at 2 + 4k; the wrapped border splits into separate regions
        same_shifted = ((rows - 2).div(4, rounding_mode="floor") == (r - 2) // 4) & (
            (cols - 2).div(4, rounding_mode="floor") == (c - 2) // 4
        )
        assert torch.equal(deps, same_window | same_shifted), (r, c)


def test_window_attention_of_constant_values_returns_them() -> None:
    # attention weights sum to one in each window, whatever the bias and the mask
    attn = WindowAttention(dim=4, window_size=2, num_heads=2)
    q, k = torch.randn(3, 4, 4), torch.randn(3, 4, 4)
    v = torch.ones(3, 4, 4) * 2.5
    torch.testing.assert_close(attn(q, k, v), v)


def test_token_adain_sets_channel_statistics_from_the_style(device: torch.device) -> None:
    norm = TokenAdaIN(dim=6, style_dim=3, eps=0.0).to(device)
    x = torch.randn(2, 20, 6, device=device) * 4 + 3
    w = torch.randn(2, 3, device=device)
    out = norm(x, w)
    gamma, beta = norm.style(w).chunk(2, dim=-1)
    torch.testing.assert_close(out.mean(dim=1), beta, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.std(dim=1, unbiased=False), gamma.abs(), atol=1e-4, rtol=1e-4)


def test_style_changes_the_block_output() -> None:
    block = StyleSwinTransformerBlock(TINY, resolution=(8, 8))
    x = torch.randn(1, 64, TINY.dim)
    w = torch.randn(1, TINY.style_dim)
    torch.testing.assert_close(block(x, w), block(x, w.clone()))
    assert (block(x, w) - block(x, w + 1)).abs().max() > 1e-3


def test_sinusoidal_encoding_closed_form_and_relative_offsets() -> None:
    pe = sinusoidal_position_encoding(4, 6, 16).view(4, 6, 16)
    # channel 0/1 of the column half: sin(c), cos(c) with ω₀ = 1
    torch.testing.assert_close(pe[2, :, 0], torch.sin(torch.arange(6.0)))
    torch.testing.assert_close(pe[2, :, 1], torch.cos(torch.arange(6.0)))
    torch.testing.assert_close(pe[:, 3, 8], torch.sin(torch.arange(4.0)))  # row half
    # ⟨PE(p), PE(p + k)⟩ depends only on k: SPE encodes relative position
    cols = pe[0, :, :8]
    dots = (cols[:-2] * cols[2:]).sum(-1)
    torch.testing.assert_close(dots, dots[:1].expand_as(dots), atol=1e-5, rtol=1e-5)


def test_standard_block_parameter_count() -> None:
    # Sum over the official block's layers (module docstring).
    block = StyleSwinTransformerBlock(StyleSwinConfig(), resolution=(16, 16))
    assert sum(p.numel() for p in block.parameters()) == 4_204_560


def test_rectangular_windows_round_trip_and_mask_shape() -> None:
    # used by EDT's horizontal / vertical windows
    x = torch.randn(1, 6, 8, 3)
    windows = window_partition(x, (2, 4))
    torch.testing.assert_close(windows[1].view(2, 4, 3), x[0, 0:2, 4:8])
    torch.testing.assert_close(window_reverse(windows, (2, 4), 6, 8), x, rtol=0, atol=0)
    assert shifted_window_mask(6, 8, (2, 4), (1, 2)).shape == (6, 8, 8)
