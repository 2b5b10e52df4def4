"""The Nuts and Bolts of Adopting Transformer in GANs (arXiv:2110.13107): the claims that define the paper."""

from __future__ import annotations

import math

import torch
from torch import nn

from refimpl.transformer_gan import (
    TINY,
    SelfModulatedLayerNorm,
    STransBlock,
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
