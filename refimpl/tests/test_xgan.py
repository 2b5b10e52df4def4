"""XGAN (arXiv:1711.05139): the claims that define the paper."""

from __future__ import annotations

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
