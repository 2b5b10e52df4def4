"""StyleGAN2 (arXiv:1912.04958): the claims that define the paper."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from refimpl.stylegan2 import (
    OFFICIAL,
    TINY,
    ModulatedConv2d,
    PathLengthRegularizer,
    ResidualDiscriminatorBlock,
    StyleGAN2Config,
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    SynthesisBlock,
    SynthesisLayer,
    SynthesisNetwork,
    ToRGB,
    discriminator_logistic_loss,
    generator_logistic_loss,
    is_regularization_step,
    lazy_regularization_adam,
    modulate_weights,
    modulated_conv2d,
    path_length_penalty,
    path_lengths,
    r1_penalty,
    upsample2x,
)


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_demodulation_gives_each_output_channel_unit_weight_norm(device: torch.device) -> None:
    # Eq. 3: for every sample j and output channel, Σ_{i,k} w″² = 1, whatever the style.
    weight = torch.randn(5, 4, 3, 3, device=device)
    styles = torch.randn(3, 4, device=device) * torch.tensor([0.1, 1.0, 10.0], device=device).view(3, 1)
    w = modulate_weights(weight, styles, demodulate=True)
    assert w.shape == (3, 5, 4, 3, 3)
    norms = w.square().sum(dim=(2, 3, 4)).sqrt()
    torch.testing.assert_close(norms, torch.ones(3, 5, device=device), atol=1e-5, rtol=1e-5)
    # Eq. 1 alone keeps the style's scale: without demodulation the norms differ per sample.
    raw = modulate_weights(weight, styles, demodulate=False).square().sum(dim=(2, 3, 4)).sqrt()
    assert (raw[2] / raw[0]).min() > 10


def test_demodulated_output_has_unit_std_for_unit_variance_iid_input() -> None:
    # Eq. 2: σ_j = √(Σ w′²) for i.i.d. unit-variance inputs, so after Eq. 3 the output std is 1.
    # 8 samples × 32 channels × 22×22 valid positions (no padding, no border effects):
    # the pooled std must be within 3 % of 1 and every channel's within 20 %.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 64, 24, 24, generator=g)
    weight = torch.randn(32, 64, 3, 3, generator=g)
    styles = torch.rand(8, 64, generator=g) * 5 + 0.1
    y = modulated_conv2d(x, weight, styles, demodulate=True, padding=0)
    assert y.shape == (8, 32, 22, 22)
    assert abs(y.std().item() - 1.0) < 0.03
    per_channel = y.std(dim=(2, 3))
    assert per_channel.min() > 0.8 and per_channel.max() < 1.2
    # Without demodulation the scale follows the styles and weights (std ≈ 60 here).
    assert modulated_conv2d(x, weight, styles, demodulate=False, padding=0).std() > 10


def test_unit_styles_without_demodulation_equal_a_plain_convolution(device: torch.device) -> None:
    # The grouped-conv trick must reduce to F.conv2d when every style is 1.
    x = torch.randn(3, 4, 9, 9, device=device)
    weight = torch.randn(6, 4, 3, 3, device=device)
    out = modulated_conv2d(x, weight, torch.ones(3, 4, device=device), demodulate=False)
    torch.testing.assert_close(out, F.conv2d(x, weight, padding=1), atol=1e-5, rtol=1e-5)


def test_grouped_convolution_applies_each_samples_own_style() -> None:
    # Folding the batch into groups must not mix samples: compare with a per-sample loop.
    x = torch.randn(4, 3, 6, 6)
    weight = torch.randn(5, 3, 3, 3)
    styles = torch.randn(4, 3)
    out = modulated_conv2d(x, weight, styles, demodulate=True)
    for j in range(4):
        w = weight * styles[j].view(1, 3, 1, 1)
        w = w / w.square().sum(dim=(1, 2, 3), keepdim=True).sqrt()
        torch.testing.assert_close(out[j: j + 1], F.conv2d(x[j: j + 1], w, padding=1), atol=1e-5, rtol=1e-5)


def test_affine_styles_start_at_one() -> None:
    # bias_init = 1: at initialisation with w = 0 every style is exactly 1.
    conv = ModulatedConv2d(4, 2, w_dim=3)
    torch.testing.assert_close(conv.affine(torch.zeros(1, 3)), torch.ones(1, 4))


def test_path_length_penalty_is_zero_when_lengths_equal_the_running_mean() -> None:
    # Linear generator img = c · ws laid out as an (L × D) image, y = ones:
    # J_wᵀ y = c · y, ‖·‖² summed over D and averaged over L = c² · D / (L·D) → length c / √L.
    c, n, layers, dim = 3.0, 2, 4, 5
    ws = torch.randn(n, layers, dim, requires_grad=True)
    images = c * ws[:, None]  # (N, 1, L, D)
    noise = torch.ones_like(images)
    lengths = path_lengths(images, ws, noise)
    torch.testing.assert_close(lengths, torch.full((n,), c / math.sqrt(layers)))

    reg = PathLengthRegularizer(decay=0.01).train()
    reg.pl_mean.fill_(1.5)  # = c / √L
    torch.testing.assert_close(reg(images, ws, noise), torch.zeros(n))
    torch.testing.assert_close(reg.pl_mean, torch.tensor(1.5))

    # Away from the mean: a ← 1 + 0.01 (1.5 − 1) = 1.005, penalty (1.5 − 1.005)² = 0.245025.
    reg.pl_mean.fill_(1.0)
    torch.testing.assert_close(reg(images, ws, noise), torch.full((n,), 0.245025))
    torch.testing.assert_close(reg.pl_mean, torch.tensor(1.005))


def test_path_length_target_keeps_its_gradient_path_as_in_the_official_code() -> None:
    # NVlabs/stylegan2 @ bf0fe0baba9fc7039eae0cac575c1778be1ce3e3 training/loss.py G_logistic_ns_pathreg:
    # pl_mean = pl_mean_var + decay · (mean(pl_lengths) − pl_mean_var), no stop_gradient, so
    # ∂/∂l_j Σ_i (l_i − a)² = 2(l_j − a) − (2·decay/N) Σ_i (l_i − a).
    lengths = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64, requires_grad=True)
    decay, mean0 = 0.01, 0.5
    a = mean0 + decay * (7.0 / 3.0 - mean0)
    penalties, target = path_length_penalty(lengths, torch.tensor(mean0, dtype=torch.float64), decay)
    torch.testing.assert_close(target.detach(), torch.tensor(a, dtype=torch.float64))
    torch.testing.assert_close(penalties.detach(), torch.tensor([(v - a) ** 2 for v in (1.0, 2.0, 4.0)],
                                                                dtype=torch.float64))
    penalties.sum().backward()
    total = sum(v - a for v in (1.0, 2.0, 4.0))
    expected = [2 * (v - a) - 2 * decay / 3 * total for v in (1.0, 2.0, 4.0)]
    torch.testing.assert_close(lengths.grad, torch.tensor(expected, dtype=torch.float64))


def test_path_length_regularizer_stores_a_constant_running_mean() -> None:
    ws = torch.randn(2, 3, 4, requires_grad=True)
    reg = PathLengthRegularizer(decay=0.5).train()
    reg(ws.square()[:, None], ws, torch.randn(2, 1, 3, 4)).sum().backward()  # lengths depend on ws
    assert ws.grad is not None and not reg.pl_mean.requires_grad and reg.pl_mean.grad_fn is None and reg.pl_mean.item() > 0


def test_path_length_penalty_does_not_update_the_mean_in_eval_mode() -> None:
    ws = torch.randn(2, 3, 4, requires_grad=True)
    reg = PathLengthRegularizer().eval()
    reg(2 * ws[:, None], ws, torch.randn(2, 1, 3, 4))
    assert reg.pl_mean.item() == 0.0


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm(device: torch.device) -> None:
    # D(x) = ⟨v, x⟩ has ∇ₓD = v everywhere, so E‖∇D‖² = ‖v‖².
    v = torch.randn(1, 3, 4, 4, device=device)
    x = torch.randn(5, 3, 4, 4, device=device, requires_grad=True)
    logits = (x * v).sum(dim=(1, 2, 3))
    torch.testing.assert_close(r1_penalty(logits, x), v.square().sum(), atol=1e-5, rtol=1e-5)


def test_lazy_regularization_rescales_adam_and_runs_every_k_steps() -> None:
    # Interval 16: c = 16/17, lr′ = c · lr, β′ = β^c.
    lr, betas = lazy_regularization_adam(0.002, (0.0, 0.99), 16)
    assert math.isclose(lr, 0.002 * 16 / 17)
    assert betas[0] == 0.0 and math.isclose(betas[1], 0.99 ** (16 / 17))
    assert [s for s in range(40) if is_regularization_step(s, 16)] == [0, 16, 32]


def test_logistic_losses_match_their_closed_forms() -> None:
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected_g = -torch.log(torch.sigmoid(fake)).mean()
    expected_d = -torch.log(1 - torch.sigmoid(fake)).mean() - torch.log(torch.sigmoid(real)).mean()
    torch.testing.assert_close(generator_logistic_loss(fake), expected_g)
    torch.testing.assert_close(discriminator_logistic_loss(real, fake), expected_d)


def test_config_f_has_18_styles_17_noise_inputs_and_official_parameter_counts() -> None:
    cfg = StyleGAN2Config()
    assert cfg.num_ws == 18
    assert len(cfg.noise_shapes(1)) == 17
    g, d = StyleGAN2Generator(cfg), StyleGAN2Discriminator(cfg)  # built only to count (no forward pass)
    # Sums over the layers of NVlabs/stylegan2-ada-pytorch (see the module docstring), equal to the sum of
    # variable shapes of NVlabs/stylegan2 @ bf0fe0baba9fc7039eae0cac575c1778be1ce3e3
    # training/networks_stylegan2.py (G_mapping, G_synthesis_stylegan2 'skip', D_stylegan2 'resnet',
    # fmap_base 16 << 10 as run_training.py sets for config-f).
    assert _params(g.mapping) == 2_101_248
    assert _params(g.synthesis) == 28_268_812
    assert _params(g) == 30_370_060
    assert _params(d) == 29_012_513


def test_skip_generator_image_is_the_sum_of_upsampled_trgb_outputs() -> None:
    # Fig. 7 (b): with the last tRGB silenced the output is the 8×8 image, upsampled.
    synthesis = SynthesisNetwork(TINY).eval()
    last = synthesis.blocks[-1].torgb
    with torch.no_grad():
        last.conv.weight.zero_()
        last.bias.zero_()
    ws = torch.randn(2, TINY.num_ws, TINY.w_dim)
    noises = [torch.randn(s) for s in TINY.noise_shapes(2)]
    x, img = None, None
    for b, block in enumerate(synthesis.blocks[:-1]):
        idx = slice(0, 2) if b == 0 else slice(2 * b - 1, 2 * b + 2)
        nidx = slice(0, 1) if b == 0 else slice(2 * b - 1, 2 * b + 1)
        x, img = block(x, img, ws[:, idx], noises[nidx])
    assert img.shape == (2, 3, 8, 8)
    torch.testing.assert_close(synthesis(ws, noises), upsample2x(img))


def test_each_block_reads_its_own_styles() -> None:
    # Changing only the last w (the final tRGB's) changes the image; the others are untouched.
    synthesis = SynthesisNetwork(TINY).eval()
    ws = torch.randn(1, TINY.num_ws, TINY.w_dim)
    noises = [torch.zeros(s) for s in TINY.noise_shapes(1)]
    other = ws.clone()
    other[:, -1] += 1.0
    assert not torch.allclose(synthesis(ws, noises), synthesis(other, noises))
    assert isinstance(synthesis.blocks[0], SynthesisBlock)
    assert isinstance(synthesis.blocks[1].conv0, SynthesisLayer)
    assert isinstance(synthesis.blocks[1].torgb, ToRGB)


def test_noise_strength_starts_at_zero_so_noise_is_ignored_at_init() -> None:
    g = StyleGAN2Generator(TINY).eval()
    z = torch.randn(2, TINY.z_dim)
    a = g(z, [torch.randn(s) for s in TINY.noise_shapes(2)])
    b = g(z, [torch.randn(s) for s in TINY.noise_shapes(2)])
    torch.testing.assert_close(a, b)
    assert a.shape == (2, 3, 16, 16)


def test_residual_discriminator_halves_resolution_and_scores_each_image() -> None:
    block = ResidualDiscriminatorBlock(4, 8)
    assert block(torch.randn(2, 4, 8, 8)).shape == (2, 8, 4, 4)
    assert block.skip.bias is None
    assert StyleGAN2Discriminator(TINY)(torch.randn(4, 3, 16, 16)).shape == (4, 1)


def test_config_defaults_are_config_f() -> None:
    # NVlabs/stylegan2 @ bf0fe0b run_training.py (config-f) and training/loss.py defaults.
    c = StyleGAN2Config()
    assert (c.z_dim, c.w_dim, c.mapping_layers, c.mapping_lr_mul) == (512, 512, 8, 0.01)
    assert (c.resolution, c.channel_base, c.channel_max, c.img_channels) == (1024, 32768, 512, 3)
    assert (c.mbstd_group, c.w_avg_beta) == (4, 0.995)
    assert (c.pl_weight, c.pl_decay, c.pl_batch_shrink) == (2.0, 0.01, 2)  # G_logistic_ns_pathreg
    assert c.r1_gamma == 10.0
    assert (c.g_reg_interval, c.d_reg_interval) == (4, 16)  # Sec. 3.1
    assert [c.channels(r) for r in (4, 64, 128, 1024)] == [512, 512, 256, 32]
    assert c == OFFICIAL


# ----------------------------------------------------------------- Fig. 2 (c)-(d) by hand, in float64
def _demodulated_by_hand(weight: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Eq. 1 then Eq. 3 for one sample, written out: w'' = s·w / sqrt(sum (s·w)^2 + 1e-8)."""
    w1 = weight * style.view(1, -1, 1, 1)
    return w1 / torch.sqrt(w1.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8)


