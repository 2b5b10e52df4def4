"""StyleAug and the consistency loss (arXiv:2112.09260): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from refimpl.adain import TINY as ADAIN_TINY
from refimpl.styleaug import (
    JSD_UPPER_BOUND_3,
    TINY,
    ConditionalInstanceNorm,
    ConditionalResidualBlock,
    ConvInReLU,
    StyleAug,
    StyleAugConfig,
    StyleRandomizer,
    StyleTransformer,
    UpConvCIN,
    classic_ce_loss,
    consistency_loss,
    jensen_shannon,
    sample_style_embedding,
)


def test_jsd_is_zero_for_identical_distributions(device: torch.device) -> None:
    p = torch.softmax(torch.randn(4, 6, device=device), -1)
    torch.testing.assert_close(jensen_shannon(p, p.clone(), p.clone()), torch.zeros(4, device=device),
                               atol=1e-6, rtol=0)


def test_jsd_hand_computed_value_and_upper_bound() -> None:
    # p1 = (1, 0), p2 = (0, 1), p3 = (½, ½): M = (½, ½), KLs = log 2, log 2, 0 → JSD = ⅔ log 2
    p1, p2, p3 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]])
    torch.testing.assert_close(jensen_shannon(p1, p2, p3), torch.tensor([2 / 3 * math.log(2)]))
    # disjoint supports reach the bound log 3
    eye = torch.eye(3)
    torch.testing.assert_close(jensen_shannon(eye[:1], eye[1:2], eye[2:]), torch.tensor([JSD_UPPER_BOUND_3]))
    for _ in range(5):
        ps = [torch.softmax(torch.randn(8, 3) * 5, -1) for _ in range(3)]
        assert (jensen_shannon(*ps) <= JSD_UPPER_BOUND_3 + 1e-6).all()
        assert (jensen_shannon(*ps) >= 0).all()


def test_consistency_loss_is_ce_plus_weighted_jsd() -> None:
    lo, l1, l2 = torch.randn(3, 5), torch.randn(3, 5), torch.randn(3, 5)
    y = torch.tensor([0, 2, 4])
    ce = F.cross_entropy(lo, y)
    torch.testing.assert_close(consistency_loss(lo, l1, l2, y, jsd_weight=0.0), ce)
    torch.testing.assert_close(consistency_loss(lo, lo, lo, y, jsd_weight=12.0), ce, atol=1e-6, rtol=0)
    jsd = jensen_shannon(lo.softmax(-1), l1.softmax(-1), l2.softmax(-1)).mean()
    torch.testing.assert_close(consistency_loss(lo, l1, l2, y, jsd_weight=2.0), ce + 2 * jsd)


def test_classic_ce_averages_the_views() -> None:
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    y = torch.tensor([1, 0, 3])
    torch.testing.assert_close(classic_ce_loss([a, b], y), (F.cross_entropy(a, y) + F.cross_entropy(b, y)) / 2)


def _augment() -> StyleAug:
    aug = StyleAug(config=TINY, adain_config=ADAIN_TINY).eval()
    # stand-in for pretrained weights: a He initialisation keeps the signal alive through the 17 random
    # convolutions (PyTorch's default init shrinks it until the output no longer depends on the input)
    for m in aug.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    return aug


def test_styleaug_at_alpha_zero_ignores_the_style() -> None:
    aug = _augment()
    x = torch.rand(2, 3, 16, 16)
    zero = torch.zeros(2)
    out_a = aug(x, torch.rand(2, 3, 16, 16), zero)
    out_b = aug(x, torch.rand(2, 3, 16, 16), zero)
    torch.testing.assert_close(out_a, out_b)
    t = aug.transfer
    torch.testing.assert_close(out_a, t.decoder(t.encoder(x)[-1]), atol=1e-5, rtol=1e-5)
    assert (aug(x, torch.rand(2, 3, 16, 16) * 3, torch.ones(2)) - out_a).abs().max() > 1e-2  # α = 1 restyles


def test_random_styleaug_is_reproducible_and_has_no_learnable_parameters() -> None:
    aug = _augment()
    x = torch.rand(3, 3, 16, 16)
    a = aug.random(x, torch.Generator().manual_seed(5))
    b = aug.random(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert a.shape == x.shape
    assert (aug.random(x, torch.Generator().manual_seed(6)) - a).abs().max() > 1e-3  # other draws differ
    assert not any(p.requires_grad for p in aug.parameters())


# --------------------------------------------------------------------- style randomisation (Jackson et al.)
# Facts from philipjackson/style-augmentation at 0273e2e66a894d553c7466773802e09eae41f698: styleaug/ghiasi.py
# Ghiasi() counted with sum(p.numel()) per layer, and its output (float64) on the input below with every
# parameter set by _fill (mapped by role: conv, fc_gamma → gamma, fc_beta → beta); StyleAugmentor.forward α 0.5.
OFFICIAL_LAYER_COUNTS = [7_808, 18_496, 73_856] + [346_880] * 5 + [86_720, 24_928, 8_385]


def _fill(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for i, (_, p) in enumerate(model.named_parameters()):
            p.copy_((0.05 * torch.sin(0.3 * torch.arange(p.numel(), dtype=torch.float64) + i)).reshape(p.shape))


def test_config_defaults() -> None:
    c = StyleAugConfig()
    assert c.jsd_weight == 12.0  # AugMix's λ for the JSD term
    assert (c.max_alpha, c.eps) == (1.0, 1e-7)
    assert (c.embedding_dim, c.alpha) == (100, 0.5)  # ghiasi.py Linear(100, ·); StyleAugmentor alpha=0.5


def test_style_transformer_has_the_official_parameter_count() -> None:
    with torch.device("meta"):
        t = StyleTransformer()
    counts = [sum(p.numel() for p in m.parameters()) for m in [*t.encoder, *t.res_blocks, *t.up]]
    assert counts == OFFICIAL_LAYER_COUNTS and sum(counts) == 1_954_593


def test_style_transformer_matches_the_official_output() -> None:
    t = StyleTransformer().double()
    _fill(t)
    x = ((torch.arange(3 * 8 * 12, dtype=torch.float64) % 7) / 7).reshape(1, 3, 8, 12)
    e = torch.sin(torch.arange(100, dtype=torch.float64)).reshape(1, 100)
    with torch.no_grad():
        out = t(x, e)
    assert out.shape == (1, 3, 8, 12)
    official = [0.5211644650238915, 0.527717110193696, 0.5314156214809147, 0.531073460354981]
    torch.testing.assert_close(out.flatten()[:4], torch.tensor(official, dtype=torch.float64), rtol=1e-10, atol=0)
    assert out.sum().item() == pytest.approx(146.87017125691423, rel=1e-12)
    assert out.std().item() == pytest.approx(0.014980201071335695, rel=1e-9)


def test_style_transformer_layers() -> None:
    t = StyleTransformer(width=2, n_res=2, embedding_dim=4)
    pads = [m.padding for m in t.modules() if isinstance(m, torch.nn.ReflectionPad2d)]
    assert pads == [(4, 4, 4, 4)] + [(1, 1, 1, 1)] * 2 + [(1, 1, 1, 1)] * 4 + [(1, 1, 1, 1)] * 2 + [(4, 4, 4, 4)]
    assert not any(isinstance(m, torch.nn.ZeroPad2d) for m in t.modules())
    assert [c.stride for c in t.modules() if isinstance(c, torch.nn.Conv2d)][:3] == [(1, 1), (2, 2), (2, 2)]
    assert not any(p.numel() for m in t.modules() if isinstance(m, torch.nn.InstanceNorm2d) for p in m.parameters())
    out = t(torch.rand(2, 3, 12, 20), torch.randn(2, 4))
    assert out.shape == (2, 3, 12, 20) and out.min() > 0 and out.max() < 1  # sigmoid range


def _reflect_conv(x: torch.Tensor, seq: torch.nn.Sequential) -> torch.Tensor:
    conv = seq[1]
    p = conv.kernel_size[0] // 2
    return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), conv.weight, conv.bias, conv.stride)


def _inorm(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean((2, 3), keepdim=True)) / (x.var((2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()


def test_conditional_blocks_match_a_float64_recomputation() -> None:
    torch.manual_seed(0)
    x, e = torch.randn(2, 3, 5, 6, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    block = ConditionalResidualBlock(3, 4).double()

    def cin(h: torch.Tensor, norm: torch.nn.Module) -> torch.Tensor:
        return norm.gamma(e)[..., None, None] * _inorm(h) + norm.beta(e)[..., None, None]

    y = torch.relu(cin(_reflect_conv(x, block.conv1), block.norm1))
    torch.testing.assert_close(block(x, e), x + cin(_reflect_conv(y, block.conv2), block.norm2))
    up = UpConvCIN(3, 2, 3, upsample=True, embedding_dim=4).double()
    h = _reflect_conv(x.repeat_interleave(2, 2).repeat_interleave(2, 3), up.conv)  # nearest ×2
    torch.testing.assert_close(up(x, e), torch.relu(cin(h, up.norm)))
    last = UpConvCIN(3, 2, 3, upsample=False, relu=False, embedding_dim=4).double()
    out = last(x, e)
    torch.testing.assert_close(out, cin(_reflect_conv(x, last.conv), last.norm))
    assert out.min() < 0  # no activation on the last layer
    first = ConvInReLU(3, 2, 3, 2).double()
    torch.testing.assert_close(first(x), torch.relu(_inorm(_reflect_conv(x, first.conv))))


def test_sampled_embeddings_follow_the_given_gaussian() -> None:
    mean = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    a = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, -0.5, 0.3]], dtype=torch.float64)
    cov = a @ a.t()
    z = sample_style_embedding(20000, mean, cov, torch.Generator().manual_seed(0))
    assert z.shape == (20000, 3)
    torch.testing.assert_close(z.mean(0), mean, atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(z.t()), cov, atol=0.04, rtol=0)


def test_style_randomizer_blends_random_and_own_embeddings() -> None:
    t = StyleTransformer(width=2, n_res=1, embedding_dim=3)
    aug = StyleRandomizer(t, StyleAugConfig(embedding_dim=3))
    assert not any(p.requires_grad for p in aug.parameters())
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    base, z = torch.randn(2, 3), torch.randn(2, 3)
    out = aug(x, base, embedding=z)
    torch.testing.assert_close(out, t(x, 0.5 * z + 0.5 * base))  # α = 0.5 by default
    assert not out.requires_grad
    torch.testing.assert_close(aug(x, base, alpha=0.25, embedding=z), t(x, 0.25 * z + 0.75 * base))
    torch.testing.assert_close(aug(x, base, alpha=0.0, embedding=z), t(x, base))
    # without a given embedding one is drawn from N(mean, cov): reproducible per generator, N(0, I) by default
    a = aug(x, base, generator=torch.Generator().manual_seed(3))
    z3 = torch.randn(2, 3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, t(x, 0.5 * z3 + 0.5 * base))
    shifted = StyleRandomizer(t, StyleAugConfig(embedding_dim=3), mean=torch.full((3,), 2.0), cov=4 * torch.eye(3))
    b = shifted(x, base, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(b, t(x, 0.5 * (2 * z3 + 2.0) + 0.5 * base), atol=1e-5, rtol=1e-5)


def test_conditional_layers_default_to_a_100_d_embedding() -> None:
    assert ConditionalInstanceNorm(4).gamma.in_features == 100
    assert ConditionalResidualBlock(4).norm2.beta.in_features == 100
    up = UpConvCIN(4, 2, 3, upsample=False)
    assert up.norm.gamma.in_features == 100 and up.relu


def test_random_styleaug_with_zero_strength_keeps_the_content() -> None:
    aug = _augment()
    aug.config = StyleAugConfig(max_alpha=0.0)  # α ~ U(0, 0): no restyling at all
    x = torch.rand(2, 3, 16, 16)
    t = aug.transfer
    torch.testing.assert_close(aug.random(x, torch.Generator().manual_seed(1)), t.decoder(t.encoder(x)[-1]),
                               atol=1e-5, rtol=1e-5)
