"""pix2pix (arXiv:1611.07004): the claims that define the paper."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.gan import generator_loss_nonsaturating
from refimpl.pix2pix import (
    TINY,
    PatchDiscriminator,
    Pix2PixConfig,
    UNetGenerator,
    UNetSkipBlock,
    discriminator_loss,
    generator_loss,
    patchgan_receptive_field,
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_standard_unet_256_and_70x70_patchgan_parameter_counts() -> None:
    # The authors' code prints 54.414 M and 2.769 M for these (see the module docstring).
    with torch.device("meta"):
        assert _count(UNetGenerator.from_config(Pix2PixConfig())) == 54_413_955
        assert _count(PatchDiscriminator(6)) == 2_768_705


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


def test_dropout_is_the_noise_source_in_training_mode_only() -> None:
    g = UNetGenerator(num_downs=6, ngf=4)  # 6 levels → one dropout level
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 1
    x = torch.rand(2, 3, 64, 64)
    assert not torch.equal(g.train()(x), g(x))
    g.eval()
    torch.testing.assert_close(g(x), g(x))
    assert sum(isinstance(m, nn.Dropout) for m in UNetGenerator(num_downs=8, ngf=1).modules()) == 3


def test_generator_objective_is_cgan_plus_100_times_l1() -> None:
    d = PatchDiscriminator(6, ndf=2, n_layers=1)
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    fake = y + 0.1
    adv = generator_loss_nonsaturating(d(torch.cat([x, fake], 1)))
    torch.testing.assert_close(generator_loss(d, x, y, fake), adv + 100 * torch.tensor(0.1), atol=1e-4, rtol=1e-5)
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
