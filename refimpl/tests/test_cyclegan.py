"""CycleGAN (arXiv:1703.10593): the claims that define the paper."""

from __future__ import annotations

import random

import torch
from torch import nn

from refimpl.cyclegan import (
    OFFICIAL,
    RESNET_6BLOCKS,
    TINY,
    CycleGANConfig,
    ImagePool,
    ResnetBlock,
    ResnetGenerator,
    cycle_loss,
    cyclegan_discriminator,
    discriminator_objective,
    generator_objective,
    identity_loss,
)
from refimpl.losses_gan import lsgan_discriminator_loss
from refimpl.pix2pix import PatchDiscriminator


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class _Affine(nn.Module):
    def __init__(self, scale: float, shift: float) -> None:
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def test_official_parameter_counts() -> None:
    # junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py (commit 78913853ab4a4f5eba717af8433809300c99f0bb),
    # layer definitions instantiated in a scratch copy, norm='instance': ResnetGenerator n_blocks=9 11,378,179,
    # n_blocks=6 7,837,699; NLayerDiscriminator(3, 64, 3) 2,764,737.
    with torch.device("meta"):
        assert _count(ResnetGenerator(ngf=OFFICIAL.ngf, n_blocks=OFFICIAL.n_blocks)) == 11_378_179
        assert _count(ResnetGenerator(ngf=64, n_blocks=RESNET_6BLOCKS.n_blocks)) == 7_837_699
        assert _count(cyclegan_discriminator(OFFICIAL)) == 2_764_737


def test_config_defaults_are_the_papers() -> None:
    c = CycleGANConfig()
    assert c.channels == 3
    assert c.ngf == 64 and c.ndf == 64  # App. 7.2: c7s1-64, C64
    assert c.n_blocks == 9  # App. 7.2: 9 blocks for 256×256
    assert c.lambda_cyc == 10.0  # Sec. 4: λ = 10
    assert c.lambda_identity == 0.5  # Sec. 5.2 / authors' code: 0.5 λ
    assert c.pool_size == 50  # Sec. 4: 50 previous images
    assert c == OFFICIAL and RESNET_6BLOCKS.n_blocks == 6


def test_generator_architecture_details() -> None:
    g = ResnetGenerator(ngf=2, n_blocks=1)
    layers = list(g.model)
    assert isinstance(layers[0], nn.ReflectionPad2d) and layers[0].padding == (3, 3, 3, 3)
    assert isinstance(layers[-1], nn.Tanh) and isinstance(layers[-3], nn.ReflectionPad2d)
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [(c.kernel_size[0], c.stride[0]) for c in convs] == [(7, 1), (3, 2), (3, 2), (3, 1), (3, 1), (3, 2),
                                                                  (3, 2), (7, 1)]
    assert [c.out_channels for c in convs] == [2, 4, 8, 8, 8, 4, 2, 3]
    assert all(c.bias is not None for c in convs)  # instance norm has no shift: convs keep their bias
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 7 and not any(n.affine for n in norms)
    assert not any(isinstance(m, nn.LeakyReLU | nn.Dropout) for m in g.modules())
    assert sum(isinstance(m, nn.ReLU) for m in g.modules()) == 6
    # Reflection, not zero, padding in the residual blocks: 3×3 convs with padding 0 after a ReflectionPad2d(1).
    block = [m for m in g.modules() if isinstance(m, ResnetBlock)][0]
    assert [type(m) for m in block.block] == [nn.ReflectionPad2d, nn.Conv2d, nn.InstanceNorm2d, nn.ReLU,
                                              nn.ReflectionPad2d, nn.Conv2d, nn.InstanceNorm2d]
    assert all(m.padding == (0, 0) for m in block.block if isinstance(m, nn.Conv2d))
    assert convs[5].output_padding == (1, 1) and convs[5].padding == (1, 1)