def test_demodulation_is_the_default_and_keeps_an_all_zero_kernel_finite() -> None:
    # Eq. 3's ε (1e-8 in the authors' code) is what keeps a dead output channel at zero, not NaN.
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    weight[1] = 0.0
    styles = torch.tensor([[0.5, 2.0]], dtype=torch.float64)
    w = modulate_weights(weight, styles)
    torch.testing.assert_close(w[0], _demodulated_by_hand(weight, styles[0]))
    assert torch.isfinite(w).all() and w[0, 1].abs().max() == 0
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(modulated_conv2d(x, weight, styles),
                               F.conv2d(x, _demodulated_by_hand(weight, styles[0]), padding=1))


def test_modulated_conv_pads_to_keep_a_non_square_map_with_a_5x5_kernel() -> None:
    x = torch.randn(2, 2, 5, 7, dtype=torch.float64)
    weight = torch.randn(3, 2, 5, 5, dtype=torch.float64)
    styles = torch.rand(2, 2, dtype=torch.float64) + 0.5
    out = modulated_conv2d(x, weight, styles)
    assert out.shape == (2, 3, 5, 7)
    for i in range(2):
        torch.testing.assert_close(out[i:i + 1], F.conv2d(x[i:i + 1], _demodulated_by_hand(weight, styles[i]),
                                                          padding=2))


