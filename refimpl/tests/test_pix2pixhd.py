"""pix2pixHD (arXiv:1711.11585): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.losses_gan import lsgan_discriminator_loss, lsgan_generator_loss
from refimpl.pix2pix import PatchDiscriminator
from refimpl.pix2pixhd import (
    OFFICIAL,
    OFFICIAL_1024,
    TINY,
    VGG_LOSS_LAYERS,
    FeatureEncoder,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    Pix2PixHDConfig,
    VGG19Features,
    downsample,
    feature_matching_loss,
    generator_input,
    instance_average_pool,
    instance_boundary_map,
    multiscale_discriminator_loss,
    multiscale_generator_loss,
    vgg_loss,
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_official_parameter_counts() -> None:
    # NVIDIA/pix2pixHD models/networks.py (commit 14b3b3c7fff413086e3b58df52096f16b6891172), instantiated in a
    # scratch copy with instance norm: GlobalGenerator(36, 3, 64, 4, 9) 182,546,755; LocalEnhancer(36, 3, 32, 4, 9,
    # 1, 3) 182,857,059; with 39 inputs (label + edge + 3 features) 182,556,163 and 182,871,171;
    # MultiscaleDiscriminator(39, 64, 3, num_D=3) 8,404,803, num_D=2 5,603,202; Encoder(3, 3, 16, 4) 788,803.
    c = OFFICIAL_1024
    with torch.device("meta"):
        assert _count(GlobalGenerator(c.label_nc + 1, ngf=2 * c.ngf)) == 182_546_755
        assert _count(LocalEnhancer.from_config(c)) == 182_857_059
        assert _count(GlobalGenerator(c.label_nc + 1 + c.feat_num, ngf=64)) == 182_556_163
        assert _count(LocalEnhancer(c.label_nc + 1 + c.feat_num)) == 182_871_171
        assert _count(MultiscaleDiscriminator(39, num_d=OFFICIAL_1024.num_d)) == 8_404_803
        assert _count(MultiscaleDiscriminator(39, num_d=OFFICIAL.num_d)) == 5_603_202
        assert _count(FeatureEncoder.from_config(c)) == 788_803
        # torchvision vgg19 cfg 'E' to relu5_1: 1792 + 36928 + 73856 + 147584 + 295168 + 3·590080 + 1180160
        # + 4·2359808.
        assert _count(VGG19Features()) == 12_944_960


def test_config_defaults_are_the_papers() -> None:
    c = Pix2PixHDConfig()
    assert c.label_nc == 35 and c.out_channels == 3  # Sec. 4: Cityscapes
    assert c.ngf == 32  # G2 width; G1 has 2·ngf = 64
    assert c.n_downsample_global == 4 and c.n_blocks_global == 9 and c.n_blocks_local == 3  # Sec. 3.2 / App.
    assert c.ndf == 64 and c.n_layers_d == 3
    assert c.num_d == 3  # Sec. 3.2: three discriminators
    assert c.lambda_feat == 10.0  # Eq. 5
    assert c.feat_num == 3 and c.nef == 16 and c.n_downsample_e == 4  # authors' options
    assert c == OFFICIAL_1024 and OFFICIAL.num_d == 2 and Pix2PixHDConfig(num_d=2) == OFFICIAL


def test_feature_encoder_pools_per_instance_and_reads_the_image() -> None:
    enc = FeatureEncoder.from_config(TINY)
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [2, 4, 8, 4, 2, 2]
    assert isinstance(enc.model[0], nn.ReflectionPad2d) and isinstance(enc.model[-1], nn.Tanh)
    torch.manual_seed(0)
    inst = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    inst[:, :, :, 8:] = 1
    inst[1, :, :4] = 7
    img = torch.rand(2, 3, 16, 16) * 2 - 1
    out = enc(img, inst)
    assert out.shape == (2, 2, 16, 16) and out.abs().max() <= 1
    raw = enc.model(img)
    for b in range(2):
        for k in inst[b].unique():
            mask = inst[b, 0] == k
            vals = out[b][:, mask]
            torch.testing.assert_close(vals, raw[b][:, mask].mean(1, keepdim=True).expand_as(vals))
    assert (enc(img.flip(-1), inst) - out).abs().max() > 1e-4


def test_vgg_features_are_the_five_relu_x_1_maps() -> None:
    vgg = VGG19Features()
    assert not any(p.requires_grad for p in vgg.parameters())
    assert VGG_LOSS_LAYERS == (1, 6, 11, 20, 29)
    assert all(isinstance(vgg.features[i], nn.ReLU) for i in VGG_LOSS_LAYERS)
    assert all(isinstance(vgg.features[i - 1], nn.Conv2d) for i in VGG_LOSS_LAYERS)
    assert [vgg.features[i - 1].out_channels for i in VGG_LOSS_LAYERS] == [64, 128, 256, 512, 512]
    assert [i for i, m in enumerate(vgg.features) if isinstance(m, nn.MaxPool2d)] == [4, 9, 18, 27]
    assert all(m.padding == (1, 1) for m in vgg.features if isinstance(m, nn.Conv2d))
    feats = vgg(torch.rand(1, 3, 32, 32))
    assert [tuple(f.shape[-3:]) for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4),
                                                   (512, 2, 2)]


class _Pyramid(nn.Module):
    """Stub VGG: five 'layers' that are the image times 1..5, so each weight is visible."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x * (i + 1) for i in range(5)]


