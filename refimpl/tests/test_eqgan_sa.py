"""EqGAN-SA (arXiv:2112.00718): heatmaps for G, D's Grad-CAM attention, and their alignment (Eq. 4).

Official figures come from genforce/eqgan-sa @ a74ddd8754b3223b49714aba966959d9f7f5c880
(training/networks.py: generate_heatmap_multi, SEL, SynthesisNetwork; training/loss.py: the Gmain
alignment branch), instantiated at --cfg=paper256 (channel_base 16384, channel_max 512, 8 mapping layers).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.eqgan_sa import (
    OFFICIAL,
    TINY,
    EqGANSAConfig,
    HeatmapEncoder,
    SpatialEncodingLayer,
    TinyDiscriminator,
    TinyGenerator,
    alignment_loss,
    cam_objective,
    eqgan_sa_alignment,
    gaussian_heatmaps,
    generator_attention,
    grad_cam,
    normalize_heatmap,
    sample_heatmaps,
    sel_parameter_count,
)


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# --------------------------------------------------------------------- official preset
def test_official_preset_is_the_paper256_configuration() -> None:
    cfg = EqGANSAConfig()
    assert cfg == OFFICIAL
    assert (cfg.resolution, cfg.channel_base, cfg.channel_max) == (256, 16384, 512)  # train.py paper256
    assert (cfg.sel_hidden, cfg.sel_residual_scale, cfg.heat_channels) == (64, 0.1, 32)  # SEL / hm_conv*
    assert cfg.level_centres == (1, 2, 4)  # generate_heatmap_multi: num_l2 = 2, num_l3 = 4
    assert (cfg.centre_std, cfg.centre_clamp, cfg.heat_eps) == (0.33, 0.75, 0.01)
    assert cfg.align_threshold == 0.25  # loss.py: self.align_thres
    assert [cfg.channels(r) for r in (4, 32, 64, 128, 256)] == [512, 512, 256, 128, 64]


def test_sel_and_heatmap_encoder_parameter_counts_match_the_official_generator() -> None:
    # Official Generator(use_sel=True) at paper256: 56,222,346 parameters, of which the 20 SELs hold
    # 31,439,912 and the six hm_conv layers 14,976 (the plain StyleGAN2 G: 24,767,458).
    assert sel_parameter_count(OFFICIAL) == (31_439_912, 14_976)
    assert 24_767_458 + 31_439_912 + 14_976 == 56_222_346
    # per layer: synthesis.b4.conv1.sel (512 channels, 32 heatmap channels) and b256.conv1.sel (64, 96)
    assert _count(SpatialEncodingLayer(512, 32)) == 2_379_458  # the default embedding width is 64
    assert _count(SpatialEncodingLayer(64, 96)) == 93_442
    assert _count(HeatmapEncoder()) == 14_976  # defaults: 1, 2, 4 Gaussians → 16 → 32 channels
    # hm_conv0_b8 (1 → 16), hm_conv1_b8 (16 → 32), …: 160 + 4,640 + 304 + 4,640 + 592 + 4,640
    assert [_count(c) for lvl in HeatmapEncoder().levels for c in lvl] == [160, 4_640, 304, 4_640, 592, 4_640]


# --------------------------------------------------------------------- Sec. 3.1: heatmaps
def test_gaussian_heatmap_values_follow_the_official_definition() -> None:
    # centre (y, x) = (0.3, −0.5), σ = 0.7, 9×9 grid on [−1, 1]²: pixel (0, 0) is (−1, −1), pixel (4, 2) is (0, −0.5).
    heat = gaussian_heatmaps(torch.tensor([[[0.3], [-0.5]]], dtype=torch.float64), 0.7, 9)
    assert heat.shape == (1, 1, 9, 9)
    assert math.isclose(heat[0, 0, 0, 0].item(), math.exp(-(1.3**2 + 0.5**2) / 0.7) + 0.01, rel_tol=1e-12)
    assert math.isclose(heat[0, 0, 4, 2].item(), math.exp(-(0.3**2) / 0.7) + 0.01, rel_tol=1e-12)
    # the official code gives 0.07257257 and 0.88935071 here (generate_heatmap_multi, float32)
    assert abs(heat[0, 0, 0, 0].item() - 0.07257257) < 1e-7 and abs(heat[0, 0, 4, 2].item() - 0.88935071) < 1e-7
    # σ per centre: two centres, two widths
    two = gaussian_heatmaps(torch.zeros(1, 2, 2, dtype=torch.float64), torch.tensor([[0.5, 2.0]], dtype=torch.float64), 3)
    assert math.isclose(two[0, 0, 0, 1].item(), math.exp(-1 / 0.5) + 0.01, rel_tol=1e-12)
    assert math.isclose(two[0, 1, 0, 1].item(), math.exp(-1 / 2.0) + 0.01, rel_tol=1e-12)


def test_sampled_heatmaps_have_three_levels_of_one_two_and_four_gaussians() -> None:
    g = torch.Generator().manual_seed(0)
    levels = sample_heatmaps(64, 17, g)
    assert [tuple(h.shape) for h in levels] == [(64, 1, 17, 17), (64, 2, 17, 17), (64, 4, 17, 17)]
    for h in levels:
        assert h.min() >= 0.01 and h.max() <= 1.01 + 1e-6
    # level 1: the peak (value 1 + eps at the centre) lies within the clamp ±0.75, so never on the border
    peak = levels[0].flatten(1).argmax(1)
    rows, cols = peak // 17, peak % 17
    assert rows.min() >= 1 and rows.max() <= 15 and cols.min() >= 1 and cols.max() <= 15
    # the peak value is 1 + eps up to the grid's quantisation of the centre
    h = levels[0][:, 0] - 0.01
    assert torch.allclose(h[torch.arange(64), rows, cols], torch.ones(64), atol=0.2)
    # reproducible from the generator, and different draws differ
    again = sample_heatmaps(64, 17, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(levels, again, strict=True))
    other = sample_heatmaps(64, 17, torch.Generator().manual_seed(1))
    assert not torch.equal(levels[1], other[1])


def test_sampled_heatmaps_reproduce_the_official_sampler_draw_for_draw() -> None:
    # networks.py generate_heatmap_multi(3, 5) after torch.manual_seed(0) draws centres, σ₁, the level-2
    # and level-3 offsets, σ₂ and σ₃ in this order; the per-map sums it returns (float32):
    torch.manual_seed(0)
    levels = sample_heatmaps(3, 5)
    official = [
        [6.199248790740967, 5.70989465713501, 6.136547088623047],
        [5.395648956298828, 7.870297431945801, 8.708599090576172, 5.029878616333008, 6.1299896240234375,
         7.248190879821777],
        [2.159745216369629, 2.468430519104004, 1.558924674987793, 1.8638265132904053, 1.7358182668685913,
         2.5862650871276855, 1.6894785165786743, 1.407180666923523, 3.6672821044921875, 5.655435562133789,
         2.502197742462158, 3.014366388320923],
    ]
    for level, sums in zip(levels, official, strict=True):
        torch.testing.assert_close(level.sum(dim=(2, 3)).flatten(), torch.tensor(sums), atol=2e-6, rtol=0)
    row = [0.054370321333408356, 0.30627602338790894, 0.833286464214325, 0.9620412588119507, 0.4681534469127655]
    torch.testing.assert_close(levels[1][1, 1, 0], torch.tensor(row), atol=1e-6, rtol=0)


def test_level_one_width_is_shared_by_the_batch_and_finer_levels_shrink() -> None:
    # Fit σ from two pixels of each map: log(h − eps) = −d²/σ. Level 1 shares σ ∈ [0.5, 1) across the batch;
    # level 2 draws σ = (U + 0.1)/1.4 ∈ [0.07, 0.79), level 3 σ = (U + 0.1)/2 ∈ [0.05, 0.55).
    g = torch.Generator().manual_seed(3)
    res = 33
    levels = sample_heatmaps(32, res, g)
    h = (levels[0][:, 0].double() - 0.01).clamp_min(1e-300)
    axis = torch.linspace(-1, 1, res, dtype=torch.float64)
    flat = h.flatten(1)
    peak = flat.argmax(1)
    cy, cx = axis[peak // res], axis[peak % res]
    # σ from the corner pixel (−1, −1) relative to the peak pixel; grid quantisation of the centre adds a small error
    d2 = (-1 - cy) ** 2 + (-1 - cx) ** 2
    sigma = -d2 / torch.log(h[:, 0, 0] / flat.max(1).values)
    assert sigma.min() >= 0.5 - 0.05 and sigma.max() < 1.0 + 0.05
    assert (sigma.max() - sigma.min()) < 0.1
    # finer levels are narrower on average: less mass above half of the peak
    frac = [((lv - 0.01) > 0.5).double().mean().item() for lv in levels]
    assert frac[0] > frac[1] > frac[2]


# --------------------------------------------------------------------- Sec. 3.1: the spatial encoding layer
def test_sel_is_a_residual_heatmap_modulation_with_scale_one_tenth() -> None:
    torch.manual_seed(0)
    sel = SpatialEncodingLayer(3, 2, 4).double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    heat = torch.rand(2, 2, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        sel.out.weight.zero_()
        sel.out.bias.zero_()
    torch.testing.assert_close(sel(x, heat), x)  # output conv zeroed: the residual path alone
    with torch.no_grad():  # σ = μ = 0 and an identity output conv: x + 0.1 · LReLU(IN(x))
        for conv in (sel.sigma, sel.mu):
            conv.weight.zero_()
            conv.bias.zero_()
        sel.out.weight[:, :, 1, 1] = torch.eye(3, dtype=torch.float64)
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    normed = (x - mean) / torch.sqrt(var + 1e-5)
    expected = x + 0.1 * torch.where(normed > 0, normed, 0.2 * normed)
    torch.testing.assert_close(sel(x, heat), expected)


def test_sel_modulation_follows_the_heatmap_and_its_embedding_gain() -> None:
    torch.manual_seed(1)
    sel = SpatialEncodingLayer(2, 1, 3).double()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    with torch.no_grad():  # μ = 0, σ = sum of the embedding, identity output conv with no residual scale change
        sel.shared.weight.zero_()
        sel.shared.weight[:, 0, 1, 1] = 1.0
        sel.shared.bias.zero_()
        sel.sigma.weight.zero_()
        sel.sigma.weight[0, :, 1, 1] = 1.0
        sel.sigma.bias.zero_()
        sel.mu.weight.zero_()
        sel.mu.bias.zero_()
        sel.out.weight.zero_()
        sel.out.weight[:, :, 1, 1] = torch.eye(2, dtype=torch.float64)
        sel.out.bias.zero_()
    heat = torch.full((1, 1, 4, 4), 0.5, dtype=torch.float64)
    heat[..., 0, 0] = -1.0  # LReLU(−1)·√2 on the embedding at one pixel
    # embedding h = LReLU(heat)·√2 in each of 3 channels; σ = 3h; dx = IN(x)(1 + σ)
    h = torch.where(heat > 0, heat, 0.2 * heat) * math.sqrt(2)
    mean = x.mean(dim=(2, 3), keepdim=True)
    normed = (x - mean) / torch.sqrt(x.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-5)
    dx = normed * (1 + 3 * h)
    torch.testing.assert_close(sel(x, heat), x + 0.1 * torch.where(dx > 0, dx, 0.2 * dx))
    # a coarser heatmap is resized with corners aligned before use
    coarse = torch.tensor([[[[0.0, 1.0], [1.0, 2.0]]]], dtype=torch.float64)
    fine = F.interpolate(coarse, size=(4, 4), mode="bilinear", align_corners=True)
    torch.testing.assert_close(sel(x, coarse), sel(x, fine))


def test_heatmap_encoder_embeds_each_level_and_concatenates_them() -> None:
    torch.manual_seed(0)
    enc = HeatmapEncoder((1, 2, 4), 8).double()
    levels = [torch.rand(2, k, 6, 6, dtype=torch.float64) for k in (1, 2, 4)]
    feats = enc(levels)
    assert [tuple(f.shape) for f in feats] == [(2, 8, 6, 6)] * 3 + [(2, 24, 6, 6)]
    torch.testing.assert_close(feats[3], torch.cat(feats[:3], dim=1))
    conv0, conv1 = enc.levels[1]
    h = F.leaky_relu(conv0(levels[1]), 0.2) * math.sqrt(2)
    # the second conv's gain is √2 · √0.5 = 1 (official hm_conv1_* called with gain=√0.5)
    torch.testing.assert_close(feats[1], F.leaky_relu(conv1(h), 0.2))


# --------------------------------------------------------------------- Sec. 3.2: D's attention
def test_normalisation_is_per_image_scale_invariant_and_constant_maps_give_zero() -> None:
    h = torch.rand(2, 1, 4, 4)
    scaled = h * torch.tensor([3.0, 0.1]).view(2, 1, 1, 1) + 5
    torch.testing.assert_close(normalize_heatmap(scaled), normalize_heatmap(h), atol=1e-5, rtol=1e-5)
    flat = normalize_heatmap(h).flatten(1)
    torch.testing.assert_close(flat.min(1).values, torch.zeros(2))
    torch.testing.assert_close(flat.max(1).values, torch.ones(2), atol=1e-6, rtol=0)
    exact = normalize_heatmap(torch.tensor([[[[1.0, 2.0], [3.0, 5.0]]]], dtype=torch.float64))
    assert exact.flatten().tolist() == [0.0, 0.25, 0.5, 1.0]
    const = normalize_heatmap(torch.full((1, 1, 3, 3), 2.0))
    assert torch.isfinite(const).all() and const.abs().max() == 0


def test_normalising_statistics_carry_no_gradient() -> None:
    # Official: min and max are .detach()ed, so d norm(h)/dh = 1/(max − min) everywhere.
    h = torch.tensor([[[[0.0, 1.0], [3.0, 4.0]]]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(normalize_heatmap(h).sum(), h)
    torch.testing.assert_close(grad, torch.full_like(h, 0.25))


def test_grad_cam_applies_the_relu_per_channel_before_summing() -> None:
    # Two channels whose weighted maps cancel at one pixel: Σ_k ReLU(α_k F_k) keeps the positive one.
    feat = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    feat[0, 0, 0, 0] = 2.0
    feat[0, 1, 0, 0] = 1.0
    feat[0, 1, 1, 1] = 3.0
    feat.requires_grad_(True)
    w = torch.tensor([1.0, -2.0], dtype=torch.float64).view(1, 2, 1, 1)
    objective = (feat * w).sum(dim=(1, 2, 3))  # ∂/∂F_k = w_k everywhere, so α = w
    cam = grad_cam(feat, objective)
    expected = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    expected[0, 0, 0, 0] = 2.0  # ReLU(1·2) + ReLU(−2·1); sum-then-ReLU would give 0
    torch.testing.assert_close(cam, expected)


def test_channel_weights_are_spatial_means_of_the_objective_gradient() -> None:
    feat = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64, requires_grad=True)
    objective = (feat * torch.tensor([[[[1.0, 0.0], [0.0, 3.0]]]], dtype=torch.float64)).sum().view(1)
    cam = grad_cam(feat, objective)
    torch.testing.assert_close(cam, feat.detach() * 1.0)  # α = mean(1, 0, 0, 3) = 1
    # a batch: each image's weights come from its own objective (the batch sum, not the mean)
    two = torch.ones(2, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    obj = two.sum(dim=(1, 2, 3)) * torch.tensor([2.0, 5.0], dtype=torch.float64)
    torch.testing.assert_close(grad_cam(two, obj).flatten(1)[:, 0], torch.tensor([2.0, 5.0], dtype=torch.float64))


def test_cam_weights_are_constants_and_the_map_keeps_the_feature_graph() -> None:
    # With a quadratic objective α depends on F; the official code detaches α, so d CAM/dF = α only.
    feat = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64, requires_grad=True)
    cam = grad_cam(feat, feat.square().sum().view(1))  # α = mean(2F) = 5
    (grad,) = torch.autograd.grad(cam.sum(), feat)
    torch.testing.assert_close(grad, torch.full_like(feat, 5.0))


def test_cam_objective_is_the_generator_loss() -> None:
    logits = torch.tensor([[-2.0], [0.0], [3.0]])
    torch.testing.assert_close(cam_objective(logits), torch.log1p(torch.exp(-logits)))


# --------------------------------------------------------------------- Eq. 4: alignment
def test_generator_attention_normalises_multi_channel_levels_only() -> None:
    single = torch.tensor([[[[0.2, 0.6], [0.4, 1.0]]]])
    torch.testing.assert_close(generator_attention(single), single)  # used as sampled
    two = torch.stack([single[:, 0], 3 * single[:, 0]], dim=1)  # channel mean 2·single
    expected = (single - 0.2) / 0.8
    torch.testing.assert_close(generator_attention(two), expected, atol=1e-6, rtol=0)


def test_alignment_is_a_thresholded_l1_between_the_upsampled_cam_and_gs_heatmap() -> None:
    # CAM 2×2 → 3×3 with corners aligned: corners exact, centre the mean; normalised to [0, 1].
    cam = torch.tensor([[[[0.0, 2.0], [4.0, 6.0]]]], dtype=torch.float64)
    acts = torch.tensor([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]], dtype=torch.float64) / 6
    heat = torch.full((1, 1, 3, 3), 0.5, dtype=torch.float64)
    heat[0, 0, 0, 0] = 0.6
    diff = (acts - heat[0, 0]).abs().flatten()  # 0.6, 1/3, 1/6, 1/6, 0, 1/6, 1/6, 1/3, 0.5
    large = diff[diff > 0.25]
    assert large.numel() == 4
    assert math.isclose(alignment_loss([cam], [heat]).item(), large.mean().item(), rel_tol=1e-7)
    assert math.isclose(alignment_loss([cam], [heat]).item(), (0.6 + 2 / 3 + 0.5) / 4, rel_tol=1e-7)
    # with a threshold above every entry, the plain mean
    assert math.isclose(alignment_loss([cam], [heat], threshold=0.9).item(), diff.mean().item(), rel_tol=1e-7)
    # exactly one entry (0.6) above the threshold: still the plain mean (at least two are needed)
    assert math.isclose(alignment_loss([cam], [heat], threshold=0.55).item(), diff.mean().item(), rel_tol=1e-7)
    # exactly two entries (0.6, 0.5) above the threshold: their mean
    assert math.isclose(alignment_loss([cam], [heat], threshold=0.45).item(), 0.55, rel_tol=1e-7)
    # levels add with weight 1
    two_levels = alignment_loss([cam, cam], [heat, heat])
    assert math.isclose(two_levels.item(), 2 * large.mean().item(), rel_tol=1e-7)


def test_alignment_threshold_is_strict() -> None:
    # Entries equal to the threshold are not "above" it: diffs (0.25, 0, 0.25) give the plain mean 1/6.
    cam = torch.tensor([[[[0.0, 2.0, 4.0]]]], dtype=torch.float64)  # normalised: 0, 0.5, 1
    heat = torch.tensor([[[[0.25, 0.5, 0.75]]]], dtype=torch.float64)
    assert math.isclose(alignment_loss([cam], [heat]).item(), 1 / 6, rel_tol=1e-12)


def test_alignment_loss_is_zero_when_d_looks_where_g_was_told_to() -> None:
    heat = gaussian_heatmaps(torch.tensor([[[0.2, -0.4], [0.1, 0.5]]]), torch.tensor([[0.3, 0.5]]), 8)
    target = generator_attention(heat)
    assert alignment_loss([target.clone()], [heat]).item() < 1e-6
    assert alignment_loss([1 - target], [heat]).item() > 0.3


def test_alignment_trains_g_through_d_features() -> None:
    # The sampled heatmap is a fixed target; G learns from Eq. 4 through D's features of its own image.
    torch.manual_seed(0)
    gen, disc = TinyGenerator(), TinyDiscriminator()
    heatmaps = sample_heatmaps(2, 16, torch.Generator().manual_seed(0), TINY)
    logits, feats = disc(gen(torch.randn(2, 8), heatmaps))
    loss = alignment_loss([grad_cam(f, cam_objective(logits)) for f in feats], heatmaps[:2])
    grads = torch.autograd.grad(loss, [gen.fc.weight, gen.to_rgb.weight, disc.conv8.weight])
    assert all(g.abs().sum() > 0 for g in grads)


def test_generator_is_conditioned_on_the_heatmaps() -> None:
    torch.manual_seed(0)
    gen = TinyGenerator()
    z = torch.randn(2, 8)
    a = sample_heatmaps(2, 16, torch.Generator().manual_seed(0), TINY)
    b = sample_heatmaps(2, 16, torch.Generator().manual_seed(1), TINY)
    img_a, img_b = gen(z, a), gen(z, b)
    assert img_a.shape == (2, 3, 16, 16)
    assert (img_a - img_b).abs().max() > 1e-4
    for level in range(3):  # every level reaches the image
        c = list(a)
        c[level] = b[level]
        assert (gen(z, c) - img_a).abs().max() > 1e-6


def test_example_outputs() -> None:
    ex = eqgan_sa_alignment()
    cam, loss, adv = ex()
    assert cam.shape == (2, 1, 8, 8) and cam.min() >= 0
    assert 0 < loss.item() < 2 and adv.item() > 0
