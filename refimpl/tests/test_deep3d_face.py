"""Deng et al. 2019 (arXiv:1903.08527): coefficient layout, R-Net heads and the hybrid loss."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.deep3d_face import (
    OFFICIAL,
    TINY,
    Deep3DFaceConfig,
    ReconstructionNet,
    coefficient_regularization,
    gamma_loss,
    hybrid_loss,
    identity_loss,
    landmark_weights,
    reflectance_loss,
    split_coefficients,
    tiny_backbone,
)

D = torch.float64


def test_config_defaults_are_the_official_code() -> None:
    # sicxu/Deep3DFaceRecon_pytorch @ 9167c71, options/train_options.py and models/networks.py.
    assert Deep3DFaceConfig() == Deep3DFaceConfig(
        n_id=80, n_exp=64, n_tex=80, n_angles=3, n_gamma=27, n_trans=3, w_color=1.92, w_lm=1.6e-3, w_feat=0.2,
        w_reg=3.0e-4, w_id=1.0, w_exp=0.8, w_tex=1.7e-2, w_gamma=10.0, w_reflc=5.0, landmark_weight=20.0,
        backbone_channels=2048)
    assert OFFICIAL.n_coefficients == 257  # ReconNetWrapper.fc_dim


def test_split_follows_the_official_order() -> None:
    coeffs = torch.arange(257.0)[None]
    parts = split_coefficients(coeffs)
    assert [parts[k].shape[1] for k in ("id", "exp", "tex", "angle", "gamma", "trans")] == [80, 64, 80, 3, 27, 3]
    # bfm.py split_coeff: id [:80], exp [80:144], tex [144:224], angle [224:227], gamma [227:254], trans [254:].
    assert parts["exp"][0, 0] == 80 and parts["tex"][0, 0] == 144 and parts["angle"][0, 0] == 224
    assert parts["gamma"][0, 0] == 227 and parts["trans"][0, 0] == 254


def test_official_heads_parameter_count_and_zero_start() -> None:
    net = ReconstructionNet(nn.Identity(), OFFICIAL)
    # 2048 · (80 + 64 + 80 + 3 + 27 + 2 + 1) weights + 257 biases.
    assert sum(p.numel() for p in net.parameters()) == 2048 * 257 + 257 == 526593
    assert [h.out_channels for h in net.heads] == [80, 64, 80, 3, 27, 2, 1]
    out = net(torch.randn(2, 2048, 1, 1))
    assert out.shape == (2, 257) and (out == 0).all()  # training starts at the mean face


def test_tiny_rnet_output_depends_on_the_image() -> None:
    torch.manual_seed(0)
    net = ReconstructionNet(tiny_backbone(TINY), TINY)
    for head in net.heads:
        nn.init.normal_(head.weight)
    a, b = net(torch.rand(1, 3, 16, 16)), net(torch.rand(1, 3, 16, 16))
    assert a.shape == (1, TINY.n_coefficients) and not torch.allclose(a, b)


def test_landmark_weights_mark_nose_and_inner_mouth() -> None:
    w = landmark_weights()
    assert w.shape == (68,)
    assert torch.nonzero(w == 20).flatten().tolist() == [28, 29, 30, 60, 61, 62, 63, 64, 65, 66, 67]
    assert (w[w != 20] == 1).all()


def test_identity_loss_is_one_minus_cosine() -> None:
    a = torch.tensor([[1.0, 0.0], [3.0, 0.0]], dtype=D)
    b = torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=D)  # cos 1 and cos 1/√2; scale does not matter
    torch.testing.assert_close(identity_loss(a, b), torch.tensor((0 + 1 - 2 ** -0.5) / 2, dtype=D))


def test_coefficient_regularization_weights_each_group() -> None:
    cfg = Deep3DFaceConfig(n_id=1, n_exp=1, n_tex=1)
    parts = {"id": torch.tensor([[2.0], [0.0]], dtype=D), "exp": torch.tensor([[0.0], [1.0]], dtype=D),
             "tex": torch.tensor([[10.0], [0.0]], dtype=D)}
    # (1 · 4 + 0.8 · 1 + 0.017 · 100) / 2
    torch.testing.assert_close(coefficient_regularization(parts, cfg), torch.tensor((4 + 0.8 + 1.7) / 2, dtype=D))


def test_gamma_loss_is_zero_for_monochromatic_light() -> None:
    mono = torch.randn(2, 1, 9, dtype=D).expand(2, 3, 9).reshape(2, 27)
    assert gamma_loss(mono) < 1e-30
    g = torch.zeros(1, 27, dtype=D)
    g[0, 0] = 3.0  # red band 0 only: channel mean 1, deviations (2, −1, −1) over 27 entries
    torch.testing.assert_close(gamma_loss(g), torch.tensor(6 / 27, dtype=D))


def test_reflectance_loss_is_the_texture_variance_over_skin() -> None:
    tex = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [9.0, 9.0, 9.0]]], dtype=D)
    skin = torch.tensor([1.0, 1.0, 0.0], dtype=D)  # the non-skin vertex is ignored
    # skin mean 1; squared deviations 1 per channel and vertex: 6 / (1 · 2).
    torch.testing.assert_close(reflectance_loss(tex, skin), torch.tensor(3.0, dtype=D))
    assert reflectance_loss(torch.ones(1, 3, 3, dtype=D), skin) == 0


def _loss_inputs() -> dict:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 4, 4, generator=g, dtype=D)
    lm = torch.rand(1, 68, 2, generator=g, dtype=D)
    feat = torch.randn(1, 8, generator=g, dtype=D)
    coeffs = torch.zeros(1, 257, dtype=D)
    return dict(coeffs=coeffs, rendered=image.clone(), image=image, face_mask=torch.ones(1, 1, 4, 4, dtype=D),
                landmarks=lm.clone(), target_landmarks=lm, features=feat.clone(), target_features=feat,
                texture=torch.ones(1, 5, 3, dtype=D), skin_mask=torch.ones(5, dtype=D))


def test_hybrid_loss_is_near_zero_at_the_truth_and_weights_each_term() -> None:
    base = _loss_inputs()
    assert hybrid_loss(**base) < 1e-2  # only 1.92 · √eps from the photometric term's eps
    # Move one landmark of weight 20 (index 30) by 1 pixel: + 1.6e-3 · 20 · 1 / 68.
    moved = dict(base, landmarks=base["landmarks"].clone())
    moved["landmarks"][0, 30, 0] += 1.0
    torch.testing.assert_close(hybrid_loss(**moved) - hybrid_loss(**base),
                               torch.tensor(1.6e-3 * 20 / 68, dtype=D))
    # Identity coefficients: + 3e-4 · 1 · ‖α‖² (α = 2 e_0).
    coeffs = base["coeffs"].clone()
    coeffs[0, 0] = 2.0
    torch.testing.assert_close(hybrid_loss(**dict(base, coeffs=coeffs)) - hybrid_loss(**base),
                               torch.tensor(3e-4 * 4, dtype=D))
    # Opposite identity features: + 0.2 · 2.
    flipped = dict(base, features=-base["features"])
    torch.testing.assert_close(hybrid_loss(**flipped) - hybrid_loss(**base), torch.tensor(0.4, dtype=D))
    # A uniform colour error of 0.1 on every channel: + 1.92 · (√(0.03 + eps) − √eps).
    shifted = dict(base, rendered=base["rendered"] + 0.1)
    expected = 1.92 * ((0.03 + 1e-6) ** 0.5 - 1e-6 ** 0.5)
    torch.testing.assert_close(hybrid_loss(**shifted) - hybrid_loss(**base), torch.tensor(expected, dtype=D))
    # Unequal SH channels and a non-uniform skin texture add the gamma and reflectance terms.
    coeffs = base["coeffs"].clone()
    coeffs[0, 227] = 3.0
    torch.testing.assert_close(hybrid_loss(**dict(base, coeffs=coeffs)) - hybrid_loss(**base),
                               torch.tensor(10 * 6 / 27, dtype=D))
    tex = base["texture"].clone()
    tex[0, 0] = 6.0  # skin mean 2: deviations 4 and 1 (×4) per channel: w_reflc · (16 + 4) · 3 / 5
    torch.testing.assert_close(hybrid_loss(**dict(base, texture=tex)) - hybrid_loss(**base),
                               torch.tensor(5 * 60 / 5, dtype=D))
