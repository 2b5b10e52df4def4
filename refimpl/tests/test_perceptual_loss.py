"""Perceptual losses (arXiv:1603.08155): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch

from refimpl.perceptual_loss import (
    OFFICIAL,
    TINY,
    PerceptualLossConfig,
    ResidualBlock,
    TransformNet,
    feature_reconstruction_loss,
    gram_matrix,
    style_reconstruction_loss,
    style_transfer_loss,
    total_variation,
)


def test_gram_matrix_of_a_known_tensor(device: torch.device) -> None:
    # C = 2, H = 1, W = 2: ψ = [[1, 2], [3, 4]], ψψᵀ = [[5, 11], [11, 25]], divided by C·H·W = 4.
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]], device=device)
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]], device=device) / 4
    torch.testing.assert_close(gram_matrix(f), expected)


def test_style_loss_is_invariant_to_spatial_permutation() -> None:
    # The Gram matrix sums over positions: it keeps which features co-occur, not where.
    feats = [torch.randn(2, 4, 6, 6), torch.randn(2, 8, 3, 3)]
    permuted = []
    for f in feats:
        n, c, h, w = f.shape
        perm = torch.randperm(h * w)
        permuted.append(f.reshape(n, c, h * w)[:, :, perm].reshape(n, c, h, w))
    assert style_reconstruction_loss(permuted, feats).item() < 1e-10
    assert feature_reconstruction_loss(permuted[0], feats[0]).item() > 0.1  # content does see the layout
    assert style_reconstruction_loss([f * 2 for f in feats], feats).item() > 0.1


def test_style_loss_is_squared_frobenius_distance_of_grams() -> None:
    a, b = torch.randn(1, 3, 4, 5), torch.randn(1, 3, 2, 2)  # different sizes are fine
    expected = ((gram_matrix(a) - gram_matrix(b)) ** 2).sum()
    torch.testing.assert_close(style_reconstruction_loss([a], [b]), expected)


def test_feature_loss_is_zero_iff_features_are_equal() -> None:
    f = torch.randn(2, 3, 4, 4)
    assert feature_reconstruction_loss(f, f.clone()).item() == 0.0
    g = f.clone()
    g[1, 2, 3, 3] += 2.0  # one element off by 2: 4 / (C·H·W) in sample 1, averaged over 2 samples
    torch.testing.assert_close(feature_reconstruction_loss(g, f), torch.tensor(4.0 / 48 / 2))


def test_total_variation_of_known_images() -> None:
    assert total_variation(torch.ones(1, 3, 4, 4)).item() == 0.0
    img = torch.zeros(1, 1, 2, 2)
    img[0, 0, 0, 0] = 3.0  # two neighbours differ by 3: squared 9 + 9 (absolute would be 6)
    assert total_variation(img).item() == 18.0
    two = torch.zeros(2, 1, 2, 3)
    two[0, 0, 0, 1] = 0.5  # sample 0: three neighbours differ by 0.5; sample 1 is flat: mean over the batch
    assert total_variation(two).item() == 3 * 0.25 / 2


def test_transform_net_keeps_size_and_pixel_range(device: torch.device) -> None:
    net = TransformNet(TINY).to(device)
    out = net(torch.rand(2, 3, 16, 12, device=device))
    assert out.shape == (2, 3, 16, 12)
    assert out.min() >= 0 and out.max() <= 255


def test_residual_block_adds_the_centre_of_its_input() -> None:
    # Supplementary: unpadded 3×3 convs shrink the map by 4; the skip is the input cropped by 2 per side
    # (fast-neural-style's ShaveImage(2)). With the last norm's γ = 0 the block is crop + β.
    block = ResidualBlock(4).eval()
    with torch.no_grad():
        block.body[-1].weight.zero_()
        block.body[-1].bias.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
    x = torch.randn(1, 4, 7, 9)
    out = block(x)
    assert out.shape == (1, 4, 3, 5)
    torch.testing.assert_close(out, x[..., 2:5, 2:7] + block.body[-1].bias.view(1, -1, 1, 1))
    assert [m.padding for m in block.body if isinstance(m, torch.nn.Conv2d)] == [(0, 0), (0, 0)]
    padded = ResidualBlock(4, padded=True).eval()
    padded.load_state_dict(block.state_dict())
    torch.testing.assert_close(padded(x), x + block.body[-1].bias.view(1, -1, 1, 1))  # the zero-padded option


def test_standard_transform_net_parameter_count() -> None:
    assert sum(p.numel() for p in TransformNet(PerceptualLossConfig()).parameters()) == 1_679_235


def test_style_transfer_loss_combines_the_three_terms() -> None:
    phi = lambda x: [x, x[:, :, ::2, ::2]]  # noqa: E731  (any extractor returning a list)
    cfg = PerceptualLossConfig(content_weight=2.0, style_weight=3.0, tv_weight=0.5)
    y_hat, content, style = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.rand(1, 3, 6, 6)
    expected = (2.0 * feature_reconstruction_loss(phi(y_hat)[1], phi(content)[1])
                + 3.0 * style_reconstruction_loss(phi(y_hat), phi(style)) + 0.5 * total_variation(y_hat))
    torch.testing.assert_close(style_transfer_loss(phi, y_hat, content, style, config=cfg), expected)


def test_config_defaults_are_the_papers() -> None:
    c = PerceptualLossConfig()
    assert c.widths == (32, 64, 128) and c.num_residual == 5  # Supplementary, Table 1
    assert (c.content_weight, c.style_weight, c.tv_weight) == (1.0, 5.0, 1e-6)  # train.lua; Sec. 4.1: λ_TV ≥ 1e-6
    assert c.norm == "batch" and c.padding == "reflect-start"  # Sec. 3.1; Supplementary
    assert (c.tanh_scale, c.tanh_offset) == (127.5, 127.5)  # Sec. 3.1: scaled tanh onto [0, 255]


def test_official_preset_is_fast_neural_style_train_lua() -> None:
    # jcjohnson/fast-neural-style @ 813c83441953ead2adb3f65f4cc2d5599d735fa7 train.lua: -use_instance_norm 1,
    # -tanh_constant 150, -padding_type reflect-start. Parameters counted from models.lua's layers:
    # c9s1-32 7,776 + 32 + 64 (γ, β), d64 18,432 + 64 + 128, d128 73,728 + 128 + 256,
    # 5 × R128 2 × (147,456 + 128 + 256), u64 73,728 + 64 + 128, u32 18,432 + 32 + 64, c9s1-3 7,776 + 3.
    assert PerceptualLossConfig(norm="instance", tanh_scale=150.0, tanh_offset=0.0) == OFFICIAL
    count = (7_776 + 96) + (18_432 + 192) + (73_728 + 384) + 5 * 2 * (147_456 + 384) + (73_728 + 192) \
        + (18_432 + 96) + (7_776 + 3)
    assert count == 1_679_235
    net = TransformNet(OFFICIAL)
    assert sum(p.numel() for p in net.parameters()) == count
    norms = [m for m in net.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 5 + 2 * 5 and all(m.affine for m in norms)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    with torch.no_grad():
        net.net[-1].bias.fill_(50.0)  # saturate the tanh: 150 · tanh(≫1) → 150, not 255
    out = net(torch.zeros(1, 3, 44, 44))  # the 40-pixel reflection pad needs more than 40 pixels
    torch.testing.assert_close(out, torch.full_like(out, 150.0))


def test_paper_network_shapes_at_256() -> None:
    # Supplementary Table 1: 3×256² → reflection pad 40 → 3×336² → … → 128×84² → five blocks (−4 each)
    # → 128×64² → 64×128² → 32×256² → 3×256². Spatial sizes do not depend on the widths: narrow ones here.
    net = TransformNet(PerceptualLossConfig(widths=(2, 2, 4))).eval()
    assert net.pad == 40
    shapes = []
    hooks = [net.net[i].register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape[1:])))
             for i in (0, 2, 3, 7, 10)]
    with torch.no_grad():
        out = net(torch.rand(1, 3, 256, 256))
    for h in hooks:
        h.remove()
    assert shapes == [(2, 336, 336), (4, 84, 84), (4, 80, 80), (4, 64, 64), (2, 128, 128)]
    assert out.shape == (1, 3, 256, 256)


def test_input_is_reflection_padded_and_output_is_a_scaled_tanh() -> None:
    torch.manual_seed(7)
    net = TransformNet(TINY).eval()
    x = torch.rand(1, 3, 16, 12) * 255
    assert net.pad == 8  # 8 pixels per side per residual block
    padded = torch.nn.functional.pad(x, (8, 8, 8, 8), mode="reflect")
    torch.testing.assert_close(padded[..., 0, 8:20], x[..., 8, :])  # row −8 mirrors row 8
    expected = 127.5 * (torch.tanh(net.net(padded)) + 1)
    torch.testing.assert_close(net(x), expected)
    zero = TransformNet(PerceptualLossConfig(widths=(4, 8, 8), num_residual=1, padding="zero")).eval()
    assert zero.pad == 0 and zero(x).shape == x.shape


def test_unknown_norm_or_padding_is_refused() -> None:
    with pytest.raises(ValueError, match="norm"):
        TransformNet(PerceptualLossConfig(widths=(4, 8, 8), num_residual=1, norm="group"))
    with pytest.raises(ValueError, match="padding"):
        TransformNet(PerceptualLossConfig(widths=(4, 8, 8), num_residual=1, padding="replicate"))


def test_gram_normalises_by_channels_times_height_times_width() -> None:
    # One channel, H = 2, W = 3, values 1…6: G = Σ v² / (1·2·3) = 91 / 6.
    f = torch.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    torch.testing.assert_close(gram_matrix(f), torch.tensor([[[91.0 / 6]]]))


def test_style_loss_averages_the_per_image_distance_over_the_batch() -> None:
    # A batch of two outputs against one style image (broadcast), two layers: the per-image squared
    # Frobenius distances are summed over layers and averaged over the batch.
    a = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)  # G(a) = [[1, 0], [0, 0]] / 2
    b = torch.tensor([0.0, 2.0]).view(1, 2, 1, 1)  # G(b) = [[0, 0], [0, 4]] / 2
    s = torch.zeros(1, 2, 1, 1)
    y_hat = [torch.cat([a, b]), torch.cat([a, b]) * 2]
    per_image_a = 0.25 + 4.0  # layer 1: (1/2)²; layer 2: G(2a) = [[2, 0], [0, 0]], 2²
    per_image_b = 4.0 + 64.0  # layer 1: (4/2)²; layer 2: G(2b) = [[0, 0], [0, 8]], 8²
    loss = style_reconstruction_loss(y_hat, [s, s])
    torch.testing.assert_close(loss, torch.tensor((per_image_a + per_image_b) / 2))


def test_transform_net_layers_are_relu_and_batch_norm() -> None:
    net = TransformNet(PerceptualLossConfig())
    kinds = [type(m) for m in net.modules()]
    assert kinds.count(torch.nn.ReLU) == 5 + 5  # after each non-residual conv but the last, one per block
    assert kinds.count(torch.nn.BatchNorm2d) == 5 + 2 * 5 and torch.nn.LeakyReLU not in kinds
    assert torch.nn.InstanceNorm2d not in kinds
    convs = [m for m in net.net if isinstance(m, torch.nn.Sequential)]
    assert [c[0].stride for c in convs] == [(1, 1), (2, 2), (2, 2)]  # 9×9 s1, then two stride-2 3×3
    assert [c[0].kernel_size for c in convs] == [(9, 9), (3, 3), (3, 3)]
