"""SPADE (arXiv:1903.07291): the claims that define the paper."""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from refimpl.pix2pixhd import downsample
from refimpl.spade import (
    OFFICIAL,
    SPADE,
    TINY,
    ConvEncoder,
    SPADEConfig,
    SPADEGenerator,
    SPADEMultiscaleDiscriminator,
    SPADEPatchDiscriminator,
    SPADEResBlock,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    kld_loss,
    reparameterize,
)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _has_sn(m: nn.Module) -> bool:
    return hasattr(m, "parametrizations")


def test_official_parameter_counts() -> None:
    # NVlabs/SPADE (commit fecacc920c1367a038995c45a39c15f6521ca64f) models/networks/*.py instantiated in a scratch
    # copy with the COCO-Stuff options (label_nc 182, --contain_dontcare_label, instance map, crop 256, ngf = ndf
    # = 64, norm_G spectralspadesyncbatch3x3, norm_D/E spectralinstance, num_D 2, n_layers_D 4, z_dim 256):
    # SPADEGenerator 97,480,899 (use_vae: 112,626,883), MultiscaleDiscriminator 5,904,514, ConvEncoder 10,463,424.
    # Spectral norm adds buffers, not parameters (checked on a tiny model), so the big ones are counted without
    # its power iterations, which are slow to set up.
    plain = replace(OFFICIAL, use_spectral_norm=False)
    with torch.device("meta"):
        assert _count(SPADEGenerator(plain)) == 97_480_899
        assert _count(SPADEGenerator(replace(plain, use_vae=True))) == 112_626_883
        assert _count(SPADEMultiscaleDiscriminator(plain)) == 5_904_514
        assert _count(ConvEncoder(ndf=64, z_dim=256, image_size=256, use_spectral_norm=False)) == 10_463_424
    assert _count(ConvEncoder(ndf=2, z_dim=3, image_size=32)) == _count(
        ConvEncoder(ndf=2, z_dim=3, image_size=32, use_spectral_norm=False))
    tiny_plain = replace(TINY, use_spectral_norm=False)
    for cfg in (TINY, replace(TINY, spectral_norm_all=False)):
        assert _count(SPADEGenerator(cfg)) == _count(SPADEGenerator(tiny_plain))
        assert _count(SPADEMultiscaleDiscriminator(cfg)) == _count(SPADEMultiscaleDiscriminator(tiny_plain))


def test_config_defaults_are_the_papers() -> None:
    c = SPADEConfig()
    assert c.label_nc == 184 and c.nf == 64 and c.hidden == 128 and c.kernel_size == 3
    assert c.num_up_layers == 5 and c.crop_size == 256
    assert c.use_spectral_norm and c.spectral_norm_all  # Sec. 4
    assert not c.use_vae and c.z_dim == 256
    assert (c.ndf, c.n_layers_d, c.num_d) == (64, 4, 2)
    assert (c.lambda_feat, c.lambda_vgg, c.lambda_kld) == (10.0, 10.0, 0.05)
    assert SPADEConfig(spectral_norm_all=False) == OFFICIAL


def test_spectral_norm_placement_paper_vs_authors_code() -> None:
    official, paper = SPADEGenerator(replace(OFFICIAL, nf=1, hidden=2)), SPADEGenerator(replace(TINY, num_up_layers=5))
    # Authors' code: only the residual blocks' convs.
    assert not _has_sn(official.fc) and not _has_sn(official.conv_img)
    assert _has_sn(official.head.conv_0) and _has_sn(official.ups[0].conv_s) and _has_sn(official.middle[1].conv_1)
    assert not any(_has_sn(m) for m in official.head.norm_0.modules() if isinstance(m, nn.Conv2d))
    # Paper: every layer.
    assert _has_sn(paper.fc) and _has_sn(paper.conv_img) and _has_sn(paper.head.norm_0.gamma)
    assert _has_sn(paper.ups[-1].norm_s.beta) and _has_sn(paper.middle[0].norm_1.shared[0])
    d_off = SPADEPatchDiscriminator(5, ndf=2, spectral_norm_all=False)
    assert [_has_sn(st[0]) for st in d_off.stages] == [False, True, True, True, False]
    assert all(_has_sn(st[0]) for st in SPADEPatchDiscriminator(5, ndf=2).stages)
    assert not any(_has_sn(m) for m in SPADEGenerator(replace(TINY, use_spectral_norm=False)).modules())
    assert not any(_has_sn(m) for m in SPADEPatchDiscriminator(5, ndf=2, use_spectral_norm=False).modules())


