"""DANet (arXiv:1809.02983): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.danet import TINY, ChannelAttention, DANet, DANetConfig, DANetHead, PositionAttention


def test_both_modules_are_the_identity_at_initialisation(device: torch.device) -> None:
    x = torch.randn(2, 16, 5, 6, device=device)
    torch.testing.assert_close(PositionAttention(16).to(device)(x), x)
    torch.testing.assert_close(ChannelAttention().to(device)(x), x)
    assert PositionAttention(16).alpha.item() == 0.0 and ChannelAttention().beta.item() == 0.0


def test_attention_rows_are_distributions() -> None:
    x = torch.randn(2, 16, 4, 5)
    s = PositionAttention(16).attention(x)
    assert s.shape == (2, 20, 20)  # N × N over positions
    torch.testing.assert_close(s.sum(-1), torch.ones(2, 20))
    a = ChannelAttention().attention(x)
    assert a.shape == (2, 16, 16)  # C × C over channels
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 16))
    assert (s >= 0).all() and (a >= 0).all()


def test_pam_output_is_the_attention_weighted_sum_of_values() -> None:
    # E_j = α Σ_i s_ji D_i + A_j, checked position by position.
    pam = PositionAttention(8)
    with torch.no_grad():
        pam.alpha.fill_(0.7)
    x = torch.randn(1, 8, 3, 3)
    s = pam.attention(x)[0]  # (N, N)
    d = pam.value(x).flatten(2)[0]  # (C, N)
    expected = 0.7 * torch.einsum("ji,ci->cj", s, d).view(1, 8, 3, 3) + x
    torch.testing.assert_close(pam(x), expected, atol=1e-5, rtol=1e-5)


def test_cam_uses_the_max_shifted_channel_gram_matrix() -> None:
    cam = ChannelAttention()
    with torch.no_grad():
        cam.beta.fill_(2.0)
    x = torch.randn(1, 4, 3, 3)
    a = x.flatten(2)[0]
    gram = a @ a.T
    att = torch.softmax(gram.max(dim=1, keepdim=True).values - gram, dim=1)
    torch.testing.assert_close(cam(x), (2.0 * att @ a).view(1, 4, 3, 3) + x, atol=1e-5, rtol=1e-5)
    # The shift makes the most similar channel the least attended (the authors' variant).
    assert att.argmin(dim=1).tolist() == gram.argmax(dim=1).tolist()


def test_head_returns_fused_and_branch_logits() -> None:
    head = DANetHead(TINY).eval()
    outs = head(torch.randn(1, TINY.in_channels, 6, 6))
    assert [o.shape for o in outs] == [(1, 3, 6, 6)] * 3
    backbone = nn.Conv2d(3, TINY.in_channels, 3, stride=4, padding=1)
    assert DANet(backbone, TINY).eval()(torch.rand(1, 3, 16, 16))[0].shape == (1, 3, 16, 16)


def test_standard_head_parameter_count() -> None:
    # Sum over the authors' DANetHead(2048, 19) (see the docstring).
    with torch.device("meta"):
        head = DANetHead(DANetConfig())
    assert sum(p.numel() for p in head.parameters()) == 23_954_619
    assert sum(p.numel() for p in head.pam.parameters()) == 328_321
