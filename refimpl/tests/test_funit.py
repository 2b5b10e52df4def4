"""FUNIT (arXiv:1905.01723): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from refimpl.funit import (
    OFFICIAL,
    TINY,
    ActFirstResBlock,
    FewShotGenerator,
    FUNITConfig,
    MultiTaskDiscriminator,
    content_reconstruction_loss,
    discriminator_objective,
    feature_matching_loss,
    generator_objective,
)
from refimpl.losses_gan import hinge_discriminator_loss


def test_class_code_is_the_mean_of_the_shots_codes(device: torch.device) -> None:
    g = FewShotGenerator(TINY).to(device).eval()
    shots = torch.rand(2, 4, 3, 16, 16, device=device)
    per_shot = torch.stack([g.class_encoder(shots[:, k]).flatten(1) for k in range(4)], 1)
    torch.testing.assert_close(g.class_code(shots), per_shot.mean(1), atol=1e-6, rtol=1e-5)


def test_class_code_is_permutation_invariant_and_k1_is_the_single_encoding() -> None:
    g = FewShotGenerator(TINY).eval()
    shots = torch.rand(1, 5, 3, 16, 16)
    perm = torch.tensor([3, 0, 4, 2, 1])
    torch.testing.assert_close(g.class_code(shots[:, perm]), g.class_code(shots), atol=1e-6, rtol=1e-5)
    x = torch.rand(1, 5, 3, 16, 16)
    torch.testing.assert_close(g(x[:, 0], shots[:, perm]), g(x[:, 0], shots), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(g.class_code(shots[:, :1]), g.class_encoder(shots[:, 0]).flatten(1))


def test_translation_keeps_the_size_and_depends_on_the_class_images() -> None:
    g = FewShotGenerator(TINY).eval()
    x = torch.rand(1, 3, 16, 16)
    a = g(x, torch.rand(1, 2, 3, 16, 16))
    b = g(x, torch.rand(1, 2, 3, 16, 16))
    assert a.shape == (1, 3, 16, 16) and not torch.allclose(a, b)
    assert g.content_encoder(x).shape == (1, TINY.nf * 4, 4, 4)  # two down-samplings in TINY


def test_multi_task_discriminator_reads_only_the_labelled_class_output() -> None:
    d = MultiTaskDiscriminator(nf=TINY.nf_dis, n_res_blocks=TINY.n_dis_res_blocks, num_classes=3).eval()
    x = torch.rand(2, 3, 16, 16)
    full = d.head(d.features(x))
    score, _ = d(x, torch.tensor([2, 0]))
    torch.testing.assert_close(score[0], full[0, 2])
    torch.testing.assert_close(score[1], full[1, 0])
    fake = torch.rand(2, 3, 16, 16)
    labels = torch.tensor([1, 1])
    torch.testing.assert_close(discriminator_objective(d, x, labels, fake, labels),
                               hinge_discriminator_loss(full[:, 1], d.head(d.features(fake))[:, 1]))


def test_feature_matching_compares_spatial_means_against_the_mean_over_shots() -> None:
    class_feat = torch.randn(2, 3, 4, 5, 5)
    target = class_feat.mean(dim=(1, 3, 4))  # (N, C)
    fake = target[..., None, None].expand(2, 4, 5, 5).flip(-1)
    torch.testing.assert_close(feature_matching_loss(fake, class_feat), torch.tensor(0.0))
    torch.testing.assert_close(feature_matching_loss(fake + 0.3, class_feat), torch.tensor(0.3))


def test_content_reconstruction_and_generator_objective_combine_with_paper_weights() -> None:
    g = FewShotGenerator(TINY).eval()
    d = MultiTaskDiscriminator(nf=TINY.nf_dis, n_res_blocks=TINY.n_dis_res_blocks, num_classes=3).eval()
    x = torch.rand(2, 3, 16, 16)
    rec = content_reconstruction_loss(g, x)
    torch.testing.assert_close(rec, (g(x, x.unsqueeze(1)) - x).abs().mean())
    shots, labels = torch.rand(2, 2, 3, 16, 16), torch.tensor([0, 2])
    fake = g(x, shots)
    score, ff = d(fake, labels)
    _, cf = d(shots.flatten(0, 1), labels.repeat_interleave(2))
    expected = -score.mean() + 0.1 * rec + 1.0 * feature_matching_loss(ff, cf.view(2, 2, *cf.shape[1:]))
    torch.testing.assert_close(generator_objective(g, d, x, shots, labels, TINY), expected)


# --------------------------------------------------------------------- official figures
# Facts from NVlabs/FUNIT at 198f430b6ef1abe940251b30f51d5cc68a476787: networks.py FewShotGen and
# GPPatchMcResDis (blocks.py) instantiated with configs/funit_animals.yaml, counted with sum(p.numel()).
OFFICIAL_GEN = {"all": 29_866_435, "content": 12_202_112, "class": 2_779_328, "decoder": 13_749_891,
                "mlp": 1_135_104}
OFFICIAL_DIS = {"all": 54_252_599, "features": 54_130_624, "head": 121_975}


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_config_defaults_are_the_papers() -> None:
    c = FUNITConfig()
    # configs/funit_animals.yaml gen: nf 64, nf_mlp 256, n_downs_class 4, n_downs_content 3, n_res_blks 2,
    # n_mlp_blks 3, latent_dim 64; dis: nf 64, n_res_blks 10, num_classes 119; r_w 0.1, fm_w 1 (Sec. 4).
    assert (c.nf, c.nf_mlp, c.n_downs_class, c.n_downs_content) == (64, 256, 4, 3)
    assert (c.n_res_blocks, c.n_mlp_blocks, c.latent_dim) == (2, 3, 64)
    assert (c.nf_dis, c.n_dis_res_blocks, c.num_classes) == (64, 10, 119)
    assert (c.lambda_rec, c.lambda_fm) == (0.1, 1.0)
    assert c == OFFICIAL


def test_official_generator_and_discriminator_have_the_official_parameter_counts() -> None:
    with torch.device("meta"):
        g = FewShotGenerator(OFFICIAL)
        d = MultiTaskDiscriminator(nf=OFFICIAL.nf_dis, n_res_blocks=OFFICIAL.n_dis_res_blocks,
                                   num_classes=OFFICIAL.num_classes)
        d_default = MultiTaskDiscriminator()
    assert _count(g) == OFFICIAL_GEN["all"]
    assert [_count(m) for m in (g.content_encoder, g.class_encoder, g.decoder, g.mlp)] == [
        OFFICIAL_GEN[k] for k in ("content", "class", "decoder", "mlp")]
    assert _count(d) == _count(d_default) == OFFICIAL_DIS["all"]
    assert (_count(d.features), _count(d.head)) == (OFFICIAL_DIS["features"], OFFICIAL_DIS["head"])


def test_official_shapes_at_128() -> None:
    with torch.device("meta"):
        g = FewShotGenerator(OFFICIAL)
        d = MultiTaskDiscriminator()
        x = torch.empty(2, 3, 128, 128)
        content = g.content_encoder(x)
        code = g.class_code(x.unsqueeze(1))
        feat = d.features(x)
        score, _ = d(x, torch.tensor([0, 118]))
    assert content.shape == (2, 512, 16, 16) and code.shape == (2, 64)
    assert feat.shape == (2, 1024, 8, 8) and d.head(feat).shape == (2, 119, 8, 8) and score.shape == (2, 8, 8)


# --------------------------------------------------------------------- discriminator details
def _reference_act_first_block(block: ActFirstResBlock, x: torch.Tensor) -> torch.Tensor:
    def conv(h: torch.Tensor, seq: nn.Sequential) -> torch.Tensor:
        h = F.pad(F.leaky_relu(h, 0.2), (1, 1, 1, 1), mode="reflect")
        return F.conv2d(h, seq[2].weight, seq[2].bias)

    dx = conv(conv(x, block.conv_0), block.conv_1)
    shortcut = x if isinstance(block.shortcut, nn.Identity) else F.conv2d(x, block.shortcut.weight)
    return shortcut + dx


@pytest.mark.parametrize("c_out", [2, 3])
def test_act_first_res_block_matches_a_float64_recomputation(c_out: int) -> None:
    torch.manual_seed(0)
    block = ActFirstResBlock(2, c_out).double()
    x = torch.randn(2, 2, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(block(x), _reference_act_first_block(block, x))
    # hidden width min(C_in, C_out); a bias-free 1×1 shortcut only when the width changes
    expected = {2: (2 * 2 * 9 + 2) * 2, 3: (2 * 2 * 9 + 2) + (2 * 3 * 9 + 3) + 2 * 3}[c_out]
    assert _count(block) == expected


def test_discriminator_uses_reflection_padding_leaky_relu_and_average_pooling() -> None:
    d = MultiTaskDiscriminator(nf=2, n_res_blocks=6, num_classes=3)
    mods = list(d.modules())
    assert not any(isinstance(m, (nn.ZeroPad2d, nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d, nn.InstanceNorm2d))
                   for m in mods)
    relus = [m for m in mods if isinstance(m, nn.LeakyReLU)]
    assert len(relus) == 2 * 6 + 1 and all(m.negative_slope == 0.2 for m in relus)
    pools = [m for m in mods if isinstance(m, nn.AvgPool2d)]
    assert len(pools) == 2 and all(p.kernel_size == 3 and p.stride == 2 for p in pools)
    widths = [m.out_channels for m in d.features.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert widths == [2, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 16]
    score, feat = d(torch.randn(2, 3, 16, 24), torch.tensor([0, 2]))
    assert feat.shape == (2, 16, 4, 6) and score.shape == (2, 4, 6)


def test_discriminator_width_is_capped_at_1024() -> None:
    with torch.device("meta"):
        d = MultiTaskDiscriminator(nf=512, n_res_blocks=4, num_classes=2)
    assert d.head[1].in_channels == 1024
    with pytest.raises(ValueError):
        MultiTaskDiscriminator(n_res_blocks=5)


def test_pooling_pads_by_reflection() -> None:
    d = MultiTaskDiscriminator(nf=1, n_res_blocks=4, num_classes=1)
    with torch.no_grad():
        for m in d.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                if m.bias is not None:
                    m.bias.fill_(1.0)
    # constant maps stay constant through reflection padding + average pooling (zero padding would dent the border)
    _, feat = d(torch.randn(1, 3, 8, 8), torch.tensor([0]))
    torch.testing.assert_close(feat, torch.full_like(feat, feat[0, 0, 0, 0].item()))


# --------------------------------------------------------------------- gradient paths
def test_generator_objective_trains_every_generator_part_and_d_loss_does_not_reach_g() -> None:
    g = FewShotGenerator(TINY)
    d = MultiTaskDiscriminator(nf=TINY.nf_dis, n_res_blocks=TINY.n_dis_res_blocks, num_classes=3)
    x, shots, labels = torch.rand(2, 3, 16, 16), torch.rand(2, 2, 3, 16, 16), torch.tensor([1, 2])
    fake = g(x, shots)
    discriminator_objective(d, x, torch.tensor([0, 0]), fake, labels).backward()
    assert all(p.grad is None for p in g.parameters())
    assert all(p.grad is not None for p in d.parameters())
    score, _ = d(g(x, shots), labels)
    adv = torch.autograd.grad(-score.mean(), list(g.decoder.parameters()) + list(g.class_encoder.parameters()))
    assert all(t.abs().sum() > 0 for t in adv)  # the adversarial term alone reaches G
    generator_objective(g, d, x, shots, labels, TINY).backward()
    for part in (g.content_encoder, g.class_encoder, g.decoder, g.mlp):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters() if p.dim() > 1)


def test_generator_objective_uses_the_configured_weights() -> None:
    g = FewShotGenerator(TINY).eval()
    d = MultiTaskDiscriminator(nf=TINY.nf_dis, n_res_blocks=TINY.n_dis_res_blocks, num_classes=3).eval()
    x, shots, labels = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 3, 16, 16), torch.tensor([2, 1])
    base = generator_objective(g, d, x, shots, labels, FUNITConfig(lambda_rec=0.0, lambda_fm=0.0))
    rec = content_reconstruction_loss(g, x)
    only_fm = generator_objective(g, d, x, shots, labels, FUNITConfig(lambda_rec=0.0, lambda_fm=3.0)) - base
    _, ff = d(g(x, shots), labels)
    _, cf = d(shots.flatten(0, 1), labels.repeat_interleave(3))
    fm = feature_matching_loss(ff, cf.view(2, 3, *cf.shape[1:]))
    assert fm > 0 and rec > 0
    torch.testing.assert_close(only_fm, 3.0 * fm)
    torch.testing.assert_close(generator_objective(g, d, x, shots, labels) - base, 0.1 * rec + 1.0 * fm)


def test_feature_matching_averages_over_shots_not_sums() -> None:
    fake = torch.zeros(1, 1, 2, 2)
    class_feat = torch.tensor([1.0, 2.0, 6.0]).view(1, 3, 1, 1, 1).expand(1, 3, 1, 2, 2)
    assert feature_matching_loss(fake, class_feat).item() == pytest.approx(3.0)  # |0 − mean(1, 2, 6)|
    fake2 = torch.tensor([[[[0.0, 2.0], [4.0, 6.0]]]])  # spatial mean 3 matches the class mean exactly
    assert feature_matching_loss(fake2, class_feat).item() == pytest.approx(0.0)


def _he_init(g: FewShotGenerator) -> FewShotGenerator:
    # a stand-in for trained weights: He-normal keeps each image's class code distinct through the tiny
    # encoder (PyTorch's default init makes codes of different images almost equal)
    for m in g.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return g


def test_content_reconstruction_uses_each_image_as_its_own_single_shot() -> None:
    torch.manual_seed(0)
    g = _he_init(FewShotGenerator(TINY)).eval()
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    codes = g.class_code(x.unsqueeze(1))
    assert (codes[0] - codes[1]).abs().max() > 0.1  # non-degenerate class encoder
    per_image = torch.stack([(g(x[i:i + 1], x[i:i + 1, None]) - x[i:i + 1]).abs().mean() for i in range(3)])
    torch.testing.assert_close(content_reconstruction_loss(g, x), per_image.mean())
