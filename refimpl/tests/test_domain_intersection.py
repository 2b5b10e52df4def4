"""Domain Intersection and Domain Difference (arXiv:1908.11628): the claims that define the paper.

Official figures: sagiebenaim/DomainIntersectionDifference @ 13a492d72bbeb1471b158a6488505d50ed718b49,
models/models.py (E_common, E_separate_A/B, Decoder, Disc) instantiated with train/train.py's defaults
(--resize 128 --sep 25, size = 128 // 64 = 2, dim = 512).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from refimpl.domain_intersection import (
    OFFICIAL,
    TINY,
    CodeDecoder,
    CodeEncoder,
    CommonCodeDiscriminator,
    DomainIntersectionConfig,
    DomainIntersectionModel,
    build_discriminator,
    confusion_losses,
    reconstruction_loss,
    total_encoder_loss,
    zero_loss,
)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1


def _trainable(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


# --------------------------------------------------------------------- official preset
def test_config_defaults_are_the_official_training_script() -> None:
    c = DomainIntersectionConfig()
    assert c == OFFICIAL
    assert c.image_size == 128  # --resize 128 (Sec. 4: 128 × 128 CelebA)
    assert c.widths == (32, 64, 128, 256, 512) and c.code_channels == 512  # models.py, dim = 512
    assert (c.separate_channels, c.common_channels, c.code_size) == (25, 462, 2)  # --sep 25
    assert c.separate_channels * c.code_size**2 == 100  # a separate code holds 100 values
    assert c.disc_width == 512 and c.spectral_norm
    assert (c.recon_weight, c.zero_weight, c.confusion_weight) == (1.0, 1.0, 0.001)  # --reconweight/--zeroweight/--discweight


def test_official_parameter_counts() -> None:
    # Trainable parameters of the official modules: E_common 6,285,749; E_separate_A/B 2,992,633;
    # Decoder 6,982,115; Disc 947,201. Spectral norm adds no trainable parameter (checked below), so the
    # count is taken without it on the meta device.
    with torch.device("meta"):
        model = DomainIntersectionModel(dataclasses.replace(OFFICIAL, spectral_norm=False))
        disc = build_discriminator(OFFICIAL)
    counts = [_trainable(m) for m in (model.common, model.separate_a, model.separate_b, model.decoder, disc)]
    assert counts == [6_285_749, 2_992_633, 2_992_633, 6_982_115, 947_201]
    assert sum(counts[:4]) == 19_253_130


@pytest.mark.slow
def test_official_code_shapes_at_128() -> None:
    # official: E_common(x).view(−1, 462·2·2), E_separate(x).view(−1, 25·2·2), Decoder → (N, 3, 128, 128)
    model = DomainIntersectionModel(dataclasses.replace(OFFICIAL, spectral_norm=False)).eval()
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        common, spec_a, spec_b = model.encode(x)
        assert common.shape == (1, 462, 2, 2) and spec_a.shape == spec_b.shape == (1, 25, 2, 2)
        assert model.reconstruct_a(x).shape == (1, 3, 128, 128)
        assert build_discriminator(OFFICIAL)(common).shape == (1,)


def test_spectral_norm_keeps_the_trainable_count_and_normalises_along_the_first_weight_dimension() -> None:
    torch.manual_seed(0)
    with_sn, without = DomainIntersectionModel(TINY), DomainIntersectionModel(dataclasses.replace(TINY, spectral_norm=False))
    assert _trainable(with_sn) == _trainable(without)
    # the official SpectralNorm reshapes weight to (weight.shape[0], −1), also for transposed convs (in, out·k·k)
    up = with_sn.decoder.blocks[0][0]
    raw = up.parametrizations.weight.original
    for _ in range(30):  # power iterations run in training mode
        up(torch.randn(1, raw.shape[0], 2, 2))
    w = up.weight.detach()
    assert abs(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item() - 1.0) < 1e-3
    assert abs(torch.linalg.matrix_norm(w.transpose(0, 1).reshape(w.shape[1], -1), ord=2).item() - 1.0) > 1e-3
    assert isinstance(with_sn.decoder.to_rgb, torch.nn.ConvTranspose2d)
    assert not hasattr(with_sn.decoder.to_rgb, "parametrizations")  # the RGB layer is not normalised


def test_encoder_blocks_are_strided_4x4_convs_with_instance_norm_and_leaky_relu() -> None:
    enc = CodeEncoder((4, 8), (6, 4), sn=False)
    convs = [b[0] for b in enc.net]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 4), (4, 6), (6, 4)]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1) for c in convs)
    x = torch.randn(2, 3, 16, 16)
    h = F.conv2d(x, convs[0].weight, convs[0].bias, stride=2, padding=1)
    h = F.leaky_relu(F.instance_norm(h), 0.2)
    torch.testing.assert_close(enc.net[0](x), h)


def test_decoder_mirrors_the_encoder_and_ends_in_tanh() -> None:
    dec = CodeDecoder((4, 8), sn=False)
    ups = [b[0] for b in dec.blocks]
    assert [(c.in_channels, c.out_channels) for c in ups] == [(8, 8), (8, 4)]
    assert (dec.to_rgb.in_channels, dec.to_rgb.out_channels) == (4, 3)
    code = torch.randn(2, 8, 2, 2) * 5
    out = dec(code)
    assert out.shape == (2, 3, 16, 16) and out.abs().max() < 1
    h = F.relu(F.instance_norm(F.conv_transpose2d(code, ups[0].weight, ups[0].bias, stride=2, padding=1)))
    torch.testing.assert_close(dec.blocks[0](code), h)


# --------------------------------------------------------------------- the codes and the decoder
def test_reconstruction_fills_the_other_domains_slot_with_zeros() -> None:
    model = DomainIntersectionModel(TINY).eval()
    a, b = _batch()
    seen = []
    model.decoder.register_forward_hook(lambda _m, inp, _o: seen.append(inp[0]))
    c, sep = TINY.common_channels, TINY.separate_channels
    model.reconstruct_a(a)
    torch.testing.assert_close(seen[-1], torch.cat([model.common(a), model.separate_a(a), torch.zeros(2, sep, 2, 2)], 1))
    model.reconstruct_b(b)
    torch.testing.assert_close(seen[-1], torch.cat([model.common(b), torch.zeros(2, sep, 2, 2), model.separate_b(b)], 1))
    # the loss is the L1 of those two reconstructions
    expected = (model.reconstruct_a(a) - a).abs().mean() + (model.reconstruct_b(b) - b).abs().mean()
    torch.testing.assert_close(reconstruction_loss(model, a, b), expected)
    assert seen[-1].shape[1] == c + 2 * sep


def test_transfer_puts_as_specific_code_on_bs_common_code() -> None:
    model = DomainIntersectionModel(TINY).eval()
    a, b = _batch()
    seen = []
    model.decoder.register_forward_hook(lambda _m, inp, _o: seen.append(inp[0]))
    out = model.transfer_a_to_b(a, b)
    sep = TINY.separate_channels
    expected = torch.cat([model.common(b), model.separate_a(a), torch.zeros(2, sep, 2, 2)], dim=1)
    torch.testing.assert_close(seen[-1], expected)
    assert out.shape == b.shape
    model.intersection(a)
    c = TINY.common_channels
    assert (seen[-1][:, c:] == 0).all()
    torch.testing.assert_close(seen[-1][:, :c], model.common(a))


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
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.separate_a.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.separate_b.parameters())
    assert all(p.grad is None for p in [*model.common.parameters(), *model.decoder.parameters()])


def test_a_model_with_silent_separate_encoders_reconstructs_from_the_intersection() -> None:
    model = DomainIntersectionModel(dataclasses.replace(TINY, spectral_norm=False)).eval()
    with torch.no_grad():
        for enc in (model.separate_a, model.separate_b):  # LReLU(IN(·)) of a constant map is 0
            enc.net[-1][0].weight.zero_()
            enc.net[-1][0].bias.zero_()
    a, b = _batch()
    _, _, sb_a = model.encode(a)
    _, sa_b, _ = model.encode(b)
    assert zero_loss(sb_a, sa_b).item() == 0.0
    torch.testing.assert_close(model.reconstruct_a(a), model.intersection(a))


# --------------------------------------------------------------------- domain confusion
def test_discriminator_is_an_mlp_on_the_flattened_common_code() -> None:
    d = build_discriminator(TINY)
    first, last = d.net[1], d.net[3]
    assert (first.in_features, first.out_features, last.out_features) == (4 * 2 * 2, 8, 1)
    code = torch.randn(3, 4, 2, 2)
    h = F.leaky_relu(code.flatten(1) @ first.weight.T + first.bias, 0.2)
    torch.testing.assert_close(d(code), (h @ last.weight.T + last.bias).squeeze(1))
    assert isinstance(d, CommonCodeDiscriminator)


def test_confusion_losses_are_bce_with_both_codes_pushed_to_bs_label() -> None:
    def linear(codes: torch.Tensor) -> torch.Tensor:  # logit = mean of the code
        return codes.mean(1)

    ca, cb = torch.tensor([[2.0], [1.0]]), torch.tensor([[-1.0], [3.0]])
    d_loss, e_loss = confusion_losses(linear, ca, cb)
    bce = F.binary_cross_entropy_with_logits
    torch.testing.assert_close(d_loss, bce(ca[:, 0], torch.ones(2)) + bce(cb[:, 0], torch.zeros(2)))
    torch.testing.assert_close(e_loss, bce(ca[:, 0], torch.zeros(2)) + bce(cb[:, 0], torch.zeros(2)))
    # by hand: softplus(x) = log(1 + e^x)
    sp = lambda x: torch.log1p(torch.exp(torch.tensor(x))).item()  # noqa: E731
    assert abs(e_loss.item() - ((sp(2.0) + sp(1.0)) / 2 + (sp(-1.0) + sp(3.0)) / 2)) < 1e-6


def test_discriminator_loss_does_not_move_the_encoder() -> None:
    disc, model = build_discriminator(TINY), DomainIntersectionModel(TINY)
    a, b = _batch()
    d_loss, e_loss = confusion_losses(disc, model.common(a), model.common(b))
    d_loss.backward(retain_graph=True)
    assert all(p.grad is None for p in model.common.parameters())
    assert all(p.grad is not None for p in disc.parameters())
    e_loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.common.parameters())


def test_total_loss_weighs_the_three_terms_and_trains_every_network() -> None:
    torch.manual_seed(0)
    model, disc = DomainIntersectionModel(TINY).eval(), build_discriminator(TINY)
    a, b = _batch()
    ca, _, sb_a = model.encode(a)
    cb, sa_b, _ = model.encode(b)
    recon, zero = reconstruction_loss(model, a, b), zero_loss(sb_a, sa_b)
    conf = confusion_losses(disc, ca, cb)[1]
    weights = dataclasses.replace(TINY, recon_weight=2.0, zero_weight=3.0, confusion_weight=0.5)
    model.config = weights
    torch.testing.assert_close(total_encoder_loss(model, disc, a, b), 2 * recon + 3 * zero + 0.5 * conf)
    model.config = TINY
    torch.testing.assert_close(total_encoder_loss(model, disc, a, b), recon + zero + 0.001 * conf)
    model.train()
    total_encoder_loss(model, disc, a, b).backward()
    for net in (model.common, model.separate_a, model.separate_b, model.decoder):
        assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
