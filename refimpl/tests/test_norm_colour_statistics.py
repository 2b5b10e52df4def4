"""Instance and batch norm divide out per-image colour statistics: skin tone cannot survive them."""

from __future__ import annotations

import torch

from refimpl.norm_colour_statistics import (
    NormalisedStem,
    batch_norm_features,
    instance_norm_features,
    skin_tone_shift,
)

GAIN = torch.tensor([0.8, 0.7, 0.6])  # a darker, cooler tone
BIAS = torch.tensor([0.05, 0.0, -0.02])


def _face() -> torch.Tensor:
    return torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def test_skin_tone_shift_is_per_channel_affine_by_hand() -> None:
    x = torch.ones(1, 3, 1, 1)
    torch.testing.assert_close(skin_tone_shift(x, GAIN, BIAS).flatten(), torch.tensor([0.85, 0.7, 0.58]))


def test_instance_norm_maps_two_skin_tones_to_the_same_features() -> None:
    face = _face()
    other = skin_tone_shift(face, GAIN, BIAS)
    assert (face - other).abs().mean() > 0.05
    torch.testing.assert_close(instance_norm_features(face), instance_norm_features(other), atol=1e-3, rtol=0)  # eps in the variance differs slightly
    # The learnable stems agree: with instance norm the tone is gone, without a norm layer it is kept.
    torch.manual_seed(0)
    stem = NormalisedStem("instance")
    with torch.no_grad():  # a unit-scale stem, so the norm layer's eps stays negligible
        stem.scale.weight.fill_(1.5)
    torch.testing.assert_close(stem(face), stem(other), atol=1e-3, rtol=0)  # eps in the variance differs slightly
    plain = NormalisedStem("none")
    assert not torch.allclose(plain(face), plain(other), atol=1e-2)


def test_batch_norm_does_the_same_for_a_batch_of_one_tone() -> None:
    # One identity's training set shares its tone: the whole batch is shifted alike.
    face = _face()
    other = skin_tone_shift(face, GAIN, BIAS)
    torch.testing.assert_close(batch_norm_features(face), batch_norm_features(other), atol=1e-3, rtol=0)  # eps in the variance differs slightly
    stem = NormalisedStem("batch").train()
    with torch.no_grad():
        stem.scale.weight.fill_(1.5)
    torch.testing.assert_close(stem(face), stem(other), atol=1e-3, rtol=0)  # eps in the variance differs slightly
    # Mixed in one batch with untouched faces, batch norm keeps the difference (its statistics are shared).
    mixed = batch_norm_features(torch.cat([face, other]))
    assert not torch.allclose(mixed[:2], mixed[2:], atol=1e-2)


def test_instance_norm_output_has_zero_mean_unit_variance_per_image_channel() -> None:
    out = instance_norm_features(skin_tone_shift(_face(), GAIN, BIAS))
    torch.testing.assert_close(out.mean((2, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var((2, 3), unbiased=False), torch.ones(2, 3), atol=1e-3, rtol=0)


def test_the_stems_differ_on_a_batch_mixing_two_tones() -> None:
    # A batch holding a face in both tones: instance norm still erases the tone image by image,
    # batch norm (statistics shared across the batch) keeps it.
    face = _face()
    mixed = torch.cat([face, skin_tone_shift(face, GAIN, BIAS)])
    torch.manual_seed(0)
    instance, batch = NormalisedStem("instance"), NormalisedStem("batch").train()
    with torch.no_grad():
        instance.scale.weight.fill_(1.5)
        batch.scale.weight.fill_(1.5)
    out = instance(mixed)
    torch.testing.assert_close(out[:2], out[2:], atol=1e-3, rtol=0)
    out = batch(mixed)
    assert not torch.allclose(out[:2], out[2:], atol=1e-2)


def test_both_norm_layers_carry_a_learnable_per_channel_affine() -> None:
    # 1x1 depthwise conv: 3 weights + 3 biases; InstanceNorm2d(affine=True) and BatchNorm2d: 3 gains + 3 shifts.
    counts = {n: sum(p.numel() for p in NormalisedStem(n).parameters()) for n in ("instance", "batch", "none")}
    assert counts == {"instance": 12, "batch": 12, "none": 6}
