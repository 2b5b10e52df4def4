"""One model to swap them all: XGAN's domain-adversarial loss on a shared encoder, and faceA's augmentations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.embedding_domain_adversarial import (
    SwapAllConfig,
    embedding_adversarial_loss,
    random_channel_shift,
    random_downsample,
)
from refimpl.xgan import DomainClassifier


def test_config_defaults() -> None:
    assert SwapAllConfig() == SwapAllConfig(channel_shift=0.1, max_downsample=4, grl_lambda=1.0)


def test_loss_is_xgan_dann_with_a_labelled_0_and_b_labelled_1() -> None:
    torch.manual_seed(0)
    enc = nn.Flatten()
    cls = DomainClassifier(4, hidden=3)
    a, b = torch.rand(2, 1, 2, 2), torch.rand(3, 1, 2, 2)
    la, lb = cls(enc(a)), cls(enc(b))
    expected = F.binary_cross_entropy_with_logits(la, torch.zeros(2)) + F.binary_cross_entropy_with_logits(
        lb, torch.ones(3))
    torch.testing.assert_close(embedding_adversarial_loss(enc, cls, a, b), expected)


def test_encoder_gets_the_reversed_gradient_of_the_classifier() -> None:
    torch.manual_seed(0)
    enc = nn.Linear(4, 4)
    cls = DomainClassifier(4, hidden=3)
    a, b = torch.rand(2, 4), torch.rand(2, 4)
    embedding_adversarial_loss(enc, cls, a, b).backward()
    g_reversed = enc.weight.grad.clone()
    # Without reversal (the classifier's own objective) the encoder's gradient flips sign.
    enc.zero_grad()
    plain = cls.net
    loss = F.binary_cross_entropy_with_logits(plain(enc(a)).squeeze(1), torch.zeros(2)) + \
        F.binary_cross_entropy_with_logits(plain(enc(b)).squeeze(1), torch.ones(2))
    loss.backward()
    torch.testing.assert_close(g_reversed, -enc.weight.grad)


def test_channel_shift_adds_one_bounded_offset_per_image_and_channel() -> None:
    x = torch.rand(50, 3, 4, 4)
    out = random_channel_shift(x, 0.1, torch.Generator().manual_seed(0))
    shift = out - x
    torch.testing.assert_close(shift, shift[..., :1, :1].expand_as(shift))  # constant per image and channel
    assert shift.abs().max() <= 0.1 and shift.abs().max() > 0.05
    assert not torch.allclose(shift[:, 0], shift[:, 1])


def test_downsampling_keeps_the_size_and_blurs_detail() -> None:
    x = torch.zeros(40, 1, 8, 8)
    x[..., ::2] = 1  # a one-pixel stripe pattern, destroyed by any downsampling
    out = random_downsample(x, 4, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    untouched = ((out - x).abs().flatten(1).amax(1) < 1e-6)
    assert 0 < untouched.sum() < 40  # factor 1 leaves an image alone; the others are blurred


def test_downsampling_by_more_than_the_image_size_keeps_one_pixel() -> None:
    # A factor larger than the side leaves a single pixel (the image's centre), so the
    # up-sampled image is constant: the strongest blur the augmentation can ask for.
    images = torch.arange(2 * 9, dtype=torch.float32).view(2, 1, 3, 3)
    factors = torch.randint(1, 1001, (2,), generator=torch.Generator().manual_seed(3)).tolist()
    assert min(factors) >= 4  # the draw below uses the same seed: both factors exceed the side
    out = random_downsample(images, max_factor=1000, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, images[:, :, 1:2, 1:2].expand(-1, -1, 3, 3))