def test_equalized_learning_rate_scale_is_one_over_sqrt_fan_in() -> None:
    # ProGAN Sec. 4.1: w_hat = w / sqrt(fan_in), fan_in = c_in · k · k.
    assert math.isclose(ModulatedConv2d(4, 2, 3, 3).scale, 1 / math.sqrt(4 * 3 * 3))
    assert math.isclose(ModulatedConv2d(4, 2, 3, 1).scale, 1 / 2)


def test_synthesis_layer_adds_scaled_noise_then_bias_before_the_activation() -> None:
    torch.manual_seed(0)
    layer = SynthesisLayer(2, 3, 4).double()
    with torch.no_grad():
        layer.noise_strength.fill_(0.7)
        layer.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    x, w = torch.randn(1, 2, 4, 6, dtype=torch.float64), torch.randn(1, 4, dtype=torch.float64)
    noise = torch.randn(1, 1, 4, 6, dtype=torch.float64)
    style = layer.conv.affine(w)[0]
    conv = F.conv2d(x, _demodulated_by_hand(layer.conv.weight / math.sqrt(2 * 9), style), padding=1)
    pre = conv + 0.7 * noise + torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64).view(1, 3, 1, 1)
    expected = torch.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2)  # leaky ReLU(0.2), gain √2
    torch.testing.assert_close(layer(x, w, noise), expected)


