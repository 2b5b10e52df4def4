"""StyleSwin (arXiv:2112.10762): the claims that define the paper."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from refimpl.styleswin import (
    OFFICIAL,
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


@pytest.mark.parametrize(("res", "window"), [((8, 8), 4), ((4, 6), 2)])
def test_double_attention_reaches_exactly_its_window_and_its_shifted_window(
        device: torch.device, res: tuple[int, int], window: int) -> None:
    # Sec. 3.2: one half of the heads sees the regular window, the other the one shifted by K/2.
    config = StyleSwinConfig(dim=8, num_heads=2, window_size=window, style_dim=4)
    block = StyleSwinTransformerBlock(config, resolution=res).to(device)
    s = window // 2
    assert block.shift == s
    h, w = res
    x = torch.randn(1, h * w, 8, device=device)
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    for r, c in [(0, 0), (h // 2 - 1, w - 1), (h - 1, 1), (h - 1, w - 1), (1, w // 2)]:
        x_ = x.clone().requires_grad_(True)
        block.double_attention(x_)[0, r * w + c].sum().backward()
        deps = (x_.grad[0].abs().sum(dim=-1) > 0).view(h, w).cpu()
        same_window = (rows // window == r // window) & (cols // window == c // window)
        # shifted windows start at s + K·m; the wrapped border splits into separate regions
        same_shifted = ((rows - s).div(window, rounding_mode="floor") == (r - s) // window) & (
            (cols - s).div(window, rounding_mode="floor") == (c - s) // window
        )
        assert torch.equal(deps, same_window | same_shifted), (r, c)


def test_each_attention_serves_its_own_half_of_the_channels() -> None:
    # Perturbing the regular-window attention changes only the first C/2 channels before proj, and vice versa.
    torch.manual_seed(0)
    block = StyleSwinTransformerBlock(TINY, resolution=(8, 8))
    block.proj = torch.nn.Identity()
    x = torch.randn(2, 64, TINY.dim)
    half = TINY.dim // 2
    base = block.double_attention(x)
    for i in (0, 1):
        with torch.no_grad():
            block.attn[i].relative_position_bias_table.add_(torch.randn_like(block.attn[i].relative_position_bias_table))
        out = block.double_attention(x)
        changed, kept = (slice(0, half), slice(half, None)) if i == 0 else (slice(half, None), slice(0, half))
        assert (out[..., changed] - base[..., changed]).abs().max() > 1e-3
        torch.testing.assert_close(out[..., kept], base[..., kept], rtol=0, atol=0)
        base = out


@pytest.mark.parametrize(("h", "w"), [(8, 12), (12, 8)])
def test_shift_mask_allows_exactly_the_pairs_that_were_neighbours(h: int, w: int) -> None:
    # Independent of the region labels: after rolling by −s, a token at (r, c) came from ((r + s) % H, (c + s) % W);
    # two tokens of one window may attend iff their original rows and columns are less than K apart (no wrap).
    k, s = 4, 2
    mask = shifted_window_mask(h, w, k, s)
    assert mask.shape == ((h // k) * (w // k), k * k, k * k)
    assert set(mask.unique().tolist()) == {0.0, float("-inf")}
    for wi in range(mask.shape[0]):
        r0, c0 = (wi // (w // k)) * k, (wi % (w // k)) * k
        orig = [(((r0 + i // k) + s) % h, ((c0 + i % k) + s) % w) for i in range(k * k)]
        allowed = torch.tensor([[abs(a[0] - b[0]) < k and abs(a[1] - b[1]) < k for b in orig] for a in orig])
        assert torch.equal(mask[wi] == 0, allowed), wi


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


# Facts from the official SPE: microsoft/StyleSwin @ a7c28b3121ca86f0577696d6f1d699e13d368672,
# models/basic_layers.py, SinusoidalPositionalEmbedding(embedding_dim=8, padding_idx=0).make_grid2d(3, 4):
# the 16 channels at row 1, column 2 (x position 3, y position 2).
OFFICIAL_SPE_ROW1_COL2 = [0.14112000167369843, 0.13879810273647308, 0.006463258992880583, 0.0002999999560415745,
                          -0.9899924993515015, 0.9903206825256348, 0.9999791383743286, 0.9999999403953552,
                          0.9092974066734314, 0.09269850701093674, 0.004308856092393398, 0.0001999999803956598,
                          -0.416146844625473, 0.9956942200660706, 0.999990701675415, 1.0]


def test_sinusoidal_encoding_matches_the_official_spe() -> None:
    pe = sinusoidal_position_encoding(3, 4, 16).view(3, 4, 16)
    torch.testing.assert_close(pe[1, 2], torch.tensor(OFFICIAL_SPE_ROW1_COL2), atol=1e-6, rtol=1e-5)
    # closed form, float64: column half [sin(p ω), cos(p ω)], ω_i = 10000^(−i/3), p = column + 1
    omega = 10000.0 ** (-torch.arange(4, dtype=torch.float64) / 3)
    for c in range(4):
        angles = (c + 1) * omega
        torch.testing.assert_close(pe[0, c, :8].double(), torch.cat([angles.sin(), angles.cos()]),
                                   atol=1e-6, rtol=1e-6)
    for r in range(3):  # the row half depends on the row only
        angles = (r + 1) * omega
        torch.testing.assert_close(pe[r, 3, 8:].double(), torch.cat([angles.sin(), angles.cos()]),
                                   atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(pe[r, 0, 8:], pe[r, 3, 8:])


def test_sinusoidal_encoding_dot_products_depend_only_on_the_offset() -> None:
    cols = sinusoidal_position_encoding(1, 9, 32)[:, :16]  # (9, 16)
    dots = (cols[:-3] * cols[3:]).sum(-1)
    torch.testing.assert_close(dots, dots[:1].expand_as(dots), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="dim >= 8"):
        sinusoidal_position_encoding(2, 2, 4)


def test_config_defaults_are_the_official_generators() -> None:
    c = StyleSwinConfig()
    assert c.dim == 512  # generator.py: in_channels 512 at 4²…32²
    assert c.num_heads == 16  # generator.py: max(512 // 32, 4)
    assert c.window_size == 8  # Sec. 4.1 / generator.py: window 8
    assert c.mlp_ratio == 4.0  # generator.py: mlp_ratio=4
    assert c.style_dim == 512  # Generator(size, style_dim=512)
    assert c.eps == 1e-5  # nn.InstanceNorm1d default
    assert dataclasses.asdict(OFFICIAL) == dataclasses.asdict(c)


def test_standard_block_parameter_count() -> None:
    # microsoft/StyleSwin @ a7c28b3121ca86f0577696d6f1d699e13d368672, models/generator.py:
    # StyleSwinTransformerBlock(512, (16, 16), 16, window_size=8, style_dim=512) has 4,204,560 parameters
    # (instantiated); the same at (8, 8), where its shift is 0 and its window 8.
    for res, shift in (((16, 16), 4), ((8, 8), 0)):
        block = StyleSwinTransformerBlock(OFFICIAL, resolution=res)
        assert sum(p.numel() for p in block.parameters()) == 4_204_560
        assert (block.window_size, block.shift) == (8, shift)
    assert StyleSwinTransformerBlock(OFFICIAL, resolution=(4, 4)).window_size == 4  # one window at 4²
    block = StyleSwinTransformerBlock(OFFICIAL, resolution=(16, 16))
    assert [a.num_heads for a in block.attn] == [8, 8]  # half of the heads each
    assert block.attn[0].relative_position_bias_table.shape == (225, 8)
    assert block.mlp.fc1.out_features == 2048


def test_window_attention_matches_a_float64_reference_with_relative_bias() -> None:
    # A 2 × 2 window, two heads: logits q·k/√d + B[Δrow + 1, Δcol + 1] (table index (Δr + 1)·3 + (Δc + 1)).
    torch.manual_seed(1)
    attn = WindowAttention(dim=4, window_size=2, num_heads=2)
    with torch.no_grad():
        attn.relative_position_bias_table.copy_(torch.arange(18.0).view(9, 2) * 0.1)
    q, k, v = torch.randn(3, 4, 4), torch.randn(3, 4, 4), torch.randn(3, 4, 4)
    pos = [(0, 0), (0, 1), (1, 0), (1, 1)]
    table = attn.relative_position_bias_table.detach().double()

    def reference(mask: torch.Tensor) -> torch.Tensor:
        expected = torch.zeros(3, 4, 4, dtype=torch.float64)
        for h in range(2):
            sl = slice(2 * h, 2 * h + 2)
            logits = q[..., sl].double() @ k[..., sl].double().transpose(1, 2) / math.sqrt(2)
            bias = torch.tensor([[table[(pi[0] - pj[0] + 1) * 3 + (pi[1] - pj[1] + 1), h].item() for pj in pos]
                                 for pi in pos], dtype=torch.float64)
            expected[..., sl] = (logits + bias + mask.double()).softmax(-1) @ v[..., sl].double()
        return expected

    torch.testing.assert_close(attn(q, k, v).double(), reference(torch.zeros(4, 4)), atol=1e-5, rtol=1e-5)
    # a per-window mask: window 1 of 3 (mask[1]) may not attend to key 3
    mask = torch.zeros(3, 4, 4)
    mask[1, :, 3] = float("-inf")
    out = attn(q, k, v, mask).double()
    torch.testing.assert_close(out[1], reference(mask[1])[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[[0, 2]], reference(torch.zeros(4, 4))[[0, 2]], atol=1e-5, rtol=1e-5)


def test_token_adain_is_instance_norm_with_biased_variance() -> None:
    # Official AdaptiveInstanceNorm: nn.InstanceNorm1d (biased variance, eps 1e-5) on (B, C, L), then γ·x̂ + β.
    norm = TokenAdaIN(dim=3, style_dim=2)
    x = torch.tensor([[[1.0, -2.0, 0.5], [3.0, 0.0, 1.5], [-1.0, 4.0, 2.0]]])  # (1, L=3, C=3)
    w = torch.tensor([[0.3, -0.7]])
    gamma, beta = norm.style(w).unsqueeze(1).chunk(2, dim=-1)
    expected = gamma * F.instance_norm(x.transpose(1, 2), eps=1e-5).transpose(1, 2) + beta
    torch.testing.assert_close(norm(x, w), expected, atol=1e-6, rtol=1e-6)
    # by hand for channel 0: values 1, 3, −1 → mean 1, biased var 8/3
    x_hat = (torch.tensor([1.0, 3.0, -1.0]) - 1) / math.sqrt(8 / 3 + 1e-5)
    torch.testing.assert_close(norm(x, w)[0, :, 0], gamma[0, 0, 0] * x_hat + beta[0, 0, 0], atol=1e-6, rtol=1e-6)


def test_block_is_pre_norm_residual_with_separate_style_maps() -> None:
    # x + DA(AdaIN₁(x, w)), then + MLP(AdaIN₂(·, w)); with the MLP's last layer zeroed only the attention remains.
    torch.manual_seed(0)
    block = StyleSwinTransformerBlock(TINY, resolution=(8, 8))
    x, w = torch.randn(2, 64, TINY.dim), torch.randn(2, TINY.style_dim)
    torch.nn.init.zeros_(block.mlp.fc2.weight)
    torch.nn.init.zeros_(block.mlp.fc2.bias)
    torch.testing.assert_close(block(x, w), x + block.double_attention(block.norm1(x, w)))
    torch.manual_seed(0)
    block = StyleSwinTransformerBlock(TINY, resolution=(8, 8))
    torch.nn.init.zeros_(block.proj.weight)
    torch.nn.init.zeros_(block.proj.bias)
    torch.testing.assert_close(block(x, w), x + block.mlp(block.norm2(x, w)))
    assert block.norm1.style is not block.norm2.style
    h = torch.randn(2, 64, TINY.dim)
    assert (block.mlp(h) - block.mlp.fc2(F.gelu(block.mlp.fc1(h)))).abs().max() == 0


def test_rectangular_windows_round_trip_and_mask_shape() -> None:
    # used by EDT's horizontal / vertical windows
    x = torch.randn(1, 6, 8, 3)
    windows = window_partition(x, (2, 4))
    torch.testing.assert_close(windows[1].view(2, 4, 3), x[0, 0:2, 4:8])
    torch.testing.assert_close(window_reverse(windows, (2, 4), 6, 8), x, rtol=0, atol=0)
    assert shifted_window_mask(6, 8, (2, 4), (1, 2)).shape == (6, 8, 8)


def test_shift_state_and_saved_state() -> None:
    block = StyleSwinTransformerBlock(TINY, resolution=(4, 4))  # one 4 × 4 window: no shift, no mask
    assert block.shift == 0 and block.shift_mask is None
    assert StyleSwinTransformerBlock().resolution == (8, 8)
    block = StyleSwinTransformerBlock(TINY, resolution=(8, 8))
    # the relative index and the mask are derived from the shape, not saved
    assert set(block.state_dict()) == {n for n, _ in block.named_parameters()}
    # relative-position tables start as N(0, 0.02²) (official: trunc_normal_(std=.02))
    table = WindowAttention(dim=512, window_size=8, num_heads=8).relative_position_bias_table
    assert 0.017 < table.std().item() < 0.023
    assert sinusoidal_position_encoding(2, 2, 8).shape == (4, 8)  # two frequencies per axis suffice


def test_non_square_maps_follow_the_smaller_side() -> None:
    # generator.py: if min(resolution) <= window, the window shrinks to min(resolution) and the shift is 0
    config = StyleSwinConfig(dim=8, num_heads=2, window_size=8, style_dim=4)
    block = StyleSwinTransformerBlock(config, resolution=(4, 16))  # only the smaller side fits in one window
    assert (block.window_size, block.shift) == (4, 0)
    assert block(torch.randn(2, 64, 8), torch.randn(2, 4)).shape == (2, 64, 8)
    block = StyleSwinTransformerBlock(dataclasses.replace(config, window_size=4), resolution=(4, 8))
    assert (block.window_size, block.shift) == (4, 0) and block.shift_mask is None