def test_generator_objective_judges_each_mapping_with_its_target_domains_discriminator() -> None:
    # Distinguishable stubs: G(x) = x + 0.1, F(y) = 2y, D_Y(t) = t, D_X(t) = −t.
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 8, 8, generator=gen), torch.rand(2, 3, 8, 8, generator=gen) * 3 - 1
    g, f = _Affine(1.0, 0.1), _Affine(2.0, 0.0)

    def d_y(t: torch.Tensor) -> torch.Tensor:
        return t

    def d_x(t: torch.Tensor) -> torch.Tensor:
        return -t

    xd, yd = x.double(), y.double()
    adv = ((xd + 0.1 - 1) ** 2).mean() + ((-2 * yd - 1) ** 2).mean()  # D_Y(G(x)) and D_X(F(y)) pulled to 1
    cyc = (xd + 0.2).abs().mean() + (yd + 0.1).abs().mean()  # F(G(x)) − x = x + 0.2, G(F(y)) − y = y + 0.1
    idt = torch.tensor(0.1, dtype=torch.float64) + xd.abs().mean()  # G(y) − y = 0.1, F(x) − x = x
    expected = adv + 10 * cyc + 0.5 * 10 * idt
    torch.testing.assert_close(generator_objective(g, f, d_x, d_y, x, y), expected.float())
    cfg = CycleGANConfig(lambda_cyc=3.0, lambda_identity=0.2)
    torch.testing.assert_close(generator_objective(g, f, d_x, d_y, x, y, cfg),
                               (adv + 3 * cyc + 0.2 * 3 * idt).float())
    # The generators get the adversarial gradient.
    w = torch.tensor(1.0, requires_grad=True)
    generator_objective(lambda t: w * t, f, d_x, d_y, x, y, CycleGANConfig(lambda_cyc=0.0, lambda_identity=0.0)
                        ).backward()
    torch.testing.assert_close(w.grad, (2 * (xd - 1) * xd).mean().float())


def test_identity_loss_checks_each_generator_on_its_own_target_domain() -> None:
    gen = torch.Generator().manual_seed(1)
    x, y = torch.rand(1, 3, 4, 4, generator=gen), torch.rand(1, 3, 4, 4, generator=gen) + 2
    g, f = _Affine(1.0, 0.25), _Affine(3.0, 0.0)  # G(y) − y = 0.25, F(x) − x = 2x
    expected = 5.0 * (0.25 + (2 * x.double()).abs().mean())
    torch.testing.assert_close(identity_loss(g, f, x, y), expected.float())
    torch.testing.assert_close(identity_loss(g, f, x, y, weight=2.0), (expected * 2 / 5).float())


def test_generator_layout_downsamples_by_4_and_restores_the_size(device: torch.device) -> None:
    g = ResnetGenerator(ngf=TINY.ngf, n_blocks=TINY.n_blocks).to(device)
    blocks = [m for m in g.modules() if isinstance(m, ResnetBlock)]
    assert len(blocks) == TINY.n_blocks
    seen = []
    blocks[0].register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape)))
    out = g(torch.rand(2, 3, 36, 36, device=device))
    assert seen == [(2, 4 * TINY.ngf, 9, 9)]
    assert out.shape == (2, 3, 36, 36) and out.abs().max() <= 1
    assert len([m for m in ResnetGenerator(ngf=2).modules() if isinstance(m, ResnetBlock)]) == 9


def test_resnet_block_is_identity_when_its_residual_is_zero() -> None:
    block = ResnetBlock(4)
    nn.init.zeros_(block.block[-2].weight)
    nn.init.zeros_(block.block[-2].bias)
    x = torch.randn(1, 4, 6, 6)
    # Instance norm of a constant map is 0, so the residual vanishes.
    torch.testing.assert_close(block(x), x)


def test_discriminator_is_the_pix2pix_patchgan_on_one_image() -> None:
    d = cyclegan_discriminator(TINY)
    assert isinstance(d, PatchDiscriminator)
    assert d(torch.rand(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_cycle_loss_is_zero_for_inverse_mappings_and_positive_otherwise() -> None:
    x, y = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    g, f = _Affine(2.0, 1.0), _Affine(0.5, -0.5)  # f = g⁻¹
    assert cycle_loss(g, f, x, y).item() < 1e-6
    g_bad = _Affine(2.0, 1.5)
    # F(G(x)) − x = 0.25 everywhere; G(F(y)) − y = 0.5 everywhere: λ(0.25 + 0.5).
    torch.testing.assert_close(cycle_loss(g_bad, f, x, y), torch.tensor(10 * 0.75))
    torch.testing.assert_close(cycle_loss(g_bad, f, x, y, lambda_cyc=2.0), torch.tensor(2 * 0.75))
    # Asymmetric residuals: G(F(y)) − y = y·(−1) with F(y) = 0 and G = identity, F(G(x)) − x = −x.
    zero = _Affine(0.0, 0.0)
    torch.testing.assert_close(cycle_loss(nn.Identity(), zero, x, y), 10 * (x.abs().mean() + y.abs().mean()))


def test_identity_loss_is_zero_for_identity_generators() -> None:
    x, y = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    assert identity_loss(nn.Identity(), nn.Identity(), x, y).item() == 0.0
    torch.testing.assert_close(identity_loss(_Affine(1, 1), nn.Identity(), x, y, weight=5.0), torch.tensor(5.0))


def test_generator_objective_adds_lsgan_cycle_and_identity_terms() -> None:
    x, y = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)

    def d_real(t: torch.Tensor) -> torch.Tensor:
        return torch.ones(1, 1, 2, 2)  # D fooled: no adversarial loss

    g, f = nn.Identity(), nn.Identity()
    assert generator_objective(g, f, d_real, d_real, x, y).item() == 0.0
    g_shift = _Affine(1.0, 0.1)  # cycle residual 0.1 on both paths, identity residual 0.1 for G only
    expected = 10 * 0.2 + 0.5 * 10 * 0.1
    torch.testing.assert_close(generator_objective(g_shift, f, d_real, d_real, x, y), torch.tensor(expected))
    no_id = CycleGANConfig(lambda_identity=0.0)
    torch.testing.assert_close(generator_objective(g_shift, f, d_real, d_real, x, y, no_id), torch.tensor(2.0))


def test_discriminator_objective_is_lsgan_and_does_not_reach_the_generator() -> None:
    d = cyclegan_discriminator(TINY)
    real, fake = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32, requires_grad=True)
    loss = discriminator_objective(d, real, fake)
    torch.testing.assert_close(loss, lsgan_discriminator_loss(d(real), d(fake)))
    loss.backward()
    assert fake.grad is None


