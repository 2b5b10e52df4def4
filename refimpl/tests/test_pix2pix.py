"""pix2pix (arXiv:1611.07004): the claims that define the paper."""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.gan import generator_loss_nonsaturating
from refimpl.pix2pix import (
    EVAL_MODE,
    OFFICIAL,
    TINY,
    InferenceDropout,
    PatchDiscriminator,
    Pix2PixConfig,
    PixelDiscriminator,
    UNetGenerator,
    UNetSkipBlock,
    discriminator_loss,
    generator_loss,
    patchgan_receptive_field,
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_official_parameter_counts() -> None:
    # junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py (commit 78913853ab4a4f5eba717af8433809300c99f0bb),
    # layer definitions instantiated in a scratch copy with norm='batch': unet_256 54,413,955; unet_128 41,828,995;
    # NLayerDiscriminator(6, 64, 3) 2,768,705; PixelDiscriminator(6, 64) 9,024.
    with torch.device("meta"):
        assert _count(UNetGenerator.from_config(OFFICIAL)) == 54_413_955
        assert _count(UNetGenerator(num_downs=7)) == 41_828_995
        assert _count(PatchDiscriminator(6)) == 2_768_705
        assert _count(PixelDiscriminator(6)) == 9_024


def test_config_defaults_are_the_papers() -> None:
    c = Pix2PixConfig()
    assert (c.in_channels, c.out_channels) == (3, 3)
    assert c.ngf == 64 and c.ndf == 64  # App. 6.1: C64 first layers
    assert c.num_downs == 8  # App. 6.1.1: eight C512/C64.. encoder layers (256 → 1)
    assert c.n_layers_d == 3  # App. 6.1.2: the 70×70 discriminator
    assert c.use_dropout is True and c.dropout_at_test is True  # Sec. 3.2
    assert c.lambda_l1 == 100.0  # Sec. 4: λ = 100
    assert c == OFFICIAL and Pix2PixConfig(dropout_at_test=False) == EVAL_MODE


def test_pixel_discriminator_is_1x1_and_sees_each_pixel_alone() -> None:
    d = PixelDiscriminator(6, ndf=4).eval()
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(1, 1)] * 3
    assert [(c.in_channels, c.out_channels) for c in convs] == [(6, 4), (4, 8), (8, 1)]
    assert [c.bias is not None for c in convs] == [True, False, False]  # batch norm: no bias after the first
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.2, 0.2]
    x = torch.rand(1, 6, 5, 7, requires_grad=True)
    out = d(x)
    assert out.shape == (1, 1, 5, 7)
    out[0, 0, 2, 3].backward()
    assert (x.grad.abs().sum(1)[0] > 0).nonzero().tolist() == [[2, 3]]  # receptive field 1×1
    inorm = PixelDiscriminator(3, ndf=4, norm_layer=nn.InstanceNorm2d)
    assert all(c.bias is not None for c in inorm.modules() if isinstance(c, nn.Conv2d))


def test_patchgan_layout_slopes_norms_and_biases() -> None:
    d = PatchDiscriminator(6, ndf=4, n_layers=3)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0], c.padding[0]) for c in convs] == [
        (6, 4, 2, 1), (4, 8, 2, 1), (8, 16, 2, 1), (16, 32, 1, 1), (32, 1, 1, 1)]
    assert [c.bias is not None for c in convs] == [True, False, False, False, True]
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 4
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3  # none after the first conv
    assert isinstance(d.stages[0][1], nn.LeakyReLU) and isinstance(d.stages[1][1], nn.BatchNorm2d)
    assert len(d.stages[-1]) == 1  # raw logits: no sigmoid


