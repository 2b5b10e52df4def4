"""SPADE (arXiv:1903.07291): the claims that define the paper."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.spade import SPADE, TINY, SPADEConfig, SPADEGenerator, SPADEResBlock


def _onehot(labels: torch.Tensor, n: int) -> torch.Tensor:
    return F.one_hot(labels, n).permute(0, 3, 1, 2).float()


def test_spade_is_batch_norm_then_mask_dependent_affine(device: torch.device) -> None:
    spade = SPADE(4, 3, hidden=5).to(device).train()
    x = torch.randn(2, 4, 8, 8, device=device) * 3 + 1
    seg = _onehot(torch.randint(0, 3, (2, 4, 4), device=device), 3)  # coarser mask, resized by nearest
    gamma, beta = spade.modulation(seg, (8, 8))
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (x - mean) / (var + 1e-5).sqrt() * (1 + gamma) + beta  # batch (not instance) statistics
    torch.testing.assert_close(spade(x, seg), expected, atol=1e-5, rtol=1e-5)
    assert not any(p.requires_grad for p in spade.param_free_norm.parameters())


def test_constant_mask_reduces_to_batch_norm_with_a_spatially_constant_affine() -> None:
    spade = SPADE(3, 2, hidden=4).train()
    x = torch.randn(2, 3, 10, 10)
    seg = _onehot(torch.ones(2, 10, 10, dtype=torch.long), 2)
    gamma, beta = spade.modulation(seg, (10, 10))
    # Zero padding makes the two outermost rings differ; inside, two 3×3 convs see only the constant.
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    g_in, b_in = gamma[inner], beta[inner]
    torch.testing.assert_close(g_in, g_in[..., :1, :1].expand_as(g_in))
    torch.testing.assert_close(b_in, b_in[..., :1, :1].expand_as(b_in))
    bn = nn.BatchNorm2d(3, affine=True).train()
    with torch.no_grad():
        bn.weight.copy_(1 + g_in[0, :, 0, 0])
        bn.bias.copy_(b_in[0, :, 0, 0])
    torch.testing.assert_close(spade(x, seg)[inner], bn(x)[inner], atol=1e-5, rtol=1e-5)


def test_spade_does_not_wash_out_a_uniform_mask_but_conv_instance_norm_does() -> None:
    # Sec. 3.2: conv → instance norm maps any constant label map to the same output.
    a = _onehot(torch.zeros(1, 8, 8, dtype=torch.long), 3)
    b = _onehot(torch.full((1, 8, 8), 2, dtype=torch.long), 3)
    conv_in = nn.Sequential(nn.Conv2d(3, 4, 1), nn.InstanceNorm2d(4))
    torch.testing.assert_close(conv_in(a), conv_in(b))
    spade = SPADE(4, 3, hidden=4).eval()
    h = torch.randn(1, 4, 8, 8)
    assert (spade(h, a) - spade(h, b)).abs().max() > 1e-3


def test_the_mask_enters_only_through_gamma_and_beta() -> None:
    spade = SPADE(2, 3, hidden=4).eval()
    for conv in (spade.gamma, spade.beta):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    x = torch.randn(1, 2, 6, 6)
    a = _onehot(torch.randint(0, 3, (1, 6, 6)), 3)
    b = _onehot(torch.randint(0, 3, (1, 6, 6)), 3)
    torch.testing.assert_close(spade(x, a), spade(x, b))
    torch.testing.assert_close(spade(x, a), spade.param_free_norm(x))


def test_res_block_learns_a_shortcut_only_when_widths_change() -> None:
    same, wider = SPADEResBlock(4, 4, 3, hidden=4), SPADEResBlock(4, 6, 3, hidden=4)
    assert not same.learned_shortcut and not hasattr(same, "conv_s")
    assert wider.learned_shortcut
    seg = _onehot(torch.randint(0, 3, (2, 8, 8)), 3)
    x = torch.randn(2, 4, 8, 8)
    assert wider(x, seg).shape == (2, 6, 8, 8)
    assert hasattr(same.conv_0, "parametrizations") and hasattr(wider.conv_s, "parametrizations")  # spectral norm
    plain = SPADEResBlock(4, 4, 3, hidden=4, use_spectral_norm=False)
    nn.init.zeros_(plain.conv_1.weight)
    nn.init.zeros_(plain.conv_1.bias)
    torch.testing.assert_close(plain(x, seg), x)  # identity shortcut + zero residual


def test_generator_starts_at_h_over_2_pow_5_and_reaches_the_mask_size() -> None:
    g = SPADEGenerator(TINY)
    seg = _onehot(torch.randint(0, 3, (1, 16, 16)), 3)
    shapes = []
    g.fc.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
    out = g(seg)
    assert shapes == [(1, 16 * TINY.nf, 2, 2)] and out.shape == (1, 3, 16, 16)
    with torch.device("meta"):
        full = SPADEGenerator(SPADEConfig())
    assert [b.conv_1.out_channels for b in full.ups] == [512, 256, 128, 64]
