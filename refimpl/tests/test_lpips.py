"""LPIPS (arXiv:1801.03924): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.lpips import (
    ALEXNET,
    LPIPS,
    SQUEEZENET,
    TINY,
    LinearLayer,
    LPIPSConfig,
    ScalingLayer,
    TinyBackbone,
    distance_from_features,
    normalize_channels,
)


def _metric() -> LPIPS:
    torch.manual_seed(0)
    m = LPIPS(TinyBackbone(), TINY).eval()
    with torch.no_grad():  # distinct non-negative learned weights
        for lin in m.lins:
            lin.conv.weight.uniform_(0.1, 2.0)
    return m


def test_distance_to_itself_is_zero_and_distance_is_symmetric(device: torch.device) -> None:
    m = _metric().to(device)
    x, y = torch.rand(2, 2, 3, 8, 8, device=device) * 2 - 1
    torch.testing.assert_close(m(x, x), torch.zeros(2, device=device))
    torch.testing.assert_close(m(x, y), m(y, x))
    assert (m(x, y) > 0).all()


def test_distance_is_non_negative_after_clamping_weights() -> None:
    m = _metric()
    with torch.no_grad():
        m.lins[0].conv.weight.normal_()  # a step may push some weights negative
    m.clamp_weights()
    assert all((lin.conv.weight >= 0).all() for lin in m.lins)
    x, y = torch.rand(2, 4, 3, 8, 8) * 2 - 1
    assert (m(x, y) >= 0).all()


def test_unit_normalisation_makes_per_position_feature_scaling_irrelevant() -> None:
    f, f0 = torch.randn(2, 5, 4, 4), torch.randn(2, 5, 4, 4)
    scale = torch.rand(2, 1, 4, 4) * 10 + 0.1  # a positive factor per sample and position
    lins = [LinearLayer(5).eval()]
    torch.testing.assert_close(distance_from_features([f * scale], [f0], lins), distance_from_features([f], [f0], lins))
    norms = normalize_channels(f * scale).pow(2).sum(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_unit_weights_give_the_cosine_distance() -> None:
    # ‖a − b‖² = 2 − 2 cos(a, b) for unit vectors; averaged over positions.
    f, f0 = torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)
    cos = torch.nn.functional.cosine_similarity(f, f0, dim=1)
    (d,) = distance_from_features([f], [f0], [LinearLayer(3).eval()])
    torch.testing.assert_close(d, (2 - 2 * cos).mean(dim=(1, 2)))


def test_layers_are_summed_and_weighted_channelwise() -> None:
    f, f0 = torch.zeros(1, 2, 1, 1), torch.zeros(1, 2, 1, 1)
    f[0, 0], f[0, 1], f0[0, 0] = 0.6, 0.8, 1.0  # unit vectors, difference (−0.4, 0.8)
    lin = LinearLayer(2).eval()
    with torch.no_grad():
        lin.conv.weight.copy_(torch.tensor([3.0, 0.5]).view(1, 2, 1, 1))
    (d,) = distance_from_features([f], [f0], [lin])
    torch.testing.assert_close(d, torch.tensor([3.0 * 0.16 + 0.5 * 0.64]))  # squared: 0.8 (absolute: 1.6)
    (d2,) = distance_from_features([f * 5], [f0 * 2], [lin])  # normalised first: same distance
    torch.testing.assert_close(d2, d)
    m = _metric()
    x, y = torch.rand(2, 1, 3, 8, 8) * 2 - 1
    torch.testing.assert_close(m(x, y), sum(m.layer_distances(x, y)))


def test_scaling_layer_uses_imagenet_statistics() -> None:
    # richzhang/PerceptualSimilarity @ 082bb24 lpips/lpips.py ScalingLayer: shift (−.030, −.088, −.188),
    # scale (.458, .448, .450).
    out = ScalingLayer()(torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
    torch.testing.assert_close(out, torch.zeros(1, 3, 1, 1))
    x = torch.tensor([-0.030 + 2 * 0.458, -0.088 - 0.448, -0.188 + 0.5 * 0.450]).view(1, 3, 1, 1)
    torch.testing.assert_close(ScalingLayer()(x), torch.tensor([2.0, -1.0, 0.5]).view(1, 3, 1, 1))


def test_only_the_linear_weights_learn_and_standard_counts_match() -> None:
    m = _metric()
    learned = [n for n, p in m.named_parameters() if p.requires_grad]
    assert all(n.startswith("lins.") for n in learned) and learned
    def count(cfg: LPIPSConfig) -> int:
        return sum(LinearLayer(c).conv.weight.numel() for c in cfg.channels)
    assert count(LPIPSConfig()) == 1472  # VGG
    assert count(ALEXNET) == 1152  # AlexNet
    assert count(SQUEEZENET) == 2240  # SqueezeNet (channel lists of lpips/lpips.py @ 082bb24)
