"""Deep Image Prior (arXiv:1711.10925): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.deep_image_prior import (
    TINY,
    DeepImagePrior,
    DIPConfig,
    SkipLevel,
    SkipNet,
    denoising_loss,
    fit_step,
    inpainting_loss,
)


def test_standard_denoising_network_parameter_count() -> None:
    with torch.device("meta"):
        assert sum(p.numel() for p in SkipNet(DIPConfig()).parameters()) == 2_217_831
        assert sum(isinstance(m, SkipLevel) for m in SkipNet(DIPConfig()).modules()) == 5


def test_the_code_z_is_fixed_noise_not_a_parameter() -> None:
    model = DeepImagePrior((16, 16), TINY, generator=torch.Generator().manual_seed(0))
    assert "z" in dict(model.named_buffers())
    assert all(p is not model.z for p in model.parameters())
    assert model.z.shape == (1, TINY.input_depth, 16, 16)
    assert model.z.min() >= 0 and model.z.max() <= TINY.noise_scale  # U(0, 1) · 0.1
    # Same generator, same code; the image never enters the forward pass.
    again = DeepImagePrior((16, 16), TINY, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(model.z, again.z)
    out = model()
    assert out.shape == (1, 3, 16, 16) and out.min() > 0 and out.max() < 1


def test_fitting_reduces_the_loss_and_leaves_z_untouched(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = DeepImagePrior((16, 16), TINY, generator=g).to(device)
    target = torch.rand(1, 3, 16, 16, generator=g).to(device)
    z_before = model.z.clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=TINY.lr)
    losses = [fit_step(model, optimizer, target, TINY.reg_noise_std, generator=g) for _ in range(6)]
    assert losses[-1] < losses[0]  # after 5 steps the fit is better than at initialisation
    torch.testing.assert_close(model.z, z_before)


def test_perturbation_is_added_to_z() -> None:
    model = DeepImagePrior((8, 8), TINY, generator=torch.Generator().manual_seed(0)).eval()
    eps = torch.randn(1, TINY.input_depth, 8, 8) / 30
    torch.testing.assert_close(model(eps), model.net(model.z + eps))
    assert not torch.allclose(model(eps), model())


def test_inpainting_loss_ignores_unknown_pixels() -> None:
    out, target = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    torch.testing.assert_close(inpainting_loss(out, target, mask), torch.tensor(0.25))
    out2 = out.clone()
    out2[..., 1, 1] = 5.0  # a masked-out pixel: no effect
    torch.testing.assert_close(inpainting_loss(out2, target, mask), torch.tensor(0.25))
    torch.testing.assert_close(denoising_loss(out, target), torch.tensor(1.0))


def test_config_defaults_are_the_papers_denoising_setting() -> None:
    # Supplementary material, denoising: n_d = n_u = 128 and n_s = 4 at 5 scales, z with 32 channels
    # scaled by 1/10, input noise σ_p = 1/30 added at every step, Adam with lr 0.01.
    c = DIPConfig()
    assert c.channels_down == c.channels_up == (128,) * 5 and c.channels_skip == (4,) * 5
    assert (c.input_depth, c.noise_scale, c.reg_noise_std, c.lr) == (32, 0.1, 1 / 30, 0.01)