def test_discriminator_layout() -> None:
    d = SPADEPatchDiscriminator(5, ndf=2, n_layers=4, use_spectral_norm=False)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (5, 2, 4, 2, 2), (2, 4, 4, 2, 2), (4, 8, 4, 2, 2), (8, 16, 4, 1, 2), (16, 1, 4, 1, 2)]
    assert [c.bias is not None for c in convs] == [True, False, False, False, True]  # no bias before a norm
    norms = [m for m in d.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3 and not any(n.affine for n in norms)
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 4
    assert [type(m) for m in d.stages[1]] == [nn.Conv2d, nn.InstanceNorm2d, nn.LeakyReLU]
    with torch.device("meta"):
        wide = SPADEPatchDiscriminator(3, ndf=128, n_layers=5, use_spectral_norm=False)
        assert [m.out_channels for m in wide.modules() if isinstance(m, nn.Conv2d)] == [128, 256, 512, 512, 512, 1]
    feats = d(torch.rand(1, 5, 32, 32))
    assert len(feats) == 5 and [f.shape[-1] for f in feats] == [17, 9, 5, 6, 7]


def test_multiscale_discriminator_sees_the_pair_then_its_downsampled_copy() -> None:
    cfg = replace(TINY, use_spectral_norm=False)
    d = SPADEMultiscaleDiscriminator(cfg)
    assert len(d.discriminators) == cfg.num_d and d.discriminators[0].stages[0][0].in_channels == cfg.label_nc + 3
    x = torch.rand(1, cfg.label_nc + 3, 32, 32)
    out = d(x)
    torch.testing.assert_close(out[0][-1], d.discriminators[0](x)[-1])
    torch.testing.assert_close(out[1][-1], d.discriminators[1](downsample(x))[-1])
    assert len(SPADEMultiscaleDiscriminator(cfg, in_channels=4).discriminators[1].stages[0][0].weight[0]) == 4


def test_hinge_losses_average_over_scales() -> None:
    real = [[torch.tensor([[2.0, 0.5]])], [torch.tensor([[-1.0, 0.0]])]]
    fake = [[torch.tensor([[-2.0, 0.0]])], [torch.tensor([[3.0, 1.0]])]]
    # D, scale 1: relu(1 − real) = (0, 0.5) → 0.25, relu(1 + fake) = (0, 1) → 0.5; scale 2: (2, 1) → 1.5, (4, 2) → 3.
    torch.testing.assert_close(discriminator_loss(real, fake), torch.tensor((0.25 + 0.5 + 1.5 + 3.0) / 2))
    # G: −mean(fake) per scale = 1, −2 → mean −0.5.
    torch.testing.assert_close(generator_adversarial_loss(fake), torch.tensor(-0.5))


def test_feature_matching_weights_each_layer_lambda_over_num_d() -> None:
    real = [[torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 1, 1)] for _ in range(2)]
    fake = [[torch.full((1, 2, 3, 3), 0.5 * (k + 1)), torch.full((1, 1, 2, 2), 2.0 * (k + 1)),
             torch.full((1, 1, 1, 1), 100.0)] for k in range(2)]
    # Σ_k Σ_i |c_ki| · λ / num_D = (0.5 + 2 + 1 + 4) · 10 / 2; the logits are not matched.
    torch.testing.assert_close(feature_matching_loss(real, fake), torch.tensor(7.5 * 10 / 2))
    torch.testing.assert_close(feature_matching_loss(real, fake, lambda_feat=1.0), torch.tensor(7.5 / 2))
    real_g = [[t.clone().requires_grad_(True) for t in feats] for feats in real]
    fake_g = [[t.clone().requires_grad_(True) for t in feats] for feats in fake]
    feature_matching_loss(real_g, fake_g).backward()
    assert real_g[0][0].grad is None and fake_g[1][1].grad is not None


