"""NeRF (arXiv:2003.08934): the claims that define the paper."""

from __future__ import annotations

import math

import torch

from refimpl.nerf import (
    TINY,
    NeRF,
    NeRFConfig,
    NeRFMLP,
    encoding_channels,
    nerf_loss,
    positional_encoding,
    sample_intervals,
    sample_pdf,
    stratified_samples,
    volume_render,
)


def test_positional_encoding_has_63_and_27_channels() -> None:
    assert positional_encoding(torch.rand(5, 3), 10).shape == (5, 63) and encoding_channels(10) == 63
    assert positional_encoding(torch.rand(5, 3), 4).shape == (5, 27) and encoding_channels(4) == 27
    assert positional_encoding(torch.rand(5, 3), 4, include_input=False).shape == (5, 24)


def test_positional_encoding_values() -> None:
    p = torch.tensor([[0.25, 0.0, 1.0]])
    enc = positional_encoding(p, 2)
    torch.testing.assert_close(enc[0, :3], p[0])  # the input itself comes first
    # Frequency 2⁰π: sin block then cos block over the 3 coordinates; then 2¹π.
    expected = [math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4), 1.0, -1.0,
                math.sin(math.pi / 2), 0.0, 0.0, math.cos(math.pi / 2), 1.0, 1.0]
    torch.testing.assert_close(enc[0, 3:], torch.tensor(expected), atol=1e-6, rtol=0)


def test_standard_mlp_parameter_count_and_skip() -> None:
    mlp = NeRFMLP(NeRFConfig())
    assert sum(p.numel() for p in mlp.parameters()) == 595_844
    assert [layer.in_features for layer in mlp.trunk] == [63, 256, 256, 256, 256, 319, 256, 256]
    rgb, sigma = mlp(torch.randn(7, 63), torch.randn(7, 27))
    assert rgb.shape == (7, 3) and sigma.shape == (7,)
    assert (rgb >= 0).all() and (rgb <= 1).all() and (sigma >= 0).all()


def test_density_does_not_depend_on_view_direction() -> None:
    mlp = NeRFMLP(TINY)
    x = torch.randn(3, encoding_channels(TINY.pos_freqs))
    d1, d2 = torch.randn(2, 3, encoding_channels(TINY.dir_freqs))
    torch.testing.assert_close(mlp(x, d1)[1], mlp(x, d2)[1])
    assert not torch.allclose(mlp(x, d1)[0], mlp(x, d2)[0])


def test_constant_density_matches_the_closed_form(device: torch.device) -> None:
    # σ constant over a segment of length L: opacity 1 − exp(−σL); a constant colour c renders c·opacity.
    sigma, length, n = 0.7, 1.5, 32
    deltas = torch.full((2, n), length / n, device=device)
    c = torch.tensor([0.2, 0.5, 0.9], device=device)
    out = volume_render(torch.full((2, n), sigma, device=device), c.expand(2, n, 3), deltas)
    opacity = 1 - math.exp(-sigma * length)
    torch.testing.assert_close(out["opacity"], torch.full((2,), opacity, device=device), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out["rgb"], (c * opacity).expand(2, 3), atol=1e-5, rtol=1e-5)


def test_compositing_lets_the_first_opaque_sample_win() -> None:
    sigma = torch.tensor([[0.0, 1e4, 1e4]])
    rgb = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]])
    out = volume_render(sigma, rgb, torch.ones(1, 3))
    torch.testing.assert_close(out["rgb"], torch.tensor([[0.0, 1.0, 0.0]]), atol=1e-5, rtol=0)


def test_intervals_scale_with_ray_direction_norm_and_end_at_infinity() -> None:
    deltas = sample_intervals(torch.tensor([[1.0, 1.5, 3.0]]), torch.tensor([[0.0, 2.0, 0.0]]))
    torch.testing.assert_close(deltas[:, :2], torch.tensor([[1.0, 3.0]]))
    assert deltas[0, 2] > 1e9


def test_stratified_samples_fall_one_per_bin() -> None:
    z = stratified_samples(2.0, 6.0, torch.rand(3, 4))
    edges = torch.linspace(2.0, 6.0, 5)
    assert ((z >= edges[:-1]) & (z < edges[1:])).all()


def test_inverse_cdf_samples_concentrate_in_the_high_weight_bin() -> None:
    bins = torch.linspace(0.0, 4.0, 5).expand(2, 5)
    weights = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 3.0]])
    u = torch.rand(2, 1000)
    z = sample_pdf(bins, weights, u)
    inside = ((z[0] >= 2.0) & (z[0] <= 3.0)).float().mean()
    assert inside > 0.99  # all mass in [2, 3] up to the 1e-5 floor
    frac_last = ((z[1] >= 3.0) & (z[1] <= 4.0)).float().mean()
    assert abs(frac_last - 0.75) < 0.05  # weight 3 of 4
    # The inverse CDF is monotone in u.
    uu = torch.linspace(0, 0.999, 50).expand(2, 50)
    zz = sample_pdf(bins, weights, uu)
    assert (zz[:, 1:] >= zz[:, :-1]).all()


def test_hierarchical_rendering_and_loss_shapes() -> None:
    model = NeRF(TINY)
    rays_o, rays_d = torch.zeros(3, 3), torch.tensor([[0.0, 0.0, 1.0]]).expand(3, 3)
    rgb_c, rgb_f = model(rays_o, rays_d, torch.rand(3, TINY.n_coarse), torch.rand(3, TINY.n_fine))
    assert rgb_c.shape == rgb_f.shape == (3, 3)
    target = torch.rand(3, 3)
    expected = ((rgb_c - target) ** 2).sum(-1).mean() + ((rgb_f - target) ** 2).sum(-1).mean()
    torch.testing.assert_close(nerf_loss(rgb_c, rgb_f, target), expected)
