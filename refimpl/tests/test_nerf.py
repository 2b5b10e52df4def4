"""NeRF (arXiv:2003.08934): the claims that define the paper."""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from refimpl.nerf import (
    OFFICIAL,
    OFFICIAL_NO_VIEWDIRS,
    TINY,
    NeRF,
    NeRFConfig,
    NeRFMLP,
    encoding_channels,
    hierarchical_samples,
    nerf_loss,
    positional_encoding,
    sample_intervals,
    sample_pdf,
    stratified_samples,
    volume_render,
)


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_config_defaults_are_the_papers() -> None:
    c = NeRFConfig()
    assert (c.pos_freqs, c.dir_freqs) == (10, 4)  # Sec. 5.1: L = 10, L = 4
    assert (c.depth, c.width, c.skips, c.view_width) == (8, 256, (4,), 128)  # Fig. 7
    assert (c.n_coarse, c.n_fine) == (64, 128)  # Sec. 5.3
    assert c.use_viewdirs is True and c.freq_scale == math.pi and c.far_delta == 1e10  # Sec. 4, Eq. 4, code
    assert replace(c, freq_scale=1.0) == OFFICIAL
    assert replace(c, freq_scale=1.0, use_viewdirs=False) == OFFICIAL_NO_VIEWDIRS


def test_official_parameter_counts_with_and_without_view_directions() -> None:
    # bmild/nerf @ 14c55567a6d0fbd75d3fd12b0411f98160ba3237 run_nerf_helpers.py init_nerf_model, Dense shapes
    # summed: 595,844 (use_viewdirs=True), 494,084 (False, output_ch = 4). yenchenlin/nerf-pytorch @
    # 63a5a630c9abd62b0f21c08703d0ac2ea7d4b9dd NeRF instantiated: 595,844 with view directions.
    with torch.device("meta"):
        assert _count(NeRFMLP(OFFICIAL)) == 595_844
        assert _count(NeRF(OFFICIAL)) == 2 * 595_844 == 1_191_688  # coarse + fine
        assert _count(NeRFMLP(OFFICIAL_NO_VIEWDIRS)) == 494_084
        assert _count(NeRF(OFFICIAL_NO_VIEWDIRS)) == 988_168


def test_without_view_directions_colour_ignores_the_direction() -> None:
    cfg = replace(TINY, use_viewdirs=False)
    mlp = NeRFMLP(cfg)
    x = torch.randn(5, encoding_channels(cfg.pos_freqs))
    d1, d2 = torch.randn(2, 5, encoding_channels(cfg.dir_freqs))
    (rgb1, s1), (rgb2, s2) = mlp(x, d1), mlp(x, d2)
    torch.testing.assert_close(rgb1, rgb2)
    torch.testing.assert_close(s1, s2)
    with torch.no_grad():  # one linear head: rgb = σ(W h)[:3], σ = relu(W h)[3]
        mlp.output.weight.zero_()
        mlp.output.bias.copy_(torch.tensor([0.0, 2.0, -1.0, 0.75]))
    rgb, sigma = mlp(x, d1)
    torch.testing.assert_close(rgb, torch.sigmoid(torch.tensor([0.0, 2.0, -1.0])).expand(5, 3))
    torch.testing.assert_close(sigma, torch.full((5,), 0.75))
    assert not torch.allclose(NeRFMLP(cfg)(x, d1)[0], NeRFMLP(cfg)(x.flip(0), d1)[0])  # depends on position


def test_official_encoding_omits_pi() -> None:
    # yenchenlin/nerf-pytorch @ 63a5a63 get_embedder(2, 0) applied to (0.25, 0, 1): x, sin(x), cos(x),
    # sin(2x), cos(2x) per frequency, three coordinates each.
    p = torch.tensor([[0.25, 0.0, 1.0]], dtype=torch.float64)
    expected = [0.25, 0.0, 1.0, math.sin(0.25), 0.0, math.sin(1.0), math.cos(0.25), 1.0, math.cos(1.0),
                math.sin(0.5), 0.0, math.sin(2.0), math.cos(0.5), 1.0, math.cos(2.0)]
    torch.testing.assert_close(positional_encoding(p, 2, scale=OFFICIAL.freq_scale)[0],
                               torch.tensor(expected, dtype=torch.float64))