def test_encoder_maps_an_image_to_mu_and_logvar() -> None:
    enc = ConvEncoder(ndf=2, z_dim=5, image_size=32)
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.stride[0], c.kernel_size[0], c.bias is None) for c in convs] == [
        (2, 2, 3, True), (4, 2, 3, True), (8, 2, 3, True)]
    assert all(_has_sn(c) for c in convs) and enc.fc_mu.in_features == 8 * 16
    assert [m.negative_slope for m in enc.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 3
    with torch.device("meta"):
        assert len([m for m in ConvEncoder(use_spectral_norm=False).modules() if isinstance(m, nn.Conv2d)]) == 6
    x = torch.rand(2, 3, 20, 24)  # resized to 32×32 first
    mu, logvar = enc(x)
    assert mu.shape == logvar.shape == (2, 5) and not torch.allclose(mu, logvar)
    torch.testing.assert_close(enc(x)[0], enc(F.interpolate(x, size=(32, 32), mode="bilinear"))[0])
    assert (enc(x.flip(-1))[0] - mu).abs().max() > 1e-5


def test_reparameterize_and_kld_by_hand() -> None:
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, 2 * torch.log(torch.tensor(3.0))]])
    eps = torch.tensor([[0.5, -1.0]])
    torch.testing.assert_close(reparameterize(mu, logvar, eps), torch.tensor([[1.5, -5.0]]))  # σ = (1, 3)
    # −½ Σ (1 + log σ² − μ² − σ²) = −½ [(1 + 0 − 1 − 1) + (1 + 2 ln 3 − 4 − 9)].
    expected = -0.5 * ((1 + 0 - 1 - 1) + (1 + 2 * torch.log(torch.tensor(3.0)) - 4 - 9))
    torch.testing.assert_close(kld_loss(mu, logvar), expected)
    torch.testing.assert_close(kld_loss(torch.zeros(3, 4), torch.zeros(3, 4)), torch.tensor(0.0))
    torch.testing.assert_close(kld_loss(mu.repeat(2, 1), logvar.repeat(2, 1)), 2 * expected)  # summed over batch
    torch.manual_seed(0)
    z = reparameterize(torch.zeros(20000, 1), torch.full((20000, 1), 2 * torch.log(torch.tensor(2.0))))
    assert abs(z.std().item() - 2.0) < 0.05


def test_vae_generator_starts_from_z() -> None:
    cfg = replace(TINY, use_vae=True, use_spectral_norm=False)
    g = SPADEGenerator(cfg).eval()
    assert isinstance(g.fc, nn.Linear) and g.fc.out_features == 16 * cfg.nf * 2 * 2  # 16 / 2^3 = 2
    seg = _onehot(torch.randint(0, 3, (2, 16, 16)), 3)
    z1, z2 = torch.randn(2, cfg.z_dim), torch.randn(2, cfg.z_dim)
    out = g(seg, z1)
    assert out.shape == (2, 3, 16, 16)
    torch.testing.assert_close(g(seg, z1), out)
    assert (g(seg, z2) - out).abs().max() > 1e-4
    assert g(seg).shape == (2, 3, 16, 16)


def _onehot(labels: torch.Tensor, n: int) -> torch.Tensor:
    return F.one_hot(labels, n).permute(0, 3, 1, 2).float()


def test_spade_is_batch_norm_then_mask_dependent_affine(device: torch.device) -> None:
    spade = SPADE(4, 3, hidden=5).to(device).train()
    x = torch.randn(2, 4, 8, 8, device=device) * 3 + 1
    seg = _onehot(torch.randint(0, 3, (2, 4, 4), device=device), 3)  # coarser mask, resized by nearest
    gamma, beta = spade.modulation(seg, (8, 8))
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (x - mean) / (var + 1e-5).sqrt() * (1 + gamma) + beta  # batch (not instance) statistics
    torch.testing.assert_close(spade(x, seg), expected, atol=1e-5, rtol=1e-5)
    assert not any(p.requires_grad for p in spade.param_free_norm.parameters())