def test_trgb_adds_its_bias_and_defaults_to_three_channels() -> None:
    torgb = ToRGB(4, 5)
    with torch.no_grad():
        torgb.conv.weight.zero_()
        torgb.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    out = torgb(torch.randn(2, 4, 3, 5), torch.randn(2, 5))
    torch.testing.assert_close(out, torch.tensor([0.5, -1.0, 2.0]).view(1, 3, 1, 1).expand(2, 3, 3, 5))
    block = SynthesisBlock(4, 4, 5)
    assert hasattr(block, "conv0") and not hasattr(block, "const")  # not the 4×4 block unless asked
    assert block.torgb.bias.numel() == 3


def test_each_conv_of_a_block_reads_its_own_noise_input() -> None:
    block = SynthesisBlock(2, 2, 3)
    x, ws = torch.randn(1, 2, 4, 4), torch.randn(1, 3, 3)
    n0, n1, other = torch.randn(1, 1, 8, 8), torch.randn(1, 1, 8, 8), torch.randn(1, 1, 8, 8)
    for first, second in ((1.0, 0.0), (0.0, 1.0)):
        with torch.no_grad():
            block.conv0.noise_strength.fill_(first)
            block.conv1.noise_strength.fill_(second)
        base = block(x, None, ws, [n0, n1])[1]
        assert torch.equal(base, block(x, None, ws, [n0 if first else other, n1 if second else other])[1])
        changed = block(x, None, ws, [other if first else n0, other if second else n1])[1]
        assert not torch.allclose(base, changed)