def test_unet_layout_slopes_and_norm_placement() -> None:
    g = UNetGenerator(num_downs=6, ngf=2)
    blocks = [m for m in g.modules() if isinstance(m, UNetSkipBlock)]
    outer, inner = blocks[0], blocks[-1]
    assert isinstance(outer.model[0], nn.Conv2d) and isinstance(outer.model[-1], nn.Tanh)  # no norm/act first
    assert isinstance(outer.model[2], nn.ReLU) and outer.model[3].bias is not None
    assert [type(m) for m in inner.model] == [nn.LeakyReLU, nn.Conv2d, nn.ReLU, nn.ConvTranspose2d, nn.BatchNorm2d]
    mid = blocks[-2]  # the one 8·ngf level with dropout
    assert [type(m) for m in mid.model] == [nn.LeakyReLU, nn.Conv2d, nn.BatchNorm2d, UNetSkipBlock, nn.ReLU,
                                            nn.ConvTranspose2d, nn.BatchNorm2d, InferenceDropout]
    assert mid.model[0].negative_slope == 0.2 and mid.model[6].num_features == 16
    assert (mid.model[1].kernel_size, mid.model[1].stride, mid.model[1].padding) == ((4, 4), (2, 2), (1, 1))
    assert mid.model[1].bias is None and mid.model[5].bias is None
    assert [b.model[1].out_channels for b in blocks[1:]] == [4, 8, 16, 16, 16]


def test_patchgan_on_256_input_gives_30x30_patches_with_70x70_receptive_field(device: torch.device) -> None:
    # Widths do not change the receptive field, so a 2-channel-wide D keeps this cheap.
    d = PatchDiscriminator(3, ndf=2, n_layers=3).to(device).eval()  # eval: batch statistics would couple pixels
    x = torch.randn(1, 3, 256, 256, device=device, requires_grad=True)
    out = d(x)
    assert out.shape == (1, 1, 30, 30)
    out[0, 0, 15, 15].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70
    assert patchgan_receptive_field(3) == 70


def test_receptive_field_recursion_matches_the_paper_patch_sizes() -> None:
    # Sec. 4.4 / Fig. 6: 16×16 (1 layer), 70×70 (3), 286×286 (5, the "ImageGAN").
    assert [patchgan_receptive_field(n) for n in (1, 3, 5)] == [16, 70, 286]


def test_unet_256_reaches_a_1x1_bottleneck_and_restores_the_size() -> None:
    g = UNetGenerator(num_downs=8, ngf=1, use_dropout=False).eval()
    seen = []
    innermost = [m for m in g.modules() if isinstance(m, UNetSkipBlock)][-1]  # modules() is depth-first
    innermost.model[1].register_forward_hook(lambda _m, _i, out: seen.append(out.shape))
    out = g(torch.rand(1, 3, 256, 256))
    assert seen == [torch.Size([1, 8, 1, 1])]
    assert out.shape == (1, 3, 256, 256) and out.abs().max() <= 1


def test_skip_connections_carry_information_past_the_bottleneck() -> None:
    # Cut the bottleneck (its output set to zero): the skips must still carry the input.
    g = UNetGenerator.from_config(TINY).eval()
    innermost = [m for m in g.modules() if isinstance(m, UNetSkipBlock)][-1]
    innermost.model.register_forward_hook(lambda _m, _i, out: torch.zeros_like(out))
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    assert (g(a) - g(b)).abs().max() > 1e-3


def test_dropout_is_the_noise_source_at_training_and_test_time() -> None:
    # Sec. 3.2: dropout "at both training and test time"; eval() keeps it on by default.
    g = UNetGenerator(num_downs=6, ngf=4)  # 6 levels → one dropout level
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 1
    x = torch.rand(2, 3, 64, 64)
    assert not torch.equal(g.train()(x), g(x))
    g.eval()
    assert not torch.equal(g(x), g(x))
    assert sum(isinstance(m, nn.Dropout) for m in UNetGenerator(num_downs=8, ngf=1).modules()) == 3
    assert [m.p for m in UNetGenerator(num_downs=8, ngf=1).modules() if isinstance(m, nn.Dropout)] == [0.5] * 3
    # The authors' --eval run: deterministic in eval mode, still noisy in training mode.
    g_eval = UNetGenerator.from_config(Pix2PixConfig(num_downs=6, ngf=4, dropout_at_test=False)).eval()
    torch.testing.assert_close(g_eval(x), g_eval(x))
    assert not torch.equal(g_eval.train()(x), g_eval(x))
    drops = [m for m in UNetGenerator.from_config(replace(EVAL_MODE, ngf=1)).modules()
             if isinstance(m, InferenceDropout)]
    assert len(drops) == 3 and not any(m.at_test for m in drops)