def test_constant_mask_reduces_to_batch_norm_with_a_spatially_constant_affine() -> None:
    spade = SPADE(3, 2, hidden=4).train()
    x = torch.randn(2, 3, 10, 10)
    seg = _onehot(torch.ones(2, 10, 10, dtype=torch.long), 2)
    gamma, beta = spade.modulation(seg, (10, 10))
    # Zero padding makes the two outermost rings differ; inside, two 3×3 convs see only the constant.
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    g_in, b_in = gamma[inner], beta[inner]
    torch.testing.assert_close(g_in, g_in[..., :1, :1].expand_as(g_in))
    torch.testing.assert_close(b_in, b_in[..., :1, :1].expand_as(b_in))
    bn = nn.BatchNorm2d(3, affine=True).train()
    with torch.no_grad():
        bn.weight.copy_(1 + g_in[0, :, 0, 0])
        bn.bias.copy_(b_in[0, :, 0, 0])
    torch.testing.assert_close(spade(x, seg)[inner], bn(x)[inner], atol=1e-5, rtol=1e-5)


def test_spade_does_not_wash_out_a_uniform_mask_but_conv_instance_norm_does() -> None:
    # Sec. 3.2: conv → instance norm maps any constant label map to the same output.
    a = _onehot(torch.zeros(1, 8, 8, dtype=torch.long), 3)
    b = _onehot(torch.full((1, 8, 8), 2, dtype=torch.long), 3)
    conv_in = nn.Sequential(nn.Conv2d(3, 4, 1), nn.InstanceNorm2d(4))
    torch.testing.assert_close(conv_in(a), conv_in(b))
    spade = SPADE(4, 3, hidden=4).eval()
    h = torch.randn(1, 4, 8, 8)
    assert (spade(h, a) - spade(h, b)).abs().max() > 1e-3


def test_the_mask_enters_only_through_gamma_and_beta() -> None:
    spade = SPADE(2, 3, hidden=4).eval()
    for conv in (spade.gamma, spade.beta):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    x = torch.randn(1, 2, 6, 6)
    a = _onehot(torch.randint(0, 3, (1, 6, 6)), 3)
    b = _onehot(torch.randint(0, 3, (1, 6, 6)), 3)
    torch.testing.assert_close(spade(x, a), spade(x, b))
    torch.testing.assert_close(spade(x, a), spade.param_free_norm(x))


def test_res_block_learns_a_shortcut_only_when_widths_change() -> None:
    same, wider = SPADEResBlock(4, 4, 3, hidden=4), SPADEResBlock(4, 6, 3, hidden=4)
    assert not same.learned_shortcut and not hasattr(same, "conv_s")
    assert wider.learned_shortcut
    seg = _onehot(torch.randint(0, 3, (2, 8, 8)), 3)
    x = torch.randn(2, 4, 8, 8)
    assert wider(x, seg).shape == (2, 6, 8, 8)
    assert hasattr(same.conv_0, "parametrizations") and hasattr(wider.conv_s, "parametrizations")  # spectral norm
    plain = SPADEResBlock(4, 4, 3, hidden=4, use_spectral_norm=False)
    nn.init.zeros_(plain.conv_1.weight)
    nn.init.zeros_(plain.conv_1.bias)
    torch.testing.assert_close(plain(x, seg), x)  # identity shortcut + zero residual


def test_generator_starts_at_h_over_2_pow_5_and_reaches_the_mask_size() -> None:
    g = SPADEGenerator(TINY)
    seg = _onehot(torch.randint(0, 3, (1, 16, 16)), 3)
    shapes = []
    g.fc.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
    out = g(seg)
    assert shapes == [(1, 16 * TINY.nf, 2, 2)] and out.shape == (1, 3, 16, 16)
    with torch.device("meta"):
        full = SPADEGenerator(SPADEConfig(use_spectral_norm=False))
    assert [b.conv_1.out_channels for b in full.ups] == [512, 256, 128, 64]
