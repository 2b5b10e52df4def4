"""XGAN (arXiv:1711.05139): the claims that define the paper."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from refimpl.xgan import (
    TINY,
    XGAN,
    DomainClassifier,
    GradientReversal,
    XGANConfig,
    XGANDecoders,
    XGANDiscriminator,
    XGANEncoders,
    domain_adversarial_loss,
    grad_reverse,
    reconstruction_loss,
    semantic_consistency_loss,
)


def test_gradient_reversal_is_identity_forward_and_flips_the_gradient_scaled_by_lambda(device: torch.device) -> None:
    x = torch.randn(4, 5, device=device, requires_grad=True)
    c = torch.randn(4, 5, device=device)
    y = grad_reverse(x, 0.3)
    torch.testing.assert_close(y, x)
    (y * c).sum().backward()
    torch.testing.assert_close(x.grad, -0.3 * c)


def test_gradient_reversal_layer_reverses_what_the_classifier_sends_to_the_encoder() -> None:
    # Same classifier with and without the reversal: the embedding gradients are opposite (×λ),
    # while the classifier's own parameter gradients are identical.
    torch.manual_seed(0)
    clf = DomainClassifier(6, hidden=5, grl_lambda=2.0)
    e1, e2 = torch.randn(3, 6, requires_grad=True), torch.randn(3, 6, requires_grad=True)
    domain_adversarial_loss(clf(e1), clf(e2)).backward()
    reversed_grad, clf_grad = e1.grad.clone(), clf.net[0].weight.grad.clone()

    clf.zero_grad()
    f1, f2 = e1.detach().requires_grad_(True), e2.detach().requires_grad_(True)
    domain_adversarial_loss(clf.net(f1).squeeze(1), clf.net(f2).squeeze(1)).backward()
    torch.testing.assert_close(reversed_grad, -2.0 * f1.grad)
    torch.testing.assert_close(clf.net[0].weight.grad, clf_grad)
    assert isinstance(clf.reverse, GradientReversal)


def test_domain_adversarial_loss_labels_domain_one_zero_and_domain_two_one() -> None:
    big = torch.full((3,), 30.0)
    assert domain_adversarial_loss(-big, big).item() < 1e-6  # perfect classifier
    zero = torch.zeros(3)
    torch.testing.assert_close(domain_adversarial_loss(zero, zero), 2 * torch.log(torch.tensor(2.0)))


def test_semantic_consistency_is_zero_when_the_embedding_survives_translation(device: torch.device) -> None:
    e = torch.randn(4, 10, device=device)
    assert semantic_consistency_loss(e, e.clone()).item() == 0.0
    # A shift by a vector of norm 5 (3-4-5) for every sample costs exactly 5.
    shift = torch.zeros(4, 10, device=device)
    shift[:, 0], shift[:, 1] = 3.0, 4.0
    torch.testing.assert_close(semantic_consistency_loss(e, e + shift), torch.tensor(5.0, device=device))


def test_model_semantic_loss_vanishes_when_embeddings_survive_translation() -> None:
    # Make the shared embedding layer constant (zero weight): then e₂(g₁→₂(x)) = e₁(x) for every
    # x, and the model's L_sem must be exactly zero in both directions, while L_rec is not.
    model = XGAN(TINY).eval()
    with torch.no_grad():
        model.encoders.shared[-1].weight.zero_()
    losses = model.losses(torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1)
    assert losses["sem"].item() == 0.0
    assert losses["rec"].item() > 0.0


def test_translation_decodes_the_source_embedding_with_the_target_decoder() -> None:
    model = XGAN(TINY).eval()
    x1 = torch.rand(2, 3, 16, 16) * 2 - 1
    e1 = model.encoders(x1, 0)
    torch.testing.assert_close(model.translate(x1, 0, 1), model.decoders(e1, 1))
    torch.testing.assert_close(model(x1), model.decoders(e1, 1))
    assert semantic_consistency_loss(e1, model.encoders(model(x1), 1)).item() > 0.0  # untrained: not yet consistent


def test_encoders_share_high_level_layers_and_keep_private_low_level_ones() -> None:
    enc = XGANEncoders(TINY)
    x = torch.rand(2, 3, 16, 16)
    before = enc(x, 0), enc(x, 1)
    with torch.no_grad():  # perturbing a shared layer moves both domains' embeddings
        enc.shared[-1].bias.add_(1.0)
    after = enc(x, 0), enc(x, 1)
    torch.testing.assert_close(after[0], before[0] + 1.0)
    torch.testing.assert_close(after[1], before[1] + 1.0)
    with torch.no_grad():  # a private layer of domain 1 leaves domain 2 alone
        enc.private[0][0][0].weight.mul_(2.0)
    torch.testing.assert_close(enc(x, 1), after[1])
    assert not torch.allclose(enc(x, 0), after[0])


def test_decoders_share_first_layers_and_have_private_output_layers() -> None:
    dec = XGANDecoders(TINY)
    e = torch.randn(2, TINY.embedding_dim)
    out1 = dec(e, 1)
    with torch.no_grad():
        dec.private[0][-2].weight.mul_(3.0)  # domain 1's output layer
    torch.testing.assert_close(dec(e, 1), out1)
    assert out1.shape == (2, 3, 16, 16)


def test_standard_configuration_maps_64x64_images_to_a_1024_d_embedding() -> None:
    cfg = XGANConfig()
    enc, dec, disc = XGANEncoders(cfg).eval(), XGANDecoders(cfg).eval(), XGANDiscriminator(cfg).eval()
    with torch.no_grad():
        e = enc(torch.rand(1, 3, 64, 64), 0)
        assert e.shape == (1, 1024)
        assert dec(e, 1).shape == (1, 3, 64, 64)
        assert disc(torch.rand(1, 3, 64, 64)).shape == (1,)


def test_total_loss_is_the_weighted_sum_and_reconstruction_is_pixel_mse() -> None:
    torch.manual_seed(0)
    model = XGAN(XGANConfig(**{**TINY.__dict__, "w_rec": 2.0, "w_dann": 0.5, "w_sem": 3.0, "w_gan": 0.25}))
    losses = model.losses(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16))
    expected = 2.0 * losses["rec"] + 0.5 * losses["dann"] + 3.0 * losses["sem"] + 0.25 * losses["gan"]
    torch.testing.assert_close(losses["total"], expected)
    x = torch.zeros(1, 3, 2, 2)
    torch.testing.assert_close(reconstruction_loss(x, x + 2.0), F.mse_loss(x + 2.0, x))
    assert reconstruction_loss(x, x + 2.0).item() == 4.0


def _conv(c_in: int, c_out: int, k: int = 4) -> int:
    return c_in * c_out * k * k + c_out


def test_config_defaults() -> None:
    c = XGANConfig()
    assert (c.image_size, c.img_channels, c.embedding_dim) == (64, 3, 1024)  # Sec. 4: 64×64, 1024-d embedding
    assert (c.private_widths, c.shared_widths) == ((32, 64), (128, 256))  # layer plan chosen here
    assert (c.grl_lambda, c.w_rec, c.w_dann, c.w_sem, c.w_gan) == (1.0, 1.0, 1.0, 1.0, 1.0)


def test_standard_configuration_parameter_counts_by_hand() -> None:
    c = XGANConfig()
    inorm = 2  # affine instance norm: γ and β per channel
    down = {(a, b): _conv(a, b) + inorm * b for a, b in [(3, 32), (32, 64), (64, 128), (128, 256)]}
    enc = 2 * (down[3, 32] + down[32, 64]) + down[64, 128] + down[128, 256] + (256 * 16 * 1024 + 1024)
    dec = ((1024 * 4096 + 4096) + _conv(256, 128) + 2 * 128 + _conv(128, 64) + 2 * 64
           + 2 * (_conv(64, 32) + 2 * 32 + _conv(32, 3)))
    disc = sum(down.values()) + 256 * 16 + 1
    clf = 1024 * 64 + 64 + 64 + 1
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    with torch.device("meta"):
        model = XGAN(c)
        defaults = (XGANEncoders(), XGANDecoders(), XGANDiscriminator(), DomainClassifier(1024))
    parts = (model.encoders, model.decoders, model.discriminator, model.domain_classifier)
    assert [count(m) for m in parts] == [count(m) for m in defaults] == [enc, dec, disc, clf]
    assert count(model) == 10_605_032


def test_layers_use_4x4_stride_2_convs_instance_norm_and_the_stated_activations() -> None:
    model = XGAN(TINY)
    enc_layers = [m for m in model.encoders.modules() if isinstance(m, torch.nn.Sequential) and len(m) == 3
                  and isinstance(m[0], torch.nn.Conv2d)]
    assert len(enc_layers) == 2 + 1  # two private (one per domain) and one shared in TINY
    for block in enc_layers:
        conv, norm, act = block
        assert (conv.kernel_size, conv.stride, conv.padding) == ((4, 4), (2, 2), (1, 1))
        assert isinstance(norm, torch.nn.InstanceNorm2d) and norm.affine
        assert type(act) is torch.nn.LeakyReLU and act.negative_slope == 0.2
    ups = [m for m in model.decoders.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert ups and all((u.kernel_size, u.stride, u.padding) == ((4, 4), (2, 2), (1, 1)) for u in ups)
    assert any(type(m) is torch.nn.ReLU for m in model.decoders.modules())
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in model.decoders.modules())
    out = model.decoders(torch.randn(4, TINY.embedding_dim) * 5, 0)
    assert out.abs().max() < 1 and out.min() < 0 < out.max()  # tanh output
    assert type(model.domain_classifier.net[1]) is torch.nn.LeakyReLU
    assert model.domain_classifier.net[1].negative_slope == 0.2
    assert model.domain_classifier.net[0].out_features == 64


def test_defaults_of_the_reversal_are_plain_negation() -> None:
    x = torch.randn(3, requires_grad=True)
    grad_reverse(x).sum().backward()
    torch.testing.assert_close(x.grad, -torch.ones(3))
    assert GradientReversal().scale == 1.0


def test_losses_wire_each_term_to_the_right_networks() -> None:
    torch.manual_seed(1)
    model = XGAN(TINY)
    x1, x2 = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    losses = model.losses(x1, x2)
    enc, dec, clf, disc = model.encoders, model.decoders, model.domain_classifier, model.discriminator
    e1, e2 = enc(x1, 0), enc(x2, 1)
    x12, x21 = dec(e1, 1), dec(e2, 0)
    rec = ((dec(e1, 0) - x1) ** 2).mean() + ((dec(e2, 1) - x2) ** 2).mean()
    dann = F.softplus(clf(e1)).mean() + F.softplus(-clf(e2)).mean()  # −log(1 − σ) for domain 1, −log σ for 2
    sem = (e1 - enc(x12, 1)).norm(dim=1).mean() + (e2 - enc(x21, 0)).norm(dim=1).mean()
    gan = -torch.log(torch.sigmoid(disc(x12))).mean()
    d_loss = -torch.log(torch.sigmoid(disc(x2))).mean() - torch.log(1 - torch.sigmoid(disc(x12))).mean()
    for key, value in {"rec": rec, "dann": dann, "sem": sem, "gan": gan, "discriminator": d_loss}.items():
        torch.testing.assert_close(losses[key], value, msg=key)
    torch.testing.assert_close(losses["total"], rec + dann + sem + gan)


def test_gradient_paths_of_the_generator_and_discriminator_losses() -> None:
    torch.manual_seed(0)
    model = XGAN(TINY)
    x1, x2 = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    model.losses(x1, x2)["discriminator"].backward()
    assert all(p.grad is None for m in (model.encoders, model.decoders) for p in m.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())
    model.zero_grad(set_to_none=True)
    model.losses(x1, x2)["gan"].backward()  # the translator gets adversarial gradient through d₂ ∘ e₁
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoders.private[1].parameters())
    assert all(p.grad is None for p in model.decoders.private[0].parameters())
    assert all(p.grad is not None for p in model.encoders.private[0].parameters())


def test_semantic_consistency_averages_per_sample_norms() -> None:
    e = torch.zeros(2, 2)
    moved = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    torch.testing.assert_close(semantic_consistency_loss(e, moved), torch.tensor(3.0))  # (5 + 1) / 2


def test_domain_adversarial_loss_on_unequal_logits() -> None:
    l1, l2 = torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.3])
    expected = (math.log1p(math.exp(0.5)) + math.log1p(math.exp(-1.0))) / 2 + (
        math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-0.3))) / 2
    assert domain_adversarial_loss(l1, l2).item() == pytest.approx(expected, rel=1e-6)


def test_decoder_forward_is_relu_fc_then_shared_then_private_up_convs() -> None:
    torch.manual_seed(0)
    dec = XGANDecoders(TINY)
    e = torch.randn(3, TINY.embedding_dim)
    h = torch.relu(e @ dec.fc.weight.t() + dec.fc.bias).reshape(3, dec.c0, dec.side, dec.side)
    assert (dec.fc(e) < 0).any()  # the ReLU matters on this input
    torch.testing.assert_close(dec(e, 1), dec.private[1](dec.shared(h)))
    norms = [m for m in dec.modules() if isinstance(m, torch.nn.modules.batchnorm._NormBase)]
    assert norms and all(type(m) is torch.nn.InstanceNorm2d and m.affine for m in norms)


def test_classifier_and_discriminator_return_one_logit_per_sample() -> None:
    clf = DomainClassifier(4)
    assert clf.reverse.scale == 1.0 and clf.net[0].out_features == 64
    assert clf(torch.randn(2, 4)).shape == (2,)
    assert XGANDiscriminator(TINY)(torch.rand(2, 3, 16, 16)).shape == (2,)