def test_vgg_loss_weights_layers_1_32_to_1_and_lambda() -> None:
    real = torch.zeros(1, 3, 4, 4)
    fake = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    # Layer i (0-based) differs by 0.5 (i + 1): Σ wᵢ · 0.5 (i + 1).
    expected = sum(w * 0.5 * (i + 1) for i, w in enumerate([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]))
    torch.testing.assert_close(vgg_loss(_Pyramid(), fake, real), torch.tensor(10 * expected))
    torch.testing.assert_close(vgg_loss(_Pyramid(), fake, real, weight=1.0), torch.tensor(expected))
    vgg_loss(_Pyramid(), fake, real).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    real_g = real.clone().requires_grad_(True)
    vgg_loss(_Pyramid(), fake.detach().requires_grad_(True), real_g).backward()
    assert real_g.grad is None  # the real image's features are a fixed target
    one = torch.zeros(1, 1, 1, 2)
    one[..., 0] = 1.0  # |·| averaged over 2 elements, not summed
    torch.testing.assert_close(vgg_loss(_Pyramid(), one, torch.zeros_like(one), weight=1.0),
                               torch.tensor(sum(w * 0.5 * (i + 1) for i, w in
                                                enumerate([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]))))


def test_discriminator_layout_padding_biases_norms_and_slopes() -> None:
    d = MultiscaleDiscriminator(5, ndf=2, n_layers=3, num_d=2).discriminators[0]
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0], c.padding[0]) for c in convs] == [
        (5, 2, 2, 2), (2, 4, 2, 2), (4, 8, 2, 2), (8, 16, 1, 2), (16, 1, 1, 2)]
    assert all(c.bias is not None for c in convs)
    norms = [m for m in d.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3 and not any(n.affine for n in norms)
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 4


def test_downsample_is_3x3_stride_2_average_excluding_padding() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = downsample(x)
    assert out.shape == (1, 1, 2, 2)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor((0 + 1 + 4 + 5) / 4))  # corner: 4 real pixels
    torch.testing.assert_close(out[0, 0, 1, 1], x[0, 0, 1:4, 1:4].mean())


def test_boundary_map_marks_exactly_pixels_with_a_differing_4_neighbour(device: torch.device) -> None:
    ids = torch.tensor([
        [1, 1, 1, 2, 2],
        [1, 1, 1, 2, 2],
        [3, 3, 1, 2, 2],
        [3, 3, 3, 3, 3],
    ], device=device).view(1, 1, 4, 5)
    expected = torch.tensor([
        [0, 0, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1],
    ], dtype=torch.float32, device=device).view(1, 1, 4, 5)
    torch.testing.assert_close(instance_boundary_map(ids), expected)


def test_boundary_map_ignores_diagonal_neighbours_and_uniform_maps() -> None:
    # Two instances touching only diagonally: the 4-neighbour rule still marks their 4-contacts.
    ids = torch.tensor([[1, 2], [2, 1]]).view(1, 1, 2, 2)
    assert instance_boundary_map(ids).sum() == 4
    corner = torch.zeros(1, 1, 3, 3, dtype=torch.long)
    corner[..., 0, 0] = 5  # one corner pixel: it and its right and lower neighbours
    expected = torch.zeros(1, 1, 3, 3)
    expected[..., 0, 0] = expected[..., 0, 1] = expected[..., 1, 0] = 1
    torch.testing.assert_close(instance_boundary_map(corner), expected)
    assert instance_boundary_map(torch.full((1, 1, 4, 4), 7)).sum() == 0


def test_generator_input_is_one_hot_labels_plus_boundary_channel() -> None:
    labels = torch.tensor([[[0, 2], [1, 2]]])
    inst = torch.tensor([[[[0, 0], [0, 1]]]])
    s = generator_input(labels, inst, num_classes=3)
    assert s.shape == (1, 4, 2, 2)
    torch.testing.assert_close(s[:, :3].argmax(1), labels)
    torch.testing.assert_close(s[:, :3].sum(1), torch.ones(1, 2, 2))
    torch.testing.assert_close(s[:, 3:], instance_boundary_map(inst))


