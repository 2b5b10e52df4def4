"""Perceptual losses (arXiv:1603.08155): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.perceptual_loss import (
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


def test_residual_block_adds_its_input() -> None:
    block = ResidualBlock(4).eval()
    with torch.no_grad():
        block.body[-1].weight.zero_()
    x = torch.randn(1, 4, 3, 3)
    torch.testing.assert_close(block(x), x + block.body[-1].bias.view(1, -1, 1, 1))


def test_standard_transform_net_parameter_count() -> None:
    assert sum(p.numel() for p in TransformNet(PerceptualLossConfig()).parameters()) == 1_679_235


def test_style_transfer_loss_combines_the_three_terms() -> None:
    phi = lambda x: [x, x[:, :, ::2, ::2]]  # noqa: E731  (any extractor returning a list)
    cfg = PerceptualLossConfig(content_weight=2.0, style_weight=3.0, tv_weight=0.5)
    y_hat, content, style = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.rand(1, 3, 6, 6)
    expected = (2.0 * feature_reconstruction_loss(phi(y_hat)[1], phi(content)[1])
                + 3.0 * style_reconstruction_loss(phi(y_hat), phi(style)) + 0.5 * total_variation(y_hat))
    torch.testing.assert_close(style_transfer_loss(phi, y_hat, content, style, config=cfg), expected)