def test_inference_dropout_drops_half_and_rescales() -> None:
    drop = InferenceDropout(0.5).eval()
    torch.manual_seed(0)
    out = drop(torch.ones(10_000))
    assert set(out.unique().tolist()) == {0.0, 2.0} and 0.45 < (out == 0).float().mean() < 0.55
    torch.testing.assert_close(InferenceDropout(0.5, at_test=False).eval()(torch.ones(5)), torch.ones(5))


def test_generator_receives_the_adversarial_gradient() -> None:
    # With λ = 0 only the cGAN term is left: G's output must get D's gradient through it.
    d = PatchDiscriminator(6, ndf=2, n_layers=1)
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    fake = torch.rand(1, 3, 16, 16, requires_grad=True)
    generator_loss(d, x, y, fake, lambda_l1=0.0).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    expected = torch.autograd.grad(generator_loss_nonsaturating(d(torch.cat([x, fake], 1))), fake)[0]
    torch.testing.assert_close(fake.grad, expected)
    # And the loss is conditional: D scores (x, G(x)), not G(x) alone or (y, G(x)).
    seen = []
    d.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    generator_loss(d, x, y, fake)
    torch.testing.assert_close(seen[-1], torch.cat([x, fake], 1))


def test_generator_objective_is_cgan_plus_100_times_l1() -> None:
    d = PatchDiscriminator(6, ndf=2, n_layers=1)
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    fake = y + 0.1
    fake[..., 0, 0] = y[..., 0, 0] - 0.5  # |error| 0.5 on one pixel per channel: mean, not sum, of |·|
    l1 = (0.1 * 255 + 0.5) / 256
    adv = generator_loss_nonsaturating(d(torch.cat([x, fake], 1)))
    torch.testing.assert_close(generator_loss(d, x, y, fake), adv + 100 * torch.tensor(l1), atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(generator_loss(d, x, y, fake, lambda_l1=7.0), adv + 7 * torch.tensor(l1),
                               atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(generator_loss(d, x, y, y), generator_loss_nonsaturating(d(torch.cat([x, y], 1))))


def test_discriminator_is_conditional_and_its_loss_is_halved_bce() -> None:
    d = PatchDiscriminator(6, ndf=2, n_layers=1)
    x, y, fake = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16, requires_grad=True)
    real_logits, fake_logits = d(torch.cat([x, y], 1)), d(torch.cat([x, fake], 1))
    expected = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                      + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    loss = discriminator_loss(d, x, y, fake)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert fake.grad is None  # D's update does not reach G
    # A different condition x changes D's verdict on the same output.
    assert not torch.allclose(d(torch.cat([x, y], 1)), d(torch.cat([x.flip(-1), y], 1)))


def test_skip_carries_the_leaky_relu_of_the_input_as_in_the_authors_in_place_activation() -> None:
    # The authors' down-activation is in place, so the concatenated skip holds LeakyReLU(x), not x.
    block = UNetSkipBlock(2, 4, submodule=UNetSkipBlock(4, 4, innermost=True), use_dropout=False).eval()
    x = torch.randn(1, 2, 8, 8)
    out = block(x.clone())
    torch.testing.assert_close(out[:, :2], F.leaky_relu(x, 0.2))


def test_module_defaults() -> None:
    assert InferenceDropout().p == 0.5 and InferenceDropout().at_test
    mid = UNetSkipBlock(2, 2, submodule=nn.Identity(), use_dropout=True)
    assert mid.model[-1].at_test
    assert PatchDiscriminator().stages[0][0].in_channels == 6
    assert PixelDiscriminator().net[0].in_channels == 6
    with torch.device("meta"):
        assert _count(UNetGenerator()) == 54_413_955  # unet_256 by default


def test_patchgan_width_is_capped_at_8_ndf_and_bottleneck_upsamples_by_2() -> None:
    d = PatchDiscriminator(3, ndf=1, n_layers=5)
    assert [m.out_channels for m in d.modules() if isinstance(m, nn.Conv2d)] == [1, 2, 4, 8, 8, 8, 1]
    g = UNetGenerator.from_config(TINY).eval()  # 5 levels: a 2×2 bottleneck at 64×64
    assert g(torch.rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)