def test_image_pool_returns_inputs_until_full_then_swaps_half_the_time() -> None:
    pool = ImagePool(50, random.Random(0))
    first = torch.arange(50.0).view(50, 1, 1, 1)
    torch.testing.assert_close(pool.query(first), first)  # filling: every image comes straight back
    assert len(pool.images) == 50

    new = torch.arange(1000.0, 1400.0).view(400, 1, 1, 1)
    out = pool.query(new)
    from_history = (out < 1000) | (out != new)
    # Replay the same draws: swaps happen exactly where uniform > 0.5.
    replay = random.Random(0)
    swapped = []
    for _ in range(400):
        s = replay.uniform(0, 1) > 0.5
        swapped.append(s)
        if s:
            replay.randint(0, 49)
    assert from_history.flatten().tolist() == swapped
    # The history images returned are the ones at the replayed indices, and the new image takes their slot.
    replay, slots = random.Random(0), list(range(50))
    expected_out = []
    for v in new.flatten().tolist():
        if replay.uniform(0, 1) > 0.5:
            i = replay.randint(0, 49)
            expected_out.append(slots[i])
            slots[i] = v
        else:
            expected_out.append(v)
    assert out.flatten().tolist() == expected_out
    assert [im.item() for im in pool.images] == slots
    assert 0.4 < sum(swapped) / 400 < 0.6
    # Returned history images were stored before; the pool keeps its size and now holds new images.
    stored_before = set(range(50)) | set(range(1000, 1400))
    assert all(v in stored_before for v in out.flatten().tolist())
    assert len(pool.images) == 50 and any(im.item() >= 1000 for im in pool.images)


def test_image_pool_of_size_zero_passes_through() -> None:
    x = torch.randn(3, 3, 4, 4)
    assert ImagePool(0).query(x) is x


def test_module_defaults_and_batch_norm_widths() -> None:
    assert not any(isinstance(m, nn.Dropout) for m in ResnetBlock(4).modules())
    drops = [m for m in ResnetGenerator(ngf=2, n_blocks=2, use_dropout=True).modules() if isinstance(m, nn.Dropout)]
    assert [d.p for d in drops] == [0.5, 0.5]
    with torch.device("meta"):
        assert _count(ResnetGenerator()) == 11_378_179  # resnet_9blocks, ngf = 64 by default
    assert ImagePool().pool_size == 50
    # With batch norm every norm's width must match its conv (instance norm without affine would not notice).
    g = ResnetGenerator(ngf=2, n_blocks=1, norm_layer=nn.BatchNorm2d)
    assert g(torch.rand(2, 3, 16, 16)).shape == (2, 3, 16, 16)
    assert [m.num_features for m in g.modules() if isinstance(m, nn.BatchNorm2d)] == [2, 4, 8, 8, 8, 4, 2]


def test_image_pool_returns_detached_images() -> None:
    x = torch.rand(2, 1, 2, 2, requires_grad=True)
    out = ImagePool(5, random.Random(0)).query(x * 2)
    assert not out.requires_grad
    torch.testing.assert_close(out, x.detach() * 2)
