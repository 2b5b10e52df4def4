"""Mixup between real and fake with the least-squares loss, as the face-swap GAN trains D and G."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.lsgan import lsgan_d_loss, lsgan_g_loss
from refimpl.mixup import sample_mixup
from refimpl.mixup_lsgan import (
    LATEST,
    V2_0,
    MixupLSGANConfig,
    mixup_lsgan_d_loss,
    mixup_lsgan_g_loss,
    mixup_lsgan_step,
    mixup_real_fake,
)


def test_config_defaults_are_the_face_swap_gan() -> None:
    # shaoanlu/faceswap-GAN networks/losses.py @7a1a525: Beta(0.2, 0.2), targets lam·1 (a = 0, b = 1),
    # loss_G = w_D · calc_loss(output_mixup, (1 − lam)·1, "l2"): no ½, G on the mixed batch.
    assert MixupLSGANConfig() == MixupLSGANConfig(alpha=0.2, a=0.0, b=1.0, g_scale=1.0, mixed_g=True)
    # legacy/FaceSwap_GAN_github.ipynb: mixup_alpha = 0.1, loss_G = .5 * loss_fn(output_mixup, (1 - lam) * ...).
    assert MixupLSGANConfig(alpha=0.1, g_scale=0.5) == V2_0
    # networks/losses.py @17219d0: loss_G = w_D · calc_loss(pred_fake, ones, "l2"), no mixing for G.
    assert MixupLSGANConfig(mixed_g=False) == LATEST


def test_mixing_real_and_fake_by_hand() -> None:
    real, fake = torch.full((2, 3), 2.0), torch.full((2, 3), -1.0)
    # 0.75 · 2 + 0.25 · (−1) = 1.25
    torch.testing.assert_close(mixup_real_fake(real, fake, 0.75), torch.full((2, 3), 1.25))


def test_d_loss_targets_the_mixed_label() -> None:
    d_out = torch.tensor([0.3, 0.9])
    # λ = 0.7, a = 0, b = 1: target 0.7; errors −0.4 and 0.2 -> (0.16 + 0.04) / 2
    torch.testing.assert_close(mixup_lsgan_d_loss(d_out, 0.7), torch.tensor(0.1))
    # λ = 1 and λ = 0 are LSGAN's real and fake terms (twice lsgan_d_loss's halves).
    real_out, fake_out = torch.tensor([0.2, 0.6]), torch.tensor([0.1, -0.3])
    both = mixup_lsgan_d_loss(real_out, 1.0) + mixup_lsgan_d_loss(fake_out, 0.0)
    torch.testing.assert_close(both, 2 * lsgan_d_loss(real_out, fake_out, a=0.0, b=1.0))
    # Other codings: a = −1, b = 1 at λ = 0.25 targets −0.5; a = 0, b = 2 at λ = 0.25 targets 0.5.
    torch.testing.assert_close(mixup_lsgan_d_loss(torch.tensor([-0.5]), 0.25, a=-1.0, b=1.0), torch.tensor(0.0))
    torch.testing.assert_close(mixup_lsgan_d_loss(torch.tensor([1.5]), 0.25, a=0.0, b=2.0), torch.tensor(1.0))


def test_g_loss_swaps_the_mixed_labels() -> None:
    d_out = torch.tensor([0.3, 0.9])
    # λ = 0.7: target 1 − 0.7 = 0.3; errors 0 and 0.6 -> 0.36 / 2
    torch.testing.assert_close(mixup_lsgan_g_loss(d_out, 0.7), torch.tensor(0.18))
    # a = −1, b = 2, λ = 0.25: target 0.75 · 2 + 0.25 · (−1) = 1.25; error 0.5 -> 0.25
    torch.testing.assert_close(mixup_lsgan_g_loss(torch.tensor([1.75]), 0.25, a=-1.0, b=2.0), torch.tensor(0.25))
    # λ = 0 is LSGAN's generator loss with c = b, without the ½.
    torch.testing.assert_close(mixup_lsgan_g_loss(d_out, 0.0), 2 * lsgan_g_loss(d_out, c=1.0))


class _Mean(nn.Module):
    """A critic that averages its input: D(x̃) = λ D(real) + (1 − λ) D(fake), so losses follow by hand."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1, keepdim=True)


def test_step_draws_lambda_from_mixup_and_matches_the_losses_by_hand() -> None:
    real, fake = torch.full((3, 4), 2.0), torch.full((3, 4), -1.0)
    cfg = MixupLSGANConfig(a=-0.5, b=1.5)
    lam, _ = sample_mixup(3, cfg.alpha, torch.Generator().manual_seed(5))
    mixed = lam * 2.0 + (1 - lam) * -1.0
    d_loss, g_loss = mixup_lsgan_step(_Mean(), real, fake, cfg, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(d_loss.item(), (mixed - (lam * 1.5 + (1 - lam) * -0.5)) ** 2)
    torch.testing.assert_close(g_loss.item(), (mixed - ((1 - lam) * 1.5 + lam * -0.5)) ** 2)
    # Two steps on one generator reproduce mixup's sampler for this batch size, draw after draw.
    gen, ref = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for _ in range(2):
        d_loss, _ = mixup_lsgan_step(_Mean(), real, fake, generator=gen)
        lam, _ = sample_mixup(3, 0.2, ref)
        torch.testing.assert_close(d_loss.item(), (lam * 2.0 + (1 - lam) * -1.0 - lam) ** 2)


def test_presets_change_the_generator_loss_as_their_code_does() -> None:
    real, fake = torch.full((2, 4), 2.0), torch.full((2, 4), -1.0)
    lam, _ = sample_mixup(2, 0.1, torch.Generator().manual_seed(1))
    _, g_half = mixup_lsgan_step(_Mean(), real, fake, V2_0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(g_half.item(), 0.5 * (lam * 2.0 + (1 - lam) * -1.0 - (1 - lam)) ** 2)
    # LATEST: G's loss is (D(G(z)) − 1)² on the generated batch alone: (−1 − 1)² = 4.
    d_loss, g_plain = mixup_lsgan_step(_Mean(), real, fake, LATEST, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(g_plain.item(), 4.0)
    lam2, _ = sample_mixup(2, 0.2, torch.Generator().manual_seed(1))
    torch.testing.assert_close(d_loss.item(), (lam2 * 2.0 + (1 - lam2) * -1.0 - lam2) ** 2)


def test_step_detaches_the_fake_for_d_and_lets_g_learn_through_the_mix() -> None:
    torch.manual_seed(0)
    gen, d = nn.Linear(2, 3), nn.Linear(3, 1)
    real, z = torch.rand(4, 3), torch.randn(4, 2)
    for cfg in (MixupLSGANConfig(), LATEST):
        gen.zero_grad(), d.zero_grad()
        d_loss, g_loss = mixup_lsgan_step(d, real, gen(z), cfg, generator=torch.Generator().manual_seed(0))
        d_loss.backward(retain_graph=True)
        assert gen.weight.grad is None and d.weight.grad is not None
        g_loss.backward()
        assert gen.weight.grad is not None and gen.weight.grad.abs().sum() > 0
        gen.weight.grad = None
