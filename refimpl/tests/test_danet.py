"""DANet (arXiv:1809.02983): the claims that define the paper."""

from __future__ import annotations

import math

import torch
from torch import nn

from refimpl.danet import OFFICIAL, TINY, ChannelAttention, DANet, DANetConfig, DANetHead, PositionAttention


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


# Two channels over two positions: A_0 = (1, 0), A_1 = (1, 1); Gram matrix [[1, 1], [1, 2]].
CAM_X = torch.tensor([[[[1.0, 0.0]], [[1.0, 1.0]]]], dtype=torch.float64)  # (1, 2, 1, 2)
_E = math.e


def test_cam_follows_eq_3_and_4_by_hand() -> None:
    cam = ChannelAttention().double()
    with torch.no_grad():
        cam.beta.fill_(2.0)
    # Eq. 3: row 0 softmax(1, 1) = (½, ½); row 1 softmax(1, 2) = (1, e) / (1 + e).
    att = torch.tensor([[0.5, 0.5], [1 / (1 + _E), _E / (1 + _E)]], dtype=torch.float64)
    torch.testing.assert_close(cam.attention(CAM_X)[0], att)
    # Eq. 4: E_j = β Σ_i x_ji A_i + A_j: row 0 = 2 (1, ½) + (1, 0); row 1 = 2 (1, e/(1+e)) + (1, 1).
    expected = torch.tensor([[[[3.0, 1.0]], [[3.0, 1 + 2 * _E / (1 + _E)]]]], dtype=torch.float64)
    torch.testing.assert_close(cam(CAM_X), expected)
    assert DANetConfig().inverted_channel_energy is False and OFFICIAL.inverted_channel_energy is True


def test_authors_cam_inverts_the_energy_by_hand() -> None:
    cam = ChannelAttention(inverted_energy=True).double()
    with torch.no_grad():
        cam.beta.fill_(2.0)
    # max − energy: row 0 (0, 0) → (½, ½); row 1 (1, 0) → (e, 1) / (1 + e): the similar channel weighs less.
    att = torch.tensor([[0.5, 0.5], [_E / (1 + _E), 1 / (1 + _E)]], dtype=torch.float64)
    torch.testing.assert_close(cam.attention(CAM_X)[0], att)
    expected = torch.tensor([[[[3.0, 1.0]], [[3.0, 1 + 2 / (1 + _E)]]]], dtype=torch.float64)
    torch.testing.assert_close(cam(CAM_X), expected)
    head = DANetHead(OFFICIAL)
    assert head.cam.inverted_energy and not DANetHead(DANetConfig()).cam.inverted_energy


def test_pam_query_and_key_have_c_over_8_channels() -> None:
    # Sec. 3.2: B and C reduce to C/8 channels; at least one for tiny widths.
    assert [PositionAttention(64).query.out_channels, PositionAttention(64).key.out_channels] == [8, 8]
    assert PositionAttention(4).query.out_channels == 1 and PositionAttention(64).value.out_channels == 64


def test_pam_by_hand_with_selecting_convs() -> None:
    # C = 8 (B, C: 1 channel each) over N = 2 positions. B and C pick channel 0, D is the identity.
    pam = PositionAttention(8).double()
    with torch.no_grad():
        for conv in (pam.query, pam.key, pam.value):
            conv.weight.zero_()
            conv.bias.zero_()
        pam.query.weight[0, 0] = pam.key.weight[0, 0] = 1.0
        pam.value.weight[:, :, 0, 0] = torch.eye(8)
        pam.alpha.fill_(0.5)
    x = torch.zeros(1, 8, 1, 2, dtype=torch.float64)
    x[0, 0, 0] = torch.tensor([1.0, 2.0])
    x[0, 1, 0] = torch.tensor([3.0, -1.0])
    # s_ji = softmax_i(x0_i x0_j): row 0 softmax(1, 2), row 1 softmax(2, 4).
    s = torch.tensor([[1 / (1 + _E), _E / (1 + _E)], [1 / (1 + _E**2), _E**2 / (1 + _E**2)]], dtype=torch.float64)
    torch.testing.assert_close(pam.attention(x)[0], s)
    a = x[0, :, 0]  # (C, N)
    expected = 0.5 * torch.stack([s[0, 0] * a[:, 0] + s[0, 1] * a[:, 1], s[1, 0] * a[:, 0] + s[1, 1] * a[:, 1]], 1)
    torch.testing.assert_close(pam(x)[0, :, 0], expected + a)


def test_logits_are_upsampled_bilinearly_with_aligned_corners() -> None:
    # encoding/models/sseg/base.py: up_kwargs = {'mode': 'bilinear', 'align_corners': True}.
    class _Head(nn.Module):
        def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, ...]:
            z = torch.tensor([[[[0.0, 2.0], [4.0, 6.0]]]])
            return z, 2 * z, 3 * z

    model = DANet(nn.Identity(), TINY)
    model.head = _Head()
    out = model(torch.zeros(1, 1, 3, 3))
    # Aligned corners: the corners are kept and the centre is the mean of the four.
    torch.testing.assert_close(out[0][0, 0], torch.tensor([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]]))
    torch.testing.assert_close(out[2], 3 * out[0])


def test_head_wiring_sum_of_both_branches_and_auxiliary_outputs() -> None:
    head = DANetHead(TINY).eval()
    with torch.no_grad():
        head.pam.alpha.fill_(0.3)
        head.cam.beta.fill_(0.7)
    x = torch.randn(1, TINY.in_channels, 4, 5)
    p = head.conv_p(head.pam(head.reduce_p(x)))
    c = head.conv_c(head.cam(head.reduce_c(x)))
    fused, out_p, out_c = head(x)
    torch.testing.assert_close(fused, head.cls_sum(p + c))
    torch.testing.assert_close(out_p, head.cls_p(p))
    torch.testing.assert_close(out_c, head.cls_c(c))
    assert DANetConfig().dropout == 0.1 and all(m.p == 0.1 for m in head.modules() if isinstance(m, nn.Dropout2d))
    assert (DANetConfig().reduction, DANetConfig().qk_reduction) == (4, 8)  # inter = C/4; B, C of PAM: C/8


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
