"""The Nuts and Bolts of Adopting Transformer in GANs (arXiv:2110.13107): the claims that define the paper."""

from __future__ import annotations

import math

import torch
from torch import nn

from refimpl.transformer_gan import (
    TINY,
    SelfModulatedLayerNorm,
    STransBlock,
    STransConfig,
    STransGenerator,
    mean_attention_distance,
)


def _block(**kw: object) -> STransBlock:
    return STransBlock(8, 4, resolution=(8, 8), num_heads=2, window_size=4, **kw)


def _dependencies(block: STransBlock, token: int) -> torch.Tensor:
    x = torch.randn(1, 64, 8, requires_grad=True)
    block(x, torch.randn(1, 4))[0, token].sum().backward()
    return (x.grad[0].abs().sum(-1) > 0).view(8, 8)


def test_block_is_local_each_token_sees_only_its_window(device: torch.device) -> None:
    # Sec. 3, locality: with per-token SLN the whole block reads only the query's window.
    block = _block().to(device)
    x = torch.randn(1, 64, 8, device=device, requires_grad=True)
    block(x, torch.randn(1, 4, device=device))[0, 5 * 8 + 2].sum().backward()
    deps = (x.grad[0].abs().sum(-1) > 0).view(8, 8).cpu()
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[4:8, 0:4] = True
    assert torch.equal(deps, expected)


def test_shifted_block_windows_start_at_half_a_window() -> None:
    deps = _dependencies(_block(shifted=True), 3 * 8 + 3)  # row 3, col 3 → shifted window rows/cols 2..5
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[2:6, 2:6] = True
    assert torch.equal(deps, expected)
    corner = _dependencies(_block(shifted=True), 0)  # the wrapped corner keeps to its own 2 × 2 region
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[0:2, 0:2] = True
    assert torch.equal(corner, expected)


def test_attention_residual_switch_removes_only_the_attention_shortcut() -> None:
    # Sec. 4: with a zero attention output, the residual block passes x on; the residual-free one drops it.
    with_res, without = _block(attention_residual=True), _block(attention_residual=False)
    without.load_state_dict(with_res.state_dict())
    for block in (with_res, without):
        nn.init.zeros_(block.proj.weight)
        nn.init.zeros_(block.proj.bias)
        nn.init.zeros_(block.mlp.fc2.weight)
        nn.init.zeros_(block.mlp.fc2.bias)
    x, z = torch.randn(2, 64, 8), torch.randn(2, 4)
    torch.testing.assert_close(with_res(x, z), x)
    torch.testing.assert_close(without(x, z), torch.zeros_like(x))


def test_self_modulated_layer_norm_takes_gain_and_bias_from_z(device: torch.device) -> None:
    sln = SelfModulatedLayerNorm(dim=6, latent_dim=3).to(device)
    x, z = torch.randn(2, 5, 6, device=device) * 3 + 2, torch.randn(2, 3, device=device)
    # initialised as a plain LayerNorm
    torch.testing.assert_close(sln(x, z), nn.functional.layer_norm(x, (6,)), atol=1e-5, rtol=1e-5)
    nn.init.normal_(sln.gamma.weight)
    nn.init.normal_(sln.beta.weight)
    out = sln(x, z)
    x_hat = nn.functional.layer_norm(x, (6,))
    torch.testing.assert_close(out, sln.gamma(z)[:, None] * x_hat + sln.beta(z)[:, None], atol=1e-5, rtol=1e-5)
    assert (sln(x, z + 1) - out).abs().max() > 1e-3  # the latent modulates every block


def test_generator_is_cnn_free_and_doubles_resolution_per_stage() -> None:
    g = STransGenerator(TINY)
    assert not any(isinstance(m, nn.modules.conv._ConvNd) for m in g.modules())
    img = g(torch.randn(3, TINY.latent_dim))
    assert img.shape == (3, 3, 16, 16)  # 4 · 2^(3 − 1)
    assert img.abs().max() <= 1.0
    shifts = [[b.shift for b in stage] for stage in g.stages]
    assert shifts == [[0, 0], [0, 2], [0, 2]]  # regular then shifted windows; one window at 4 × 4


def test_mean_attention_distance_closed_forms() -> None:
    eye = torch.eye(16)
    assert mean_attention_distance(eye, 4, 4).item() == 0.0  # attending to itself only
    # two tokens attending uniformly to both: half the weight at distance 1
    assert mean_attention_distance(torch.full((2, 2), 0.5), 1, 2).item() == 0.5
    # uniform global attention on a 3 × 3 grid: brute-force average of all pair distances
    pts = [(r, c) for r in range(3) for c in range(3)]
    expected = sum(math.dist(p, q) for p in pts for q in pts) / 81
    torch.testing.assert_close(mean_attention_distance(torch.full((9, 9), 1 / 9), 3, 3),
                               torch.tensor(expected), atol=1e-5, rtol=1e-5)


