"""CycleGAN (arXiv:1703.10593): the claims that define the paper."""

from __future__ import annotations

import random

import torch
from torch import nn

from refimpl.cyclegan import (
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


def test_standard_resnet_9blocks_and_patchgan_parameter_counts() -> None:
    with torch.device("meta"):
        assert _count(ResnetGenerator(ngf=64, n_blocks=9)) == 11_378_179
        assert _count(cyclegan_discriminator(CycleGANConfig())) == 2_764_737


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
    assert 0.4 < sum(swapped) / 400 < 0.6
    # Returned history images were stored before; the pool keeps its size and now holds new images.
    stored_before = set(range(50)) | set(range(1000, 1400))
    assert all(v in stored_before for v in out.flatten().tolist())
    assert len(pool.images) == 50 and any(im.item() >= 1000 for im in pool.images)


def test_image_pool_of_size_zero_passes_through() -> None:
    x = torch.randn(3, 3, 4, 4)
    assert ImagePool(0).query(x) is x