def test_local_enhancer_runs_g1_at_half_resolution_and_sums_features(device: torch.device) -> None:
    g = LocalEnhancer.from_config(TINY).to(device)
    shapes = {}
    g.global_generator.register_forward_pre_hook(lambda _m, args: shapes.__setitem__("g1_in", args[0].shape))
    g.global_generator.register_forward_hook(lambda _m, _a, out: shapes.__setitem__("g1_out", out.shape))
    g.front.register_forward_hook(lambda _m, _a, out: shapes.__setitem__("front", out.shape))
    out = g(torch.rand(1, TINY.label_nc + 1, 32, 32, device=device))
    assert out.shape == (1, 3, 32, 32)
    assert shapes["g1_in"] == (1, TINY.label_nc + 1, 16, 16)
    assert shapes["g1_out"] == shapes["front"] == (1, 2 * TINY.ngf, 16, 16)


def test_global_generator_is_resolution_preserving() -> None:
    g = GlobalGenerator(4, 3, ngf=2, n_downsampling=3, n_blocks=1)
    out = g(torch.rand(2, 4, 24, 40))
    assert out.shape == (2, 3, 24, 40) and out.abs().max() <= 1


def test_multiscale_discriminator_sees_three_scales_with_pix2pix_patchgans() -> None:
    d = MultiscaleDiscriminator(3, ndf=2, n_layers=3, num_d=3)
    assert all(isinstance(k, PatchDiscriminator) for k in d.discriminators)
    x = torch.rand(1, 3, 64, 64)
    results = d(x)
    assert len(results) == 3 and all(len(r) == 5 for r in results)  # 4 feature stages + logits
    # padding 2: 64 → 33 → 17 → 9 → 10 → 11; 32 → 17 → 9 → 5 → 6 → 7; 16 → 9 → 5 → 3 → 4 → 5
    assert [tuple(r[-1].shape[-2:]) for r in results] == [(11, 11), (7, 7), (5, 5)]
    torch.testing.assert_close(results[1][-1], d.discriminators[1](downsample(x)))


def test_feature_matching_loss_is_zero_for_equal_features_and_40c_for_an_offset() -> None:
    real = [[torch.randn(1, 2, 4, 4) for _ in range(4)] + [torch.randn(1, 1, 3, 3)] for _ in range(3)]
    assert feature_matching_loss(real, real).item() == 0.0
    offset = [[f + 0.25 for f in feats[:-1]] + [feats[-1] + 100] for feats in real]  # logits are not matched
    # num_d · (n_layers + 1) terms of weight (1/num_d) · (4/(n_layers+1)) · λ · c = 4 λ c.
    torch.testing.assert_close(feature_matching_loss(real, offset), torch.tensor(4 * 10 * 0.25))
    # Unequal offsets per scale and layer: Σ_k Σ_i (1/3)(4/4)·λ·c_ki with c_ki = 0.1 (k + 1)(i + 1).
    uneven = [[f + 0.1 * (k + 1) * (i + 1) for i, f in enumerate(feats[:-1])] + [feats[-1]]
              for k, feats in enumerate(real)]
    expected = sum(10 / 3 * 0.1 * (k + 1) * (i + 1) for k in range(3) for i in range(4))
    torch.testing.assert_close(feature_matching_loss(real, uneven), torch.tensor(expected))
    two_layers = [[f[..., :2, :2] for f in feats[:2]] + [feats[-1]] for feats in real[:2]]
    shifted = [[f + 1.0 for f in feats[:-1]] + [feats[-1]] for feats in two_layers]
    # n_layers = 1: weight 4/2 per layer, 1/2 per scale, λ = 3: 2 scales · 2 layers · 1 · 3 = 12.
    torch.testing.assert_close(feature_matching_loss(two_layers, shifted, n_layers=1, lambda_feat=3.0),
                               torch.tensor(12.0))
    # G's features get the gradient; the real features are targets.
    fake = [[f.clone().requires_grad_(True) for f in feats] for feats in offset]
    real_g = [[f.clone().requires_grad_(True) for f in feats] for feats in real]
    feature_matching_loss(real_g, fake).backward()
    assert fake[0][0].grad is not None and real_g[0][0].grad is None


def test_adversarial_losses_are_lsgan_summed_over_scales() -> None:
    real = [[torch.randn(1, 1, 3, 3)], [torch.randn(1, 1, 2, 2)]]
    fake = [[torch.randn(1, 1, 3, 3)], [torch.randn(1, 1, 2, 2)]]
    d_expected = lsgan_discriminator_loss(real[0][0], fake[0][0]) + lsgan_discriminator_loss(real[1][0], fake[1][0])
    torch.testing.assert_close(multiscale_discriminator_loss(real, fake), d_expected)
    g_expected = lsgan_generator_loss(fake[0][0]) + lsgan_generator_loss(fake[1][0])
    torch.testing.assert_close(multiscale_generator_loss(fake), g_expected)


def test_instance_average_pool_makes_features_constant_per_instance() -> None:
    feats = torch.arange(8.0).view(1, 2, 2, 2)
    inst = torch.tensor([[[[0, 0], [1, 2]]]])
    pooled = instance_average_pool(feats, inst)
    expected = torch.tensor([[[[0.5, 0.5], [2.0, 3.0]], [[4.5, 4.5], [6.0, 7.0]]]])
    torch.testing.assert_close(pooled, expected)
