"""GenDA (arXiv:2111.09876): the claims that define the paper."""

from __future__ import annotations

import copy

import torch

from refimpl.genda import (
    TINY,
    AttributeAdaptor,
    AttributeClassifier,
    GenDA,
    GenDAConfig,
    TinyDiscriminatorBackbone,
    TinyStyleGenerator,
    adaptor_loss,
    classifier_loss,
    truncate,
)


def _model() -> GenDA:
    return GenDA(TinyStyleGenerator(w_dim=TINY.w_dim, num_ws=TINY.num_ws),
                 TinyDiscriminatorBackbone(TINY.feature_dim), TINY)


def test_adaptor_starts_as_identity_so_training_starts_from_the_source_generator(device: torch.device) -> None:
    model = _model().to(device)
    w = torch.randn(4, TINY.num_ws, TINY.w_dim, device=device)
    torch.testing.assert_close(model.adaptor(w), w, rtol=0, atol=0)
    z = torch.randn(3, 8, device=device)
    source = model.generator.synthesis(truncate(model.generator.mapping(z), model.generator.w_avg, 0.7))
    torch.testing.assert_close(model.synthesize(z, psi=0.7), source)


def test_only_adaptor_and_classifier_learn() -> None:
    model = _model()
    frozen = copy.deepcopy({**dict(model.generator.named_parameters()), **{
        f"d.{n}": p for n, p in model.disc_backbone.named_parameters()}})
    trainable = list(model.trainable_parameters())
    assert {id(p) for p in trainable} == {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for p in trainable} == {id(p) for m in (model.adaptor, model.classifier) for p in m.parameters()}
    before = [p.detach().clone() for p in trainable]
    opt = torch.optim.Adam(trainable, lr=1e-2)
    target = torch.rand(1, 3, 8, 8) * 2 - 1
    for _ in range(2):  # one classifier step and one adaptor step per iteration
        fake = model.synthesize(torch.randn(4, 8))
        opt.zero_grad()
        classifier_loss(model.classify(target), model.classify(fake.detach())).backward()
        opt.step()
        opt.zero_grad()
        adaptor_loss(model.classify(model.synthesize(torch.randn(4, 8)))).backward()
        opt.step()
    now = {**dict(model.generator.named_parameters()), **{
        f"d.{n}": p for n, p in model.disc_backbone.named_parameters()}}
    for name, p in frozen.items():
        torch.testing.assert_close(now[name], p, rtol=0, atol=0, msg=f"{name} moved")
        assert now[name].grad is None
    assert all(not torch.equal(b, p) for b, p in zip(before, trainable, strict=True))


def test_adaptor_is_an_affine_map_per_layer_and_channel() -> None:
    adaptor = AttributeAdaptor(2, 3)
    with torch.no_grad():
        adaptor.gamma.copy_(torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]))
        adaptor.beta.copy_(torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]))
    w = torch.ones(1, 2, 3)
    torch.testing.assert_close(adaptor(w), torch.tensor([[[1.0, 3.0, 3.0], [-0.5, 0.5, 1.5]]]))


def test_truncation_endpoints() -> None:
    w, w_avg = torch.randn(2, 3, 4), torch.randn(4)
    torch.testing.assert_close(truncate(w, w_avg, 1.0), w)
    torch.testing.assert_close(truncate(w, w_avg, 0.0), w_avg.expand_as(w))
    torch.testing.assert_close(truncate(w, w_avg, 0.5), (w + w_avg) / 2)


def test_losses_have_the_non_saturating_values() -> None:
    zero = torch.zeros(3)
    log2 = torch.log(torch.tensor(2.0))
    torch.testing.assert_close(classifier_loss(zero, zero), 2 * log2)
    torch.testing.assert_close(adaptor_loss(zero), log2)
    assert classifier_loss(torch.full((3,), 10.0), torch.full((3,), -10.0)) < 1e-3
    assert AttributeClassifier(5)(torch.randn(4, 5)).shape == (4,)


def test_standard_adaptor_parameter_count() -> None:
    # 1024² StyleGAN2: 18 style layers × 512 channels × (γ, β)
    cfg = GenDAConfig()
    assert sum(p.numel() for p in AttributeAdaptor(cfg.num_ws, cfg.w_dim).parameters()) == 18_432


def test_default_config_is_the_stylegan2_config_f_backbone() -> None:
    # The paper adapts StyleGAN2 (config F, 1024²): 18 style layers of width 512; D's last hidden layer
    # (fc, 512 wide) feeds the logit the attribute classifier replaces. No GenDA code was released
    # (genforce/genda @ 32ad97c holds a README only), so the backbone's own figures are the reference.
    from refimpl.stylegan2 import OFFICIAL as SG2

    cfg = GenDAConfig()
    assert (cfg.num_ws, cfg.w_dim) == (SG2.num_ws, SG2.w_dim) == (18, 512)
    assert cfg.feature_dim == SG2.channels(4) == 512
    assert cfg.truncation_psi == 0.7  # Sec. 3.2, diversity-constraint sampling (no code to check it against)


def test_the_two_light_modules_are_a_tiny_fraction_of_the_frozen_generator() -> None:
    cfg = GenDAConfig()
    adaptor = sum(p.numel() for p in AttributeAdaptor(cfg.num_ws, cfg.w_dim).parameters())
    classifier = sum(p.numel() for p in AttributeClassifier(cfg.feature_dim).parameters())
    assert (adaptor, classifier) == (18_432, 513)
    # 30,370,060: config-F generator, NVlabs/stylegan2-ada-pytorch training/networks.py (see refimpl/stylegan2.py)
    assert (adaptor + classifier) / 30_370_060 < 7e-4


def test_default_stand_ins_build_the_tiny_configuration() -> None:
    # The stand-ins' defaults are the TINY layout, so the example and the tests plug together.
    gen, disc = TinyStyleGenerator(), TinyDiscriminatorBackbone()
    assert gen.num_ws == TINY.num_ws and len(gen.styles) == len(gen.convs) == TINY.num_ws
    assert gen.const.shape == (1, TINY.w_dim, 8, 8)
    assert gen.mapping(torch.randn(2, 8)).shape == (2, TINY.num_ws, TINY.w_dim)
    assert disc(torch.randn(2, 3, 8, 8)).shape == (2, TINY.feature_dim)