def test_the_model_uses_the_configured_frequency_scale() -> None:
    rays_o, rays_d = torch.zeros(2, 3), torch.tensor([[0.3, -0.2, 1.0], [0.1, 0.4, 1.0]])
    uc, uf = torch.rand(2, TINY.n_coarse), torch.rand(2, TINY.n_fine)
    torch.manual_seed(1)
    a = NeRF(TINY)
    torch.manual_seed(1)
    b = NeRF(replace(TINY, freq_scale=1.0))
    assert not torch.allclose(a(rays_o, rays_d, uc, uf)[0], b(rays_o, rays_d, uc, uf)[0])


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


def test_stratified_samples_are_jittered_by_u() -> None:
    # Eq. 2: t_i = t_n + (i − 1 + u_i)(t_f − t_n)/N; bins of width 1 on [2, 6].
    u = torch.tensor([[0.25, 0.5, 0.75, 0.1], [0.0, 0.9, 0.3, 0.6]], dtype=torch.float64)
    torch.testing.assert_close(stratified_samples(2.0, 6.0, u),
                               torch.tensor([[2.25, 3.5, 4.75, 5.1], [2.0, 3.9, 4.3, 5.6]], dtype=torch.float64))


def test_fine_samples_are_sorted_and_include_the_coarse_ones() -> None:
    z_c = torch.tensor([[2.0, 3.0, 4.0, 5.0, 6.0]])
    weights = torch.tensor([[0.3, 0.0, 1.0, 0.0, 0.3]])  # all interior mass between 3.5 and 4.5
    u = torch.tensor([[0.9, 0.1, 0.3]])
    z = hierarchical_samples(z_c, weights, u)
    assert z.shape == (1, 8)
    assert (z[:, 1:] >= z[:, :-1]).all()
    assert all((z == v).any() for v in z_c[0])
    fine = z[~torch.isin(z, z_c)]
    assert ((fine > 3.5) & (fine < 4.5)).all() and fine.numel() == 3
    # The end samples' weights are dropped (authors' code): changing them moves nothing.
    torch.testing.assert_close(hierarchical_samples(z_c, weights * torch.tensor([[9.0, 1, 1, 1, 9.0]]), u), z)


def test_fine_pass_renders_the_sorted_union() -> None:
    model = NeRF(TINY)
    with torch.no_grad():  # positive densities, so that the order of the samples matters
        model.coarse.sigma.bias.fill_(1.0)
        model.fine.sigma.bias.fill_(1.0)
    rays_o, rays_d = torch.zeros(2, 3), torch.tensor([[0.3, -0.2, 1.0], [0.1, 0.4, 1.0]])
    uc, uf = torch.rand(2, TINY.n_coarse), torch.rand(2, TINY.n_fine)
    out = model.render_rays(rays_o, rays_d, uc, uf)
    z_c, z_f = out["z_coarse"], out["z_fine"]
    torch.testing.assert_close(z_c, stratified_samples(2.0, 6.0, uc))
    assert z_f.shape == (2, TINY.n_coarse + TINY.n_fine) and (z_f[:, 1:] >= z_f[:, :-1]).all()
    assert torch.isin(z_c, z_f).all()
    fine = model._render(model.fine, rays_o, rays_d, z_f)["rgb"]
    torch.testing.assert_close(out["rgb_fine"], fine)
    coarse = model._render(model.coarse, rays_o, rays_d, z_c)["rgb"]
    torch.testing.assert_close(out["rgb_coarse"], coarse)
    assert not torch.allclose(fine, model._render(model.fine, rays_o, rays_d, z_f.flip(-1))["rgb"])


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
