"""Domain Intersection and Domain Difference (arXiv:1908.11628): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.domain_intersection import (
    TINY,
    CodeDecoder,
    CodeEncoder,
    CommonCodeDiscriminator,
    DomainIntersectionModel,
    confusion_losses,
    reconstruction_loss,
    total_encoder_loss,
    zero_loss,
)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 8, 8) * 2 - 1


def test_zero_loss_vanishes_exactly_when_the_other_domains_separate_codes_are_zero(device: torch.device) -> None:
    z = torch.zeros(2, 2, 2, 2, device=device)
    assert zero_loss(z, z).item() == 0.0
    code = torch.full((2, 2, 2, 2), -0.5, device=device)
    torch.testing.assert_close(zero_loss(code, z), torch.tensor(0.5, device=device))
    torch.testing.assert_close(zero_loss(z, code * 2), torch.tensor(1.0, device=device))


def test_zero_loss_applies_to_the_other_domains_encoder_only() -> None:
    model = DomainIntersectionModel(TINY)
    a, b = _batch()
    _, _, sb_a = model.encode(a)  # B-specific code of an A image
    _, sa_b, _ = model.encode(b)  # A-specific code of a B image
    zero_loss(sb_a, sa_b).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.separate_a.parameters())
    assert all(p.grad is not None for p in model.separate_b.parameters())
    assert all(p.grad is None for p in [*model.common.parameters(), *model.decoder.parameters()])


def test_a_model_with_silent_cross_domain_encoders_has_zero_loss_and_unchanged_reconstruction() -> None:
    model = DomainIntersectionModel(TINY)
    with torch.no_grad():
        for enc in (model.separate_a, model.separate_b):
            enc.net[-1].weight.zero_()
            enc.net[-1].bias.zero_()
    a, b = _batch()
    _, _, sb_a = model.encode(a)
    _, sa_b, _ = model.encode(b)
    assert zero_loss(sb_a, sa_b).item() == 0.0
    torch.testing.assert_close(model(a), model.intersection(a))  # nothing domain-specific left


def test_decoder_receives_common_then_a_then_b_codes() -> None:
    model = DomainIntersectionModel(TINY).eval()
    assert isinstance(model.common, CodeEncoder) and isinstance(model.decoder, CodeDecoder)
    a, b = _batch()
    seen = []
    model.decoder.register_forward_hook(lambda _m, inp, _o: seen.append(inp[0]))
    out = model.transfer_a_to_b(a, b)
    expected = torch.cat([model.common(b), model.separate_a(a), model.separate_b(b)], dim=1)
    torch.testing.assert_close(seen[-1], expected)
    assert out.shape == b.shape
    model.intersection(a)
    c = TINY.common_dim
    assert (seen[-1][:, c:] == 0).all()
    torch.testing.assert_close(seen[-1][:, :c], model.common(a))


def test_confusion_losses_train_the_discriminator_and_the_encoder_in_opposite_directions() -> None:
    disc = CommonCodeDiscriminator(TINY.common_dim, 8)
    model = DomainIntersectionModel(TINY)
    a, b = _batch()
    d_loss, e_loss = confusion_losses(disc, model.common(a), model.common(b))
    d_loss.backward(retain_graph=True)
    assert all(p.grad is None for p in model.common.parameters())  # D's loss does not move the encoder
    # perfectly separated codes: D's loss is ~0 while the encoder's confusion loss is large
    def separating(codes: torch.Tensor) -> torch.Tensor:  # logit +20 for A's codes (ones), −20 for B's (zeros)
        return (codes.mean(1) > 0.5).float() * 40 - 20

    d_sep, e_sep = confusion_losses(separating, torch.ones(2, 1), torch.zeros(2, 1))
    assert d_sep.item() < 1e-6
    torch.testing.assert_close(e_sep, torch.tensor(40.0))  # softplus(20) + softplus(20)


def test_total_loss_and_reconstruction_are_finite_and_train_every_network() -> None:
    model, disc = DomainIntersectionModel(TINY), CommonCodeDiscriminator(TINY.common_dim, 8)
    a, b = _batch()
    assert reconstruction_loss(model, a, b).item() > 0
    total_encoder_loss(model, disc, a, b).backward()
    for net in (model.common, model.separate_a, model.separate_b, model.decoder):
        assert all(p.grad is not None for p in net.parameters())


def test_config_defaults_are_the_papers() -> None:
    from refimpl.domain_intersection import DomainIntersectionConfig

    # Sec. 4: 128 × 128 CelebA images; a 512-channel code split into a common part and two
    # separate parts of 100 channels each.
    c = DomainIntersectionConfig()
    assert (c.image_size, c.width, c.common_dim, c.separate_dim) == (128, 64, 312, 100)


def test_common_code_discriminator_is_a_same_padded_conv_pooled_to_one_logit_per_code() -> None:
    import torch.nn.functional as F

    d = CommonCodeDiscriminator(5)
    conv, linear = d.net[0], d.net[-1]
    assert conv.out_channels == 64
    code = torch.randn(3, 5, 4, 6)
    h = F.leaky_relu(F.conv2d(code, conv.weight, conv.bias, padding=1), 0.2).mean(dim=(2, 3))
    out = d(code)
    assert out.shape == (3,)
    torch.testing.assert_close(out, (h @ linear.weight.T + linear.bias).squeeze(1))