def test_w_avg_is_an_ema_of_the_batch_mean_and_truncation_pulls_towards_it() -> None:
    # Authors' code: w_avg ← lerp(w_avg, mean_batch(w), 1 − β), β = 0.995; w' = w_avg + ψ (w − w_avg).
    g = StyleGAN2Generator(TINY)
    z = torch.randn(3, TINY.z_dim)
    with torch.no_grad():
        w = g.mapping(z)
        g.train()
        g.map(z)
        torch.testing.assert_close(g.w_avg, (1 - TINY.w_avg_beta) * w.mean(0))
        g.eval()
        g.w_avg.copy_(torch.linspace(-1, 1, TINY.w_dim))
        for psi in (0.0, 0.5, 2.0):
            torch.testing.assert_close(g.map(z, psi)[:, 0], g.w_avg + psi * (w - g.w_avg))
        torch.testing.assert_close(g.map(z)[:, 0], w)  # ψ = 1 by default: no truncation
        noises = [torch.randn(1, 1, 4 * 2 ** ((i + 1) // 2), 4 * 2 ** ((i + 1) // 2)) for i in range(TINY.num_ws - 1)]
        torch.testing.assert_close(g(z, noises), g.synthesis(w[:, None].expand(-1, TINY.num_ws, -1), noises))


def test_r1_penalty_trains_the_critic() -> None:
    weight = torch.tensor([[0.5, -2.0]], requires_grad=True)
    images = torch.randn(4, 1, 1, 2, requires_grad=True)
    logits = (images.flatten(1) * weight).sum(1)
    r1_penalty(logits, images).backward()  # E‖w‖² → ∂/∂w = 2w
    torch.testing.assert_close(weight.grad, 2 * weight.detach())


def test_lazy_regularization_raises_both_adam_betas_to_the_power_c() -> None:
    _, betas = lazy_regularization_adam(0.002, (0.5, 0.99), 4)
    assert math.isclose(betas[0], 0.5 ** 0.8) and math.isclose(betas[1], 0.99 ** 0.8)
