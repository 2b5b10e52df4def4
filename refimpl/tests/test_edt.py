"""EDT (arXiv:2112.10175): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch

from refimpl.edt import (
    EDT,
    TINY,
    CrossedLocalAttentionBlock,
    DenoiseDecoder,
    DenoiseEncoder,
    EDTBody,
    EDTMlp,
    LePEWindowAttention,
    ResBlock,
    SRDecoder,
    SREncoder,
)

TASKS = {"sr2": ("sr", 2), "denoise": ("denoise", 0)}


def _model() -> EDT:
    return EDT(TINY, tasks=TASKS, body_resolution=(8, 8))


def test_x2_sr_and_denoise_heads_shapes_and_body_resolution(device: torch.device) -> None:
    model = _model().to(device)
    seen = []
    model.body.register_forward_hook(lambda _m, inp, _out: seen.append(tuple(inp[0].shape)))
    assert model(torch.rand(2, 3, 8, 8, device=device), "sr2").shape == (2, 3, 16, 16)
    # the denoising encoder down-samples ×4 so the body runs on 8 × 8 tokens
    assert model(torch.rand(2, 3, 32, 32, device=device), "denoise").shape == (2, 3, 32, 32)
    assert seen == [(2, TINY.embed_dim, 8, 8)] * 2
    assert isinstance(model.encoders["sr2"], SREncoder) and isinstance(model.decoders["sr2"], SRDecoder)
    assert isinstance(model.encoders["denoise"], DenoiseEncoder)
    assert isinstance(model.decoders["denoise"], DenoiseDecoder)


def test_body_is_shared_by_every_task() -> None:
    model = _model()
    body = {id(p) for p in model.body.parameters()}
    heads = {id(p) for p in model.encoders.parameters()} | {id(p) for p in model.decoders.parameters()}
    assert not body & heads
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for m in (model.body, model.encoders, model.decoders) for p in m.parameters()
    )
    # both tasks write gradients into the same body parameters; each task leaves the other's head alone
    model(torch.rand(1, 3, 8, 8), "sr2").mean().backward()
    sr_grad = [p.grad.clone() for p in model.body.parameters()]
    assert all(p.grad is None for p in model.encoders["denoise"].parameters())
    model(torch.rand(1, 3, 32, 32), "denoise").mean().backward()
    changed = [not torch.equal(g, p.grad) for g, p in zip(sr_grad, model.body.parameters(), strict=True)]
    assert all(changed)
    assert all(p.grad is not None for p in model.decoders["sr2"].parameters())


def test_changing_the_body_changes_both_tasks_changing_a_head_only_its_own() -> None:
    model = _model().eval()
    lr, noisy = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 32, 32)
    sr0, dn0 = model(lr, "sr2"), model(noisy, "denoise")
    with torch.no_grad():
        model.decoders["sr2"].conv.bias += 1.0
    torch.testing.assert_close(model(noisy, "denoise"), dn0)
    assert (model(lr, "sr2") - sr0).abs().min() > 0.9
    with torch.no_grad():
        model.body.conv_after_body.bias += 1.0
    assert (model(noisy, "denoise") - dn0).abs().max() > 1e-3


def test_crossed_attention_reads_its_horizontal_and_vertical_window() -> None:
    # Sec. 3.2: half the channels see a 2 × 4 window, the other half a 4 × 2 window around the token.
    block = CrossedLocalAttentionBlock(8, resolution=(8, 8), num_heads=2, window=(2, 4))
    x = torch.randn(1, 8, 8, 8, requires_grad=True)
    block.crossed_attention(x)[0, 3, 5].sum().backward()
    deps = x.grad[0].abs().sum(-1) > 0
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[2:4, 4:8] = True  # horizontal window holding (3, 5)
    expected[0:4, 4:6] = True  # vertical window holding (3, 5)
    assert torch.equal(deps, expected)


def test_shifted_crossed_attention_windows_move_by_half_a_window() -> None:
    block = CrossedLocalAttentionBlock(8, resolution=(8, 8), num_heads=2, window=(2, 4), shifted=True)
    x = torch.randn(1, 8, 8, 8, requires_grad=True)
    block.crossed_attention(x)[0, 3, 5].sum().backward()
    deps = x.grad[0].abs().sum(-1) > 0
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[3:5, 2:6] = True  # horizontal windows now start at row 1 + 2k, column 2 + 4k
    expected[2:6, 5:7] = True  # vertical windows start at row 2 + 4k, column 1 + 2k
    assert torch.equal(deps, expected)


def test_lepe_attention_on_constant_values_adds_the_depthwise_conv() -> None:
    attn = LePEWindowAttention(dim=4, window=(2, 2), num_heads=2)
    torch.nn.init.zeros_(attn.lepe.weight)
    torch.nn.init.zeros_(attn.lepe.bias)
    q, k = torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4)
    v = torch.full((1, 4, 4, 4), 3.0)
    torch.testing.assert_close(attn(q, k, v, None), v)  # softmax rows sum to one, LePE off


def test_mlp_and_resblock_keep_shapes() -> None:
    assert EDTMlp(8, 16)(torch.randn(2, 5, 6, 8)).shape == (2, 5, 6, 8)
    block = ResBlock(4, 6, down=True)
    y = block(torch.randn(1, 4, 8, 8))
    assert y.shape == (1, 6, 8, 8) and block.down(y).shape == (1, 6, 4, 4)


def test_body_is_a_residual_map_of_its_features() -> None:
    body = EDTBody(TINY, resolution=(8, 8))
    torch.nn.init.zeros_(body.conv_after_body.weight)
    torch.nn.init.zeros_(body.conv_after_body.bias)
    f = torch.randn(1, TINY.embed_dim, 8, 8)
    torch.testing.assert_close(body(f), f)


def test_unknown_task_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown task kind 'deblur'"):
        EDT(TINY, tasks={"x": ("deblur", 0)}, body_resolution=(8, 8))


def test_standard_edt_t_block_parameter_count() -> None:
    # Sum over the official CSwinTransformerBlock layers for EDT-T (module docstring).
    block = CrossedLocalAttentionBlock(60, resolution=(48, 48), num_heads=6, window=(6, 24), mlp_ratio=2.0)
    assert sum(p.numel() for p in block.parameters()) == 33_180