def test_window_attention_is_more_local_than_global_attention() -> None:
    # The study's observation: local windows shrink the attention distance.
    rows, cols = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    win = (rows // 4 * 2 + cols // 4).flatten()
    local = (win[:, None] == win[None]).float()
    local = local / local.sum(-1, keepdim=True)
    glob = torch.full((64, 64), 1 / 64)
    assert mean_attention_distance(local, 8, 8) < 0.5 * mean_attention_distance(glob, 8, 8)


def test_config_defaults() -> None:
    # No official code exists; these are the module's documented choices (widths halve Swin-style from 512).
    c = STransConfig()
    assert c.latent_dim == 512
    assert c.widths == (512, 512, 256, 128, 64)
    assert c.depth == 2  # one regular-window and one shifted-window block per stage (Sec. 3)
    assert c.num_heads == 8
    assert c.window_size == 8  # Swin windows (Sec. 3)
    assert c.mlp_ratio == 4.0
    assert c.attention_residual is True  # Sec. 4: the shortcut is kept unless switched off
    block = STransBlock(16, 4, resolution=(16, 16))
    assert (block.window_size, block.shift, block.attn.num_heads) == (8, 0, 8)
    assert block.mlp.fc1.out_features == 64 and block.attention_residual is True


def _count_analytically(c: STransConfig) -> int:
    z = c.latent_dim
    total = z * 16 * c.widths[0] + 16 * c.widths[0]  # z → 4 × 4 tokens
    for i, w in enumerate(c.widths):
        k = min(c.window_size, 4 * 2**i)
        hidden = int(w * c.mlp_ratio)
        block = (2 * 2 * (z * w + w)  # two SLNs, γ and β maps each
                 + w * 3 * w + 3 * w + w * w + w  # qkv, proj
                 + (2 * k - 1) ** 2 * c.num_heads  # relative-position table
                 + w * hidden + hidden + hidden * w + w)  # MLP
        total += c.depth * block
        if i + 1 < len(c.widths):
            total += w * c.widths[i + 1] + c.widths[i + 1]  # width change after up-sampling
    return total + c.widths[-1] * 3 + 3  # to RGB


def test_generator_parameter_count_matches_its_layer_by_layer_sum() -> None:
    # Four stages with distinct widths, a 4 × 4 window (smaller at 4²) and a latent unlike any width.
    config = STransConfig(latent_dim=12, widths=(32, 24, 16, 8), depth=2, num_heads=4, window_size=4, mlp_ratio=2.0)
    g = STransGenerator(config)
    assert sum(p.numel() for p in g.parameters()) == _count_analytically(config) == 49_739
    assert g(torch.randn(2, 12)).shape == (2, 3, 32, 32)  # 4 · 2³


def test_shifted_and_regular_blocks_alternate_in_deeper_stages() -> None:
    g = STransGenerator(STransConfig(latent_dim=4, widths=(8, 8), depth=4, num_heads=2, window_size=2))
    assert [[b.shift for b in stage] for stage in g.stages] == [[0, 1, 0, 1], [0, 1, 0, 1]]
    # Swin's rule on non-square maps: no shift while the smaller side fits in one window
    assert STransBlock(8, 4, resolution=(4, 8), num_heads=2, window_size=4, shifted=True).shift == 0


def test_up_sampling_is_nearest_on_the_row_major_token_grid() -> None:
    # Without blocks the generator is: z → 4 × 4 tokens → nearest ×2 → widen → nearest ×2 → widen → tanh(RGB).
    torch.manual_seed(0)
    config = STransConfig(latent_dim=5, widths=(8, 6, 4), depth=1, num_heads=2, window_size=4)
    g = STransGenerator(config)
    g.stages = nn.ModuleList([nn.ModuleList() for _ in config.widths])
    z = torch.randn(2, 5)
    img = g(z)
    assert img.shape == (2, 3, 16, 16)
    tokens = g.input(z).view(2, 16, 8)
    rgb = torch.tanh(g.to_rgb(g.widen[1](g.widen[0](tokens))))  # (2, 16, 3): token t = row·4 + col
    expected = rgb.transpose(1, 2).reshape(2, 3, 4, 4).repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    torch.testing.assert_close(img, expected, atol=1e-6, rtol=1e-6)
    assert img.min() < 0 < img.max()  # tanh output range, not sigmoid's


def test_sln_has_no_affine_of_its_own_and_state_holds_only_parameters() -> None:
    sln = SelfModulatedLayerNorm(dim=6, latent_dim=3)
    assert sum(p.numel() for p in sln.parameters()) == 2 * (3 * 6 + 6)  # γ(z), β(z) only
    block = _block(shifted=True)
    assert block.shift_mask is not None
    assert set(block.state_dict()) == {n for n, _ in block.named_parameters()}


def test_mean_attention_distance_on_an_asymmetric_batch() -> None:
    # 1 × 3 grid: q0 → k2 (distance 2), q1 → k0 (1), q2 → k0 (2): mean 5/3; a second map attends to itself.
    a = torch.tensor([[[0.0, 0, 1], [1, 0, 0], [1, 0, 0]], [[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]])
    torch.testing.assert_close(mean_attention_distance(a, 1, 3), torch.tensor([5 / 3, 0.0]))
    # rows and columns both count: a 2 × 2 grid, every query attends to the opposite corner (√2)
    diag = torch.tensor([[0.0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]])
    torch.testing.assert_close(mean_attention_distance(diag, 2, 2), torch.tensor(math.sqrt(2)))
