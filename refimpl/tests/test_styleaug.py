"""StyleAug and the consistency loss (arXiv:2112.09260): the claims that define the paper."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.adain import TINY as ADAIN_TINY
from refimpl.styleaug import (
    JSD_UPPER_BOUND_3,
    TINY,
    StyleAug,
    classic_ce_loss,
    consistency_loss,
    jensen_shannon,
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
